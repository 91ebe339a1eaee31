"""Finishing is advisory (spec 8.1, PEEK-8): the controller applies it, the replica may thin.

The replica returns MFP output rows unprojected and never applies `offset`; with a `limit`
it may leave out rows that cannot be among the first `offset + limit` in `order_by` order.
We sort by `order_by` (null first unless `nulls_last`, `desc` reversing the value order),
walk the rows adding up multiplicities, and stop after the entry that reaches
`offset + limit`. Python ints do not overflow, so a limit of 2^63-1 simply keeps everything.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from compute_protocol.v1 import command_pb2

from reference_replica import datum, faults, variants
from reference_replica.rows import Row


def thin(
    entries: list[tuple[Row, int]], finishing: command_pb2.ProtoRowSetFinishing
) -> list[tuple[Row, int]]:
    if not finishing.HasField("limit") or finishing.limit < 0 or variants.on("no-thinning"):
        return entries  # (the variant no-thinning never thins: 8.1 only allows it)
    wanted = finishing.offset + finishing.limit
    if faults.on("crash-on-huge-limit") and 2 * wanted >= 1 << 63:
        raise OverflowError(f"2 * (offset + limit) overflows int64: {2 * wanted}")  # FAULT: TRANS-3
    if faults.on("thinning-ignores-offset"):
        wanted = finishing.limit  # FAULT: breaks PEEK-8
    total = sum(count for _, count in entries)
    if total <= wanted:
        return entries
    ordered = sorted(entries, key=functools.cmp_to_key(_comparator(finishing.order_by)))
    kept: list[tuple[Row, int]] = []
    seen = 0
    for entry in ordered:
        if seen >= wanted:
            break
        kept.append(entry)
        seen += entry[1]
    return kept


def _comparator(
    order_by: Sequence[command_pb2.ProtoColumnOrder],
) -> functools.partial[int]:
    return functools.partial(_compare, [(o.column, o.desc, o.nulls_last) for o in order_by])


def _compare(orders: list[tuple[int, bool, bool]], a: tuple[Row, int], b: tuple[Row, int]) -> int:
    for column, desc, nulls_last in orders:
        if column >= len(a[0]) or column >= len(b[0]):
            continue  # advisory: an out-of-range column orders nothing
        x, y = a[0][column], b[0][column]
        if x is None or y is None:
            if x is None and y is None:
                continue
            null_first = -1 if x is None else 1
            if desc and faults.on("nulls-flip-with-desc"):
                nulls_last = not nulls_last  # FAULT: SQL's default, nulls last when descending
            return -null_first if nulls_last else null_first
        c = datum.compare(x, y)
        if faults.on("nan-sorts-first") and type(x) is float and (x != x) != (y != y):
            c = -1 if x != x else 1  # FAULT: NaN below every other float
        if c:
            return -c if desc else c
    return 0
