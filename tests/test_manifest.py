"""migrations/manifest.sha256: a committed revision is never edited, a new
revision is written instead. Files only, no database."""

import hashlib
import subprocess
import sys

import pytest
import sqlalchemy as sa

from todoapp import ROOT
from todoapp.migration_tools.manifest import (
    HELPERS_NAME,
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


# --- the code the revisions run ---------------------------------------------------

REACHES_ONLINE = '''"""uses online"""

from todoapp.migration_tools import online

revision = "9999"
down_revision = "0003"


def upgrade():
    online.set_not_null("todos", "title")
'''


@pytest.fixture
def project(tmp_path, migrations):
    """A copy of the project's migration helpers to edit, and the scratch
    migrations frozen against it, with a revision that runs one of them."""
    root = tmp_path / "project"
    package = root / "todoapp" / "migration_tools"
    package.mkdir(parents=True)
    for name in ("__init__.py", "online.py"):
        (package / name).write_bytes((ROOT / "todoapp" / "migration_tools" / name).read_bytes())
    (root / "todoapp" / "__init__.py").write_text("", encoding="utf-8")
    (migrations / "versions" / NEW).write_text(REACHES_ONLINE, encoding="utf-8")
    freeze(*paths(migrations), root=root)
    assert check(*paths(migrations), root=root) == []
    return root, package / "online.py"


def test_the_code_a_committed_revision_runs_is_recorded(migrations, project):
    helpers = (migrations / HELPERS_NAME).read_text(encoding="utf-8")
    for name in ("set_not_null", "_postgres", "_constraint_exists"):  # and what it calls
        assert f"  todoapp.migration_tools.online.{name}\n" in helpers


@pytest.mark.parametrize(
    "edit, refused",
    [
        (lambda s: s.replace("batch.alter_column(column, nullable=False)", "pass"), True),
        (lambda s: s.replace('check = f"ck_{table}_{column}_not_null"[:63]', 'check = "ck"'), True),
        (lambda s: s.replace("Make a column NOT NULL", "Make the column NOT NULL"), False),
        (lambda s: s.replace("# One process builds it.", "# One process, one build."), False),
        (lambda s: s + "\n\ndef set_not_null_v2():\n    pass\n", False),
    ],
    ids=["its body", "a line of it", "its docstring", "a comment", "a new function"],
)
def test_changing_what_a_committed_revision_runs_is_refused(migrations, project, edit, refused):
    root, online = project
    source = online.read_text(encoding="utf-8")
    assert edit(source) != source, "the edit must change the file"
    online.write_text(edit(source), encoding="utf-8")
    problems = check(*paths(migrations), root=root)
    assert bool(problems) is refused, problems
    if refused:
        assert "todoapp.migration_tools.online.set_not_null changed" in problems[0]
        assert NEW in problems[0]
        with pytest.raises(ValueError, match="set_not_null changed"):
            freeze(*paths(migrations), root=root)


def use(app, migrations):
    """Make ``flask db`` take its revisions from ``migrations``."""
    app.extensions["migrate"].directory = str(migrations)
    app.extensions["migrate"].migrate.directory = str(migrations)


def _edit_helpers_record(migrations, name):
    """Record another digest for ``name``, as if the code had changed since."""
    path = migrations / HELPERS_NAME
    text = path.read_text(encoding="utf-8")
    assert f"  {name}\n" in text
    lines = [
        ("0" * 64 + f"  {name}") if line.endswith(f"  {name}") else line
        for line in text.splitlines()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("what", ["revision", "helper"])
def test_upgrade_and_lint_refuse_what_is_not_as_committed(
    app, runner, scratch_migrations, caplog, what
):
    use(app, scratch_migrations)
    if what == "revision":
        name = revisions(scratch_migrations / "versions")[0]
        with open(scratch_migrations / "versions" / name, "a", encoding="utf-8") as file:
            file.write("# a small fix\n")
        expected = f"{name} changed since it was committed"
    else:
        name = "todoapp.migration_tools.online.set_not_null"
        _edit_helpers_record(scratch_migrations, name)
        expected = f"{name} changed since the revisions that run it were committed"
    for command in (["db", "upgrade"], ["db", "lint"], ["db", "upgrade", "--sql"]):
        caplog.clear()
        result = runner.invoke(args=command)
        assert result.exit_code != 0, (command, result.output)
        # Flask-Migrate logs the refusal; the lint prints it.
        assert expected in result.output + caplog.text, command


def test_a_new_revision_not_yet_frozen_is_welcome(app, runner, scratch_migrations):
    from .conftest import write_revision

    use(app, scratch_migrations)
    new = write_revision(
        scratch_migrations,
        "scratch column",
        'op.add_column("todos", sa.Column("scratch", sa.Integer()))',
    )
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from todoapp.extensions import db

        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == new
