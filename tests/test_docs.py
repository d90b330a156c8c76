"""The README and docs/: short where they should be, and every link and
Makefile target they name is real. Files only, no app, no database."""

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 300  # issue 34: a newcomer reads it in ten minutes

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
# A target with a `## help text`, as `make help` means to list them.
MAKE_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*):(?!=)[^#\n]*##", re.MULTILINE)


def prose(page: Path) -> str:
    """The page without its code blocks: what a reader sees as text and links."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def relative_links(page: Path) -> list[str]:
    targets = LINK.findall(INLINE_CODE.sub("", prose(page)))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (github-slugger): lower case, every
    character but letters, marks, digits, connectors, spaces and hyphens
    dropped, spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    kept = (
        ch
        for ch in text
        if ch in " -" or unicodedata.category(ch)[0] in "LMN" or unicodedata.category(ch) == "Pc"
    )
    return "".join(kept).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in HEADING.findall(prose(page)):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_something_that_exists(page):
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading makes #{anchor}")
    assert broken == [], f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in relative_links(README)}
    missing = [p.name for p in DOCS if p.resolve() not in linked]
    assert missing == [], f"README.md does not link to docs/{missing}"


def test_every_documented_make_target_is_named_in_the_readme():
    targets = MAKE_TARGET.findall((ROOT / "Makefile").read_text(encoding="utf-8"))
    assert "test" in targets  # the pattern still reads the Makefile
    text = README.read_text(encoding="utf-8")
    missing = [t for t in targets if not re.search(rf"make {re.escape(t)}(?![\w-])", text)]
    assert missing == [], f"README.md does not name: make {', make '.join(missing)}"


def test_the_readme_stays_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move the depth to docs/"


def test_the_link_checker_sees_links_and_anchors(tmp_path):
    """The rules above cannot pass by reading nothing."""
    page = tmp_path / "page.md"
    page.write_text(
        "# A `code` heading: yes\n\n## Two\n\n## Two\n\n"
        "[a](other.md#x) ![b](img.png) [c](https://example.com) [d](#two-1)\n"
        "```\n[not a link](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert relative_links(page) == ["other.md#x", "img.png", "#two-1"]
    assert anchors(page) == {"a-code-heading-yes", "two", "two-1"}
