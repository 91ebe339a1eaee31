"""The unit of work that flows between operators: all updates of a time interval.

Time is totally ordered, so every collection in a running dataflow is a sequence of
contiguous batches `[lower, upper)`: a batch holds *every* update of the collection at the
times of its interval, and its `upper` is the collection's new frontier. An operator that
receives a batch therefore knows that those times are complete, and can compute its output
for them at once. This is the whole progress-tracking story of the engine.

A collection is rows with multiplicities plus a multiset of errors (spec 5.3), so a batch
carries two lists: `oks` as `(row, time, diff)` and `errs` as `(message, time, diff)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from reference_replica.rows import Row

Update = tuple[Row, int, int]
ErrUpdate = tuple[str, int, int]


@dataclass(slots=True)
class Batch:
    lower: int
    upper: int
    oks: list[Update] = field(default_factory=list)
    errs: list[ErrUpdate] = field(default_factory=list)


T = TypeVar("T")


def by_time(updates: Iterable[tuple[T, int, int]]) -> list[tuple[int, list[tuple[T, int]]]]:
    """Group updates by time, in increasing time order: `[(time, [(data, diff), ...])]`.

    Stateful operators (join, reduce, threshold) must apply the changes of one time before
    looking at the next, because their output at `t` depends on their whole input at `t`.
    """
    groups: dict[int, list[tuple[T, int]]] = {}
    for data, time, diff in updates:
        group = groups.get(time)
        if group is None:
            groups[time] = [(data, diff)]
        else:
            group.append((data, diff))
    return sorted(groups.items(), key=lambda item: item[0])
