"""The datum and row order of spec 5.3 and 8.1."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.model.build import finishing
from conformance.model.ordering import ColumnOrder, column_orders, compare_datums, compare_rows, sort_rows
from conformance.wire.rows import row

NAN = float("nan")
INF = float("inf")


def d(value: Any) -> Any:
    return row(value)[0]


@pytest.mark.parametrize(
    "ascending",
    [
        [False, True],
        [-(1 << 63), -1, 0, 1, (1 << 63) - 1],
        [-INF, -1.5, 0.0, 2.5, INF, NAN],
        ["", "A", "Z", "a", "b", "\u00e9", "\U0001f600"],
        [b"", b"\x00", b"\x00\x00", b"\x01", b"\xff"],
    ],
)
def test_datums_of_one_kind_order_naturally(ascending: list[Any]) -> None:
    for i, a in enumerate(ascending):
        for j, b in enumerate(ascending):
            assert compare_datums(d(a), d(b)) == (i > j) - (i < j), (a, b)


def test_nan_equals_nan_and_negative_zero_equals_zero() -> None:
    assert compare_datums(("float64", NAN), ("float64", float("nan"))) == 0
    assert compare_datums(("float64", -0.0), ("float64", 0.0)) == 0


def test_kinds_never_interleave() -> None:
    assert compare_datums(d(True), d(0)) != 0
    assert compare_datums(d(1), d(1.0)) != 0


def test_rows_compare_by_order_by_columns_only() -> None:
    by_second = [ColumnOrder(1)]
    assert compare_rows(row(9, 1), row(0, 2), by_second) < 0
    assert compare_rows(row(9, 1), row(0, 1), by_second) == 0
    assert compare_rows(row(9, 1), row(0, 1), [ColumnOrder(1), ColumnOrder(0)]) > 0
    assert compare_rows(row(9, 1), row(0, 1), []) == 0


def test_desc_and_null_placement() -> None:
    rows = [row(2), row(None), row(1)]
    assert sort_rows(rows, [ColumnOrder(0)]) == [row(None), row(1), row(2)]
    assert sort_rows(rows, [ColumnOrder(0, desc=True)]) == [row(None), row(2), row(1)]
    assert sort_rows(rows, [ColumnOrder(0, nulls_last=True)]) == [row(1), row(2), row(None)]
    assert sort_rows(rows, [ColumnOrder(0, desc=True, nulls_last=True)]) == [row(2), row(1), row(None)]


def test_a_column_beyond_the_row_reads_as_null() -> None:
    assert compare_rows(row(1), row(1, 5), [ColumnOrder(1)]) < 0


def test_column_orders_from_proto() -> None:
    f = finishing([(2, True, False), (0, False, True)])
    assert column_orders(f) == (ColumnOrder(2, True, False), ColumnOrder(0, False, True))
