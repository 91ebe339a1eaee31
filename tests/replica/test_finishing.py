"""Advisory finishing: thinning keeps every row that sorts before the (offset + limit)-th."""

from __future__ import annotations

from compute_protocol.v1 import command_pb2

from reference_replica.peeks.finishing import thin
from reference_replica.rows import Row


def finishing(
    limit: int | None, offset: int = 0, *orders: tuple[int, bool, bool]
) -> command_pb2.ProtoRowSetFinishing:
    f = command_pb2.ProtoRowSetFinishing(
        offset=offset,
        order_by=[command_pb2.ProtoColumnOrder(column=c, desc=d, nulls_last=n) for c, d, n in orders],
    )
    if limit is not None:
        f.limit = limit
    return f


ENTRIES: list[tuple[Row, int]] = [
    ((3, "c"), 1),
    ((None, "n"), 1),
    ((1, "a"), 2),
    ((2, "b"), 1),
    ((5, "e"), 1),
]


def test_no_limit_keeps_everything() -> None:
    assert thin(ENTRIES, finishing(None, 0, (0, False, False))) == ENTRIES


def test_limit_keeps_the_first_rows_in_order_nulls_first() -> None:
    kept = thin(ENTRIES, finishing(2, 0, (0, False, False)))
    assert kept == [((None, "n"), 1), ((1, "a"), 2)]


def test_nulls_last_and_desc() -> None:
    assert thin(ENTRIES, finishing(2, 0, (0, False, True))) == [((1, "a"), 2)]
    assert thin(ENTRIES, finishing(1, 1, (0, True, True))) == [((5, "e"), 1), ((3, "c"), 1)]


def test_offset_counts_multiplicities() -> None:
    kept = thin(ENTRIES, finishing(1, 2, (0, False, True)))
    assert kept == [((1, "a"), 2), ((2, "b"), 1)]
    assert sum(c for _, c in kept) >= 3


def test_huge_limit_and_offset_do_not_overflow() -> None:
    big = (1 << 63) - 1
    assert thin(ENTRIES, finishing(big, big, (0, False, False))) == ENTRIES


def test_out_of_range_order_column_is_ignored() -> None:
    kept = thin(ENTRIES, finishing(2, 0, (9, False, False)))
    assert sum(c for _, c in kept) >= 2
