"""What a revision does to a live PostgreSQL, for ``flask db lint``.

The lint's own reading of a revision (``lint``) sees Python; this module sees
the SQL PostgreSQL would run. It writes each revision's upgrade and downgrade
as offline SQL for PostgreSQL (no server needed), remembers which line of the
revision wrote each statement, and rates the statements twice:

- by the project's own rules, which follow what PostgreSQL does with the
  lock each statement takes (``RULES``): a plain ``CREATE INDEX`` on a table
  that already exists blocks its writes until the index is built, a foreign
  key or CHECK without ``NOT VALID`` scans the table while writes wait,
  ``SET NOT NULL`` scans it while reads wait too, a rename breaks the servers
  still on the old release;
- by squawk, the PostgreSQL migration linter (``squawk-cli``, a locked dev
  dependency), with the rules in ``SQUAWK_OFF`` turned off for the reasons
  given there.

Each finding carries the revision line that caused it, so the lint reports it
with the operation written on that line.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from alembic import command
from alembic.script import Script

LOW, MEDIUM, HIGH, CRITICAL = "Low", "Medium", "High", "Critical"
# Offline SQL only needs PostgreSQL's dialect: nothing connects to this.
OFFLINE_URL = "postgresql+psycopg://lint@127.0.0.1/offline"
PG_VERSION = "15"
# squawk rules the project turns off, and why.
SQUAWK_OFF = {
    "prefer-bigint-over-int": (
        "ids are INTEGER, as SQLite's rowid alias needs; a foreign key must match the INTEGER "
        "key it references, and 2**31 todos is far beyond one database of this app"
    ),
    "prefer-identity": (
        "SQLAlchemy makes Integer primary keys SERIAL; identity columns lock the same way"
    ),
    "prefer-robust-stmts": (
        "the online helpers look at what exists before each step they commit on their own, "
        "so running a revision again finishes it (tests/test_migration_online.py); the rest "
        "of a revision is one transaction"
    ),
    "prefer-text-field": (
        "VARCHAR(n) limits are the app's own input limits, kept by the database too; changing "
        "one is a type change, which the lint rates High anyway"
    ),
}
# squawk rules ranked other than High. Drops of data are Critical, as the
# project's own rules have them. Dropping NOT NULL or a constraint takes a
# brief lock and stalls nobody; it loosens a guarantee, which the project
# rates Medium.
SQUAWK_LEVELS = {
    "ban-drop-column": CRITICAL,
    "ban-drop-table": CRITICAL,
    "ban-drop-database": CRITICAL,
    "ban-drop-not-null": MEDIUM,
    "ban-drop-constraint": MEDIUM,
}


@dataclass(frozen=True)
class Statement:
    """One statement of the offline script, and the revision line that wrote it."""

    sql: str
    first_line: int  # 0-based, in the script
    last_line: int
    source_line: int | None  # None: Alembic's own (BEGIN, the version row)


@dataclass(frozen=True)
class LockFinding:
    function: str  # "upgrade" or "downgrade"
    line: int  # in the revision file
    level: str
    source: str  # "todoapp" or "squawk <rule>"
    message: str
    sql: str


class _Script(io.StringIO):
    """An output buffer that notes, for every statement written to it, the
    innermost line of the revision file on the call stack."""

    def __init__(self, revision_path: str):
        super().__init__()
        self.revision_path = os.path.abspath(revision_path)
        self.lines = 0
        self.statements: list[Statement] = []

    def write(self, text: str) -> int:
        source = None
        frame = sys._getframe(1)
        while frame is not None:
            if os.path.abspath(frame.f_code.co_filename) == self.revision_path:
                source = frame.f_lineno
                break
            frame = frame.f_back
        if text.strip():
            self.statements.append(
                Statement(text.strip(), self.lines, self.lines + text.count("\n"), source)
            )
        self.lines += text.count("\n")
        return super().write(text)


def offline_sql(config, script: Script, function: str) -> _Script:
    """The revision's ``function`` as PostgreSQL offline SQL."""
    parents = script.down_revision
    if isinstance(parents, tuple | list):
        raise ValueError("a merge revision")
    below = parents or "base"
    buffer = _Script(script.path)
    config.output_buffer = buffer
    config.attributes["offline_url"] = OFFLINE_URL
    config.config_file_name = None  # no logging set-up: the lint's output stays its own
    if function == "upgrade":
        command.upgrade(config, f"{below}:{script.revision}", sql=True)
    else:
        command.downgrade(config, f"{script.revision}:{below}", sql=True)
    return buffer


def squawk_binary() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "squawk")
    return beside if os.access(beside, os.X_OK) else shutil.which("squawk")


def run_squawk(sql: str) -> list[dict]:
    """squawk's findings on ``sql``, as its JSON reporter gives them."""
    binary = squawk_binary()
    if binary is None:
        raise FileNotFoundError("squawk")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(sql)
    try:
        done = subprocess.run(  # noqa: S603 - our own binary, our own file
            [
                binary,
                "--reporter",
                "json",
                "--pg-version",
                PG_VERSION,
                "--exclude",
                ",".join(SQUAWK_OFF),
                file.name,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.unlink(file.name)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        if done.returncode == 0:
            return []
        raise RuntimeError(f"squawk failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def findings(config_factory, script: Script, *, squawk: bool = True) -> list[LockFinding]:
    """Both functions' statements rated by the project's rules and squawk's.
    ``config_factory()`` gives a fresh Alembic config for each run."""
    found: list[LockFinding] = []
    for function in ("upgrade", "downgrade"):
        buffer = offline_sql(config_factory(), script, function)
        statements = buffer.statements
        found += _own_rules(function, statements)
        if squawk:
            by_line = {}
            for statement in statements:
                for line in range(statement.first_line, statement.last_line + 1):
                    by_line[line] = statement
            new_tables = _created_tables(statements)
            for hit in run_squawk(buffer.getvalue()):
                rule = hit["rule_name"]
                statement = by_line.get(hit["line"])
                if statement is None or statement.source_line is None:
                    continue  # Alembic's own statements
                if _table_of(statement.sql) in new_tables.get(statement, ()):
                    continue  # a table this script made: empty, and no server uses it yet
                if rule == "ban-drop-constraint" and _drops_own_constraint(statement, statements):
                    continue  # online.set_not_null's CHECK, done with once SET NOT NULL holds
                found.append(
                    LockFinding(
                        function,
                        statement.source_line,
                        SQUAWK_LEVELS.get(rule, HIGH),
                        f"squawk {rule}",
                        hit["message"],
                        statement.sql,
                    )
                )
    return found


_NAME = r'"?(\w+)"?'
CREATE_TABLE = re.compile(rf"^CREATE TABLE (?:IF NOT EXISTS )?{_NAME}", re.I)
CREATE_INDEX = re.compile(
    rf"^CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?\S+ ON (?:ONLY )?{_NAME}", re.I
)
ALTER_TABLE = re.compile(rf"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?{_NAME}\s+(.*)$", re.I | re.S)
ADD_CONSTRAINT = re.compile(
    rf"ADD CONSTRAINT {_NAME} (FOREIGN KEY|CHECK|UNIQUE|PRIMARY KEY)(.*)$", re.I | re.S
)
NOT_NULL_CHECK = re.compile(rf"CHECK \(\s*{_NAME} IS NOT NULL\s*\)", re.I)
VALIDATE = re.compile(rf"VALIDATE CONSTRAINT {_NAME}", re.I)
SET_NOT_NULL = re.compile(rf"ALTER COLUMN {_NAME} SET NOT NULL", re.I)
RENAME = re.compile(rf"RENAME (?:COLUMN )?{_NAME} TO {_NAME}|^RENAME TO {_NAME}", re.I)

RULES = {
    "index": (
        "blocks every write to {table} until the index is built; online.create_index "
        "builds it CONCURRENTLY"
    ),
    "foreign key": (
        "checks every row of {table} while writes to it and to the referenced table wait; "
        "online.add_foreign_key adds it NOT VALID, then validates it"
    ),
    "check": "scans {table} while its reads and writes wait; add it NOT VALID, then VALIDATE",
    "unique": "builds a unique index while writes to {table} wait",
    "not null": (
        "scans {table} while its reads and writes wait; online.set_not_null uses a "
        "validated CHECK so it need not"
    ),
    "rename": "breaks the servers still on the old release, which use the old name",
}


DROP_CONSTRAINT = re.compile(rf"DROP CONSTRAINT (?:IF EXISTS )?{_NAME}", re.I)


def _drops_own_constraint(statement: Statement, statements: list[Statement]) -> bool:
    """Whether ``statement`` drops a constraint an earlier statement added."""
    dropped = DROP_CONSTRAINT.search(statement.sql)
    if not dropped:
        return False
    added = f"ADD CONSTRAINT {dropped.group(1)} ".lower()
    earlier = statements[: statements.index(statement)]
    return any(added in " ".join(s.sql.split()).lower() for s in earlier)


def _table_of(sql: str) -> str | None:
    flat = " ".join(sql.split())
    for pattern in (CREATE_INDEX, ALTER_TABLE):
        if match := pattern.match(flat):
            return match.group(2 if pattern is CREATE_INDEX else 1).lower()
    return None


def _created_tables(statements: list[Statement]) -> dict[Statement, frozenset[str]]:
    """For each statement, the tables the script created before it."""
    created: set[str] = set()
    seen = {}
    for statement in statements:
        seen[statement] = frozenset(created)
        if match := CREATE_TABLE.match(" ".join(statement.sql.split())):
            created.add(match.group(1).lower())
    return seen


def _own_rules(function: str, statements: list[Statement]) -> list[LockFinding]:
    """The project's rules, statement by statement, in script order."""
    created: set[str] = set()
    pending_checks: dict[str, str] = {}  # NOT VALID CHECK name -> column
    validated_columns: set[str] = set()
    found = []

    def hit(statement, rule, table):
        if statement.source_line is not None:
            message = RULES[rule].format(table=table)
            found.append(
                LockFinding(
                    function, statement.source_line, HIGH, "todoapp", message, statement.sql
                )
            )

    for statement in statements:
        sql = " ".join(statement.sql.rstrip(";").split())
        if match := CREATE_TABLE.match(sql):
            created.add(match.group(1).lower())
        elif match := CREATE_INDEX.match(sql):
            table = match.group(2).lower()
            if not match.group(1) and table not in created:
                hit(statement, "index", table)
        elif match := ALTER_TABLE.match(sql):
            table, rest = match.group(1).lower(), match.group(2)
            if RENAME.search(rest):
                hit(statement, "rename", table)
            if validate := VALIDATE.search(rest):
                if column := pending_checks.get(validate.group(1)):
                    validated_columns.add(f"{table}.{column}")
            if set_not_null := SET_NOT_NULL.search(rest):
                column = set_not_null.group(1)
                if table not in created and f"{table}.{column}" not in validated_columns:
                    hit(statement, "not null", table)
            if constraint := ADD_CONSTRAINT.search(rest):
                name, kind, tail = constraint.groups()
                not_valid = "NOT VALID" in tail.upper()
                if kind.upper() == "CHECK" and (check := NOT_NULL_CHECK.search(rest)):
                    pending_checks[name] = check.group(1)
                if table in created or not_valid or "USING INDEX" in tail.upper():
                    continue
                hit(
                    statement,
                    {"FOREIGN KEY": "foreign key", "CHECK": "check"}.get(kind.upper(), "unique"),
                    table,
                )
    return found
