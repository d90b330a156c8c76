"""The title search index's objects, which no model declares: SQLite's FTS5
table (with its shadow tables and triggers) and PostgreSQL's GIN trigram
index (revision 0019's, and 0016's before it). Their names are in
``todoapp.models``; this module says which database objects they are, for
the tools that must leave them alone:
autogenerate and ``flask db check`` (``include_name``), the snapshots of the
round trip and the stairway (derived data: the index is rebuilt from titles,
and nothing may write rows into it), and SQLite rebuilds of ``todos``, which
drop its triggers and must make them again (``sqlite.faithful_rebuilds``).
"""

from ..models import SEARCH_INDEXES, SEARCH_TABLE

# FTS5 makes these beside its virtual table (https://sqlite.org/fts5.html).
SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")


def is_search_table(name: str) -> bool:
    """The FTS5 table or one of its shadow tables."""
    return name == SEARCH_TABLE or any(name == SEARCH_TABLE + s for s in SHADOW_SUFFIXES)


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name`` hook: the search index's tables and index
    are not the models' business, so autogenerate neither drops nor reports them."""
    if type_ == "table":
        return not is_search_table(name)
    if type_ == "index":
        return name not in SEARCH_INDEXES
    return True
