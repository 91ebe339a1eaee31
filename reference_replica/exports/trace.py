"""A collection's updates kept so that its contents can be read at times >= a moving bound.

Used by the materialized-view sink, for both the view and its target shard: everything below
`settled_below` is summed into one dict, later updates are kept as they came.
"""

from __future__ import annotations

from reference_replica.dataflow.batch import Update
from reference_replica.rows import Row, encode


class Trace:
    def __init__(self) -> None:
        self.settled: dict[bytes, tuple[Row, int]] = {}
        self.settled_below = 0
        self.pending: list[Update] = []

    def add(self, updates: list[Update]) -> None:
        self.pending.extend(updates)

    def contents_at(self, time: int) -> dict[bytes, tuple[Row, int]]:
        """Sum of all updates at times <= `time` (which must be >= settled_below - 1)."""
        out = dict(self.settled)
        for row, t, diff in self.pending:
            if t <= time:
                _add(out, row, diff)
        return out

    def between(self, lower: int, upper: int) -> list[Update]:
        """The updates at times in [lower, upper)."""
        return [u for u in self.pending if lower <= u[1] < upper]

    def settle(self, below: int) -> None:
        """Sum every update at a time < `below` into the settled part."""
        if below <= self.settled_below:
            return
        keep: list[Update] = []
        for row, t, diff in self.pending:
            if t < below:
                _add(self.settled, row, diff)
            else:
                keep.append((row, t, diff))
        self.pending = keep
        self.settled_below = below


def _add(acc: dict[bytes, tuple[Row, int]], row: Row, diff: int) -> None:
    key = encode(row)
    entry = acc.get(key)
    count = diff if entry is None else entry[1] + diff
    if count:
        acc[key] = (row, count)
    else:
        acc.pop(key, None)
