"""Did a schema change keep the data? Every table after it, against the same
table before it.

Both sides are read in primary-key order and merged a row at a time, so
memory stays flat at any size, and every difference is counted: rows gone,
rows not expected, and for each column how many values changed, with a few
examples.

What a revision does to the data on purpose, it declares (see ``stairway``):
a table or column renamed or dropped, a column whose NULLs it fills or whose
values it rewrites, rows it adds. ``fates`` carries each table and column of
the "before" side through those declarations to what it should be "after";
anything else that is gone or changed is a loss.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .stairway import UpgradeDeclaration

SHOWN = 3  # examples per kind of difference
VALUE_WIDTH = 40


@dataclass
class TableFate:
    """What should become of one table's columns and rows."""

    table: str  # its name before
    after: str | None  # its name after; None: dropped, as declared
    columns: dict[str, str | None]  # before column -> after column; None: dropped, as declared
    filled: set[str] = field(default_factory=set)  # after columns: a NULL may get a value
    rewritten: set[str] = field(default_factory=set)  # after columns: values may change
    adds: list[str] = field(default_factory=list)  # SQL conditions: rows the table may gain


def fates(
    before: Mapping[str, Sequence[str]], declarations: Sequence[UpgradeDeclaration] = ()
) -> dict[str, TableFate]:
    """Each table of ``before`` (table -> its columns) carried through the
    declarations of the revisions run, oldest first."""
    found = {}
    for table, columns in before.items():
        fate = TableFate(table, table, {column: column for column in columns})
        for declared in declarations:
            _carry(fate, declared)
            if fate.after is None:
                break
        found[table] = fate
    return found


def downgrade_fates(
    above: Mapping[str, Sequence[str]],
    below: Mapping[str, Sequence[str]],
    declarations: Sequence[UpgradeDeclaration] = (),
) -> dict[str, TableFate]:
    """Each table of ``above`` carried down, undoing the upgrades that
    declared ``declarations`` (oldest first): their renames are undone, and
    what the schema ``below`` no longer has is dropped, not lost."""
    undone = [
        UpgradeDeclaration(renames={new: old for old, new in declared.renames.items()})
        for declared in reversed(declarations)
    ]
    found = fates(above, undone)
    for fate in found.values():
        if fate.after not in below:
            fate.after = None
            continue
        for column, now in fate.columns.items():
            if now not in below[fate.after]:
                fate.columns[column] = None
    return found


def _carry(fate: TableFate, declared: UpgradeDeclaration) -> None:
    table = fate.after
    if table in declared.drops:
        fate.after = None
        return
    renamed = declared.renames.get(table, table)
    for before, now in fate.columns.items():
        if now is None:
            continue
        dotted = f"{table}.{now}"
        if dotted in declared.drops:
            fate.columns[before] = None
        elif dotted in declared.renames:
            new = declared.renames[dotted].rpartition(".")[2]
            for flags in (fate.filled, fate.rewritten):
                if now in flags:
                    flags.discard(now)
                    flags.add(new)
            fate.columns[before] = new
    fate.after = renamed
    fate.filled.update(declared.fills.get(renamed, ()))
    fate.rewritten.update(declared.rewrites.get(renamed, ()))
    if renamed in declared.adds:
        fate.adds.append(declared.adds[renamed])


@dataclass
class TableDiff:
    """How one table came through: counted, with a few examples."""

    table: str
    after: str | None
    rows_before: int = 0
    rows_after: int = 0
    gone_columns: dict[str, int] = field(default_factory=dict)  # column -> values it held
    missing: int = 0
    unexpected: int = 0
    changed: Counter = field(default_factory=Counter)  # before column -> values changed
    examples: dict[str, list[str]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # before column -> after column
    table_gone: bool = False

    def problems(self) -> list[str]:
        """What was lost, a phrase each; empty when nothing was."""
        if self.table_gone:
            return [f"the table is GONE ({_rows(self.rows_before)} before)"]
        found = []
        for column, values in self.gone_columns.items():
            found.append(f"column {column} GONE ({values:,} value{_s(values)} lost)")
        if self.missing:
            found.append(f"{self.missing:,} of {_rows(self.rows_before)} LOST")
        for column, count in self.changed.items():
            name = column if column not in self.renamed else f"{column} -> {self.renamed[column]}"
            found.append(f"{count:,} value{_s(count)} of {name} CHANGED")
        if self.unexpected:
            found.append(f"{self.unexpected:,} row{_s(self.unexpected)} not expected")
        return found

    def describe(self) -> str:
        """The table's line in a report."""
        problems = self.problems()
        counts = (
            f"{_rows(self.rows_before)}"
            if self.rows_before == self.rows_after
            else f"{_rows(self.rows_before)} before, {self.rows_after:,} after"
        )
        if not problems:
            return f"{counts}, the same"
        text = f"{counts}: " + "; ".join(problems)
        for kind, shown in self.examples.items():
            text += f"\n      {kind}, e.g. " + "; ".join(shown)
        return text


def compare(
    before, after, fates_: Mapping[str, TableFate], *, may_lose: Mapping[str, set] | None = None
) -> Iterator[TableDiff]:
    """Compare each table of ``fates_`` as ``before`` holds it with what
    ``after`` holds (each a ``snapshot.Database`` or a ``snapshot.Snapshot``),
    a table at a time. ``may_lose``: per table, the primary keys of rows that
    are allowed to be gone."""
    present = after.columns()
    for table in sorted(fates_):
        fate = fates_[table]
        if fate.after is None:
            continue
        diff = TableDiff(table, fate.after)
        if fate.after not in present:
            diff.rows_before = before.count(table)
            diff.table_gone = True
            yield diff
            continue
        pairs = {
            b: a for b, a in fate.columns.items() if a is not None and a in present[fate.after]
        }
        for gone in (b for b, a in fate.columns.items() if a is not None and b not in pairs):
            diff.gone_columns[gone] = before.count(table, gone)
        diff.renamed = {b: a for b, a in pairs.items() if a != b}
        key = [column for column in before.primary_key(table) if column in pairs]
        if not key:  # no primary key that survives: compare whole rows
            key = list(pairs)
        values = [column for column in pairs if column not in key]
        after_key = [pairs[k] for k in key]
        added = after.keys_where(fate.after, after_key, fate.adds) if fate.adds else set()
        merge(
            diff,
            before.rows(table, key, values),
            after.rows(fate.after, after_key, [pairs[v] for v in values]),
            len(key),
            values,
            filled={i for i, v in enumerate(values) if pairs[v] in fate.filled},
            rewritten={i for i, v in enumerate(values) if pairs[v] in fate.rewritten},
            may_add=added.__contains__,
            may_lose=(may_lose or {}).get(table, set()).__contains__,
        )
        yield diff


def merge(
    diff: TableDiff,
    before: Iterable[tuple],
    after: Iterable[tuple],
    width: int,
    labels: Sequence[str],
    *,
    filled: set[int] = frozenset(),
    rewritten: set[int] = frozenset(),
    may_add: Callable[[tuple], bool] = lambda key: False,
    may_lose: Callable[[tuple], bool] = lambda key: False,
) -> TableDiff:
    """Count into ``diff`` how the rows ``after`` differ from those ``before``.
    Both give rows as (key..., values...) in key order; ``labels`` names the
    values. A value at a ``filled`` position may go from NULL to anything; one
    at a ``rewritten`` position may change."""
    done = object()
    old, new = iter(before), iter(after)
    a, b = next(old, done), next(new, done)
    while a is not done or b is not done:
        if b is done or (a is not done and a[:width] < b[:width]):
            diff.rows_before += 1
            if not may_lose(a[:width]):
                diff.missing += 1
                _example(diff, "lost", _key(a, width))
            a = next(old, done)
        elif a is done or b[:width] < a[:width]:
            diff.rows_after += 1
            if not may_add(b[:width]):
                diff.unexpected += 1
                _example(diff, "not expected", _key(b, width))
            b = next(new, done)
        else:
            diff.rows_before += 1
            diff.rows_after += 1
            for i, (x, y) in enumerate(zip(a[width:], b[width:], strict=True)):
                if x == y or i in rewritten or (x is None and i in filled):
                    continue
                diff.changed[labels[i]] += 1
                _example(diff, f"{labels[i]} changed", f"{_key(a, width)}: {_v(x)} -> {_v(y)}")
            a, b = next(old, done), next(new, done)
    return diff


def _example(diff: TableDiff, kind: str, text: str) -> None:
    shown = diff.examples.setdefault(kind, [])
    if len(shown) < SHOWN:
        shown.append(text)


def _key(row: tuple, width: int) -> str:
    return ", ".join(_v(value) for value in row[:width])


def _v(value) -> str:
    text = repr(value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _rows(count: int) -> str:
    return f"{count:,} row{_s(count)}"


def _s(count: int) -> str:
    return "" if count == 1 else "s"
