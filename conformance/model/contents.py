"""A collection's contents at one time: rows and errors, each with a non-zero multiplicity."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from conformance.wire.rows import Row

K = TypeVar("K")


def add_to(multiset: dict[K, int], key: K, diff: int) -> None:
    """Accumulate without dropping zeros (callers consolidate once, at the end)."""
    multiset[key] = multiset.get(key, 0) + diff


def count_rows(rows: Iterable[Row]) -> dict[Row, int]:
    """A list of rows as a multiset (a copy-to blob holds a row written n times n times)."""
    counts: dict[Row, int] = {}
    for r in rows:
        add_to(counts, r, 1)
    return counts


def drop_zeros(multiset: dict[K, int]) -> dict[K, int]:
    return {k: m for k, m in multiset.items() if m != 0}


@dataclass
class Contents:
    """Contents are shared by the model's cache: treat them as read-only."""

    rows: dict[Row, int] = field(default_factory=dict)     # non-zero multiplicities only
    errors: dict[str, int] = field(default_factory=dict)   # non-zero multiplicities only

    def holds_errors(self) -> bool:
        return bool(self.errors)

    def has_negative(self) -> bool:
        return any(m < 0 for m in self.rows.values())

    def consolidated(self) -> Contents:
        return Contents(drop_zeros(self.rows), drop_zeros(self.errors))

    def copy(self) -> Contents:
        return Contents(dict(self.rows), dict(self.errors))

    def row_count(self) -> int:
        """Total multiplicity of the rows (what a copy-to's RowCount reports)."""
        return sum(self.rows.values())
