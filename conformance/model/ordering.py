"""The order of datums and rows (spec 5.3 and 8.1): MIN/MAX, comparisons and peek finishing.

Within one kind datums order naturally: false < true, numbers numerically with every NaN
above every other float (and equal to each other), strings by code point, bytes
lexicographically. `null` has no place in that order: comparisons with it yield null,
MIN/MAX skip it, and a finishing puts it first unless the column says `nulls_last`, whatever
the direction. A well-typed plan never compares datums of two kinds; when it happens anyway
the kinds are ordered by their rank in `rows.KINDS`, only so that sorting never crashes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from compute_protocol.v1 import command_pb2

from conformance.wire.rows import KINDS, NULL, Datum, Row

_RANK: Final = {kind: i for i, kind in enumerate(KINDS)}


def datum_key(d: Datum) -> tuple[Any, ...]:
    """A sort key for non-null datums that realises the spec's order (NaN above all floats)."""
    kind, value = d
    if kind == "float64":
        return (_RANK[kind], 1, 0.0) if math.isnan(value) else (_RANK[kind], 0, value)
    return (_RANK[kind], value)


def compare_datums(a: Datum, b: Datum) -> int:
    """-1, 0 or 1 for two non-null datums (callers deal with null first)."""
    ka, kb = datum_key(a), datum_key(b)
    return (ka > kb) - (ka < kb)


@dataclass(frozen=True)
class ColumnOrder:
    column: int
    desc: bool = False
    nulls_last: bool = False


def column_orders(finishing: command_pb2.ProtoRowSetFinishing) -> tuple[ColumnOrder, ...]:
    return tuple(ColumnOrder(int(o.column), o.desc, o.nulls_last) for o in finishing.order_by)


def compare_rows(a: Row, b: Row, order_by: Sequence[ColumnOrder]) -> int:
    """Compare by the order_by columns only; 0 means the rows tie (spec 8.1).

    A column beyond a row's arity reads as null: an ill-formed finishing must not crash the
    checker, and null is the one datum every column may hold.
    """
    for order in order_by:
        x = a[order.column] if order.column < len(a) else NULL
        y = b[order.column] if order.column < len(b) else NULL
        x_null, y_null = x[0] == "null", y[0] == "null"
        if x_null and y_null:
            continue
        if x_null or y_null:
            # Null placement does not flip with `desc`: first unless nulls_last.
            null_first = -1 if not order.nulls_last else 1
            return null_first if x_null else -null_first
        c = compare_datums(x, y)
        if c:
            return -c if order.desc else c
    return 0


def row_sort_key(order_by: Sequence[ColumnOrder]) -> Callable[[Row], Any]:
    return functools.cmp_to_key(lambda a, b: compare_rows(a, b, order_by))


def sort_rows(rows: Iterable[Row], order_by: Sequence[ColumnOrder]) -> list[Row]:
    """Rows in finishing order; ties keep their input order (Python's sort is stable)."""
    return sorted(rows, key=row_sort_key(order_by))
