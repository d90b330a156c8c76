"""migrations/manifest.sha256: a committed revision is never edited, a new
revision is written instead. Files only, no database."""

import hashlib
import subprocess
import sys

import pytest

from todoapp import ROOT
from todoapp.migration_tools.manifest import (
    MANIFEST_NAME,
    check,
    digest,
    freeze,
    read_manifest,
    revisions,
)

MIGRATIONS = ROOT / "migrations"
NEW = "2099_01_01_9999_add_priority_to_todos.py"
NEW_REVISION = '"""add priority to todos"""\n\nrevision = "9999"\ndown_revision = "0003"\n'


def test_committed_revisions_match_the_manifest():
    """Fails, naming the file, when a committed revision was edited or a new
    revision was not frozen with `make db-freeze`."""
    problems = check(MIGRATIONS / "versions", MIGRATIONS / MANIFEST_NAME)
    assert problems == [], "\n".join(problems)


def test_the_manifest_is_sorted_sha256sum_lines_under_a_header():
    lines = (MIGRATIONS / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("#")
    assert "make db-freeze" in lines[0]
    names = [line.split("  ", 1)[1] for line in lines[1:]]
    assert names == sorted(names)
    assert list(read_manifest(MIGRATIONS / MANIFEST_NAME)) == names


@pytest.fixture
def migrations(scratch_migrations):
    """A copy of migrations/ with a manifest freshly frozen from the copy, so
    the tests do not depend on the state of the real manifest."""
    copy = scratch_migrations
    (copy / MANIFEST_NAME).unlink(missing_ok=True)
    freeze(copy / "versions", copy / MANIFEST_NAME)
    assert check(copy / "versions", copy / MANIFEST_NAME) == []
    return copy


def paths(migrations):
    return migrations / "versions", migrations / MANIFEST_NAME


def listed(migrations):
    """The name of a revision the manifest lists."""
    return revisions(migrations / "versions")[-1]


def test_digest_is_the_sha256_of_the_bytes(migrations):
    name = listed(migrations)
    path = migrations / "versions" / name
    assert digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert read_manifest(migrations / MANIFEST_NAME)[name] == digest(path)


def test_an_edited_revision_is_reported_by_name(migrations):
    versions, manifest = paths(migrations)
    name = listed(migrations)
    with open(versions / name, "a", encoding="utf-8") as file:
        file.write("# a small fix\n")

    [problem] = check(versions, manifest)
    assert problem.startswith(f"{name} changed since it was committed")
    assert "write a new revision" in problem


def test_a_new_revision_is_reported_until_it_is_frozen(migrations):
    versions, manifest = paths(migrations)
    before = read_manifest(manifest)
    (versions / NEW).write_text(NEW_REVISION, encoding="utf-8")

    [problem] = check(versions, manifest)
    assert problem.startswith(f"{NEW} is not in migrations/{MANIFEST_NAME}")
    assert "make db-freeze" in problem

    assert freeze(versions, manifest) == [NEW]
    assert check(versions, manifest) == []
    after = read_manifest(manifest)
    assert after == {**before, NEW: digest(versions / NEW)}
    assert freeze(versions, manifest) == []


def test_freeze_refuses_to_bless_an_edit(migrations):
    versions, manifest = paths(migrations)
    name = listed(migrations)
    original = manifest.read_bytes()
    with open(versions / name, "a", encoding="utf-8") as file:
        file.write("# a small fix\n")
    (versions / NEW).write_text(NEW_REVISION, encoding="utf-8")

    with pytest.raises(ValueError, match=f"{name} changed since it was committed"):
        freeze(versions, manifest)
    assert manifest.read_bytes() == original


def test_freeze_with_nothing_new_leaves_the_file_alone(migrations):
    versions, manifest = paths(migrations)
    manifest.write_bytes(manifest.read_bytes() + b"\n# a note\n")
    original = manifest.read_bytes()
    assert freeze(versions, manifest) == []
    assert manifest.read_bytes() == original


def test_a_deleted_revision_is_reported(migrations):
    versions, manifest = paths(migrations)
    name = listed(migrations)
    (versions / name).unlink()

    assert check(versions, manifest) == [
        f"{name} is listed in the manifest but missing from migrations/versions/"
    ]


def test_only_python_files_in_versions_count(migrations):
    versions, manifest = paths(migrations)
    (versions / "__pycache__").mkdir()
    (versions / "__pycache__" / "0001.cpython-311.pyc").write_bytes(b"\0")
    (versions / "notes.txt").write_text("not a revision\n", encoding="utf-8")
    assert check(versions, manifest) == []


def test_a_malformed_manifest_line_is_an_error(migrations):
    versions, manifest = paths(migrations)
    with open(manifest, "a", encoding="utf-8") as file:
        file.write("not a checksum  0004_something.py\n")
    with pytest.raises(ValueError, match="line"):
        check(versions, manifest)


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "todoapp.migration_tools.manifest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_command_line_check(migrations):
    count = len(revisions(migrations / "versions"))
    result = run("check", "--migrations", str(migrations))
    assert result.returncode == 0, result.stderr
    assert f"All {count} committed revisions match the manifest." in result.stdout

    name = listed(migrations)
    with open(migrations / "versions" / name, "a", encoding="utf-8") as file:
        file.write("# a small fix\n")
    result = run("check", "--migrations", str(migrations))
    assert result.returncode == 1
    assert f"{name} changed since it was committed" in result.stderr


def test_command_line_freeze(migrations):
    count = len(revisions(migrations / "versions"))
    result = run("freeze", "--migrations", str(migrations))
    assert result.returncode == 0, result.stderr
    assert f"Manifest up to date: {count} revisions." in result.stdout

    (migrations / "versions" / NEW).write_text(NEW_REVISION, encoding="utf-8")
    result = run("--migrations", str(migrations), "freeze")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Added to the manifest: {NEW}\n"

    original = (migrations / MANIFEST_NAME).read_bytes()
    with open(migrations / "versions" / NEW, "a", encoding="utf-8") as file:
        file.write("# a small fix\n")
    result = run("freeze", "--migrations", str(migrations))
    assert result.returncode == 1
    assert f"{NEW} changed since it was committed" in result.stderr
    assert (migrations / MANIFEST_NAME).read_bytes() == original
