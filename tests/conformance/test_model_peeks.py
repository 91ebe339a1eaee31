"""Peek expectations (spec 8): literal constraints, MFP, Error conditions, finishing, size."""

from __future__ import annotations

from typing import Any

import pytest
from compute_protocol.v1 import command_pb2

from conformance.model import Model, apply_finishing, check_finishing, expected_peek, result_size
from conformance.model.build import (
    col,
    constant,
    dataflow,
    div,
    finishing,
    gt,
    index_export,
    lit,
    mfp,
    peek,
)
from conformance.storage import ShardLog, StorageEvent
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import Row, row

UUID = "0" * 31 + "1"


def r(*values: Any) -> Row:
    return row(*values)


def model_with(updates: list[tuple[Any, int, int]], *, as_of: int = 0, key: tuple[int, ...] = (0,),
               arity: int = 2) -> Model:
    m = Model(ShardLog())
    m.add_dataflow(dataflow(as_of=as_of, objects=[("u1", constant(arity, updates))],
                            index_exports=[index_export("u2", "u1", key)]))
    return m


def index_peek(t: int, **kw: Any) -> command_pb2.ProtoPeek:
    return peek(UUID, t, index="u2", arity=kw.pop("arity", 2), **kw)


# -- index targets -----------------------------------------------------------------------------

def test_index_peek_full_answer() -> None:
    m = model_with([(r(1, "a"), 0, 2), (r(2, "b"), 3, 1)])
    e = expected_peek(m, index_peek(0), since=0)
    assert e.rows == {r(1, "a"): 2} and not e.error_required and not e.error_permitted
    assert expected_peek(m, index_peek(5), since=0).rows == {r(1, "a"): 2, r(2, "b"): 1}


def test_literal_constraints_match_key_columns_and_duplicates_count_once() -> None:
    m = model_with([(r(1, "a"), 0, 2), (r(2, "b"), 0, 1), (r(3, "c"), 0, 1)], key=(1,))
    e = expected_peek(m, index_peek(0, key=[r("a"), r("c"), r("a"), r("zz")]), since=0)
    assert e.rows == {r(1, "a"): 2, r(3, "c"): 1}


def test_literal_constraints_on_a_two_column_key() -> None:
    m = model_with([(r(1, "a"), 0, 1), (r(1, "b"), 0, 1)], key=(1, 0))
    e = expected_peek(m, index_peek(0, key=[r("b", 1), r(1, "a")]), since=0)
    assert e.rows == {r(1, "b"): 1}


def test_literal_of_the_wrong_arity_is_refused() -> None:
    m = model_with([(r(1, "a"), 0, 1)])
    with pytest.raises(ValueError, match="arity must match"):
        expected_peek(m, index_peek(0, key=[r(1, "a")]), since=0)


def test_peek_mfp_applies_after_the_key_constraint() -> None:
    m = model_with([(r(1, "a"), 0, 1), (r(5, "b"), 0, 1), (r(7, "c"), 0, 1)])
    mp = mfp(2, predicates=[gt(col(0), lit(2))], projection=[1])
    e = expected_peek(m, index_peek(0, key=[r(1), r(5)], map_filter_project=mp), since=0)
    assert e.rows == {r("b"): 1}


def test_below_since_requires_error_and_since_is_at_least_as_of() -> None:
    m = model_with([(r(1, "a"), 0, 1)], as_of=4)
    assert expected_peek(m, index_peek(5), since=6).error_required
    e = expected_peek(m, index_peek(3), since=0)             # below as_of: nothing to read
    assert e.error_required and "below the since [4]" in e.must_error[0]
    assert not expected_peek(m, index_peek(6), since=6).error_required


def test_target_errors_require_error_even_when_the_key_excludes_every_row() -> None:
    m = model_with([(r(1, "a"), 0, 1), ("boom", 2, 1)])
    assert not expected_peek(m, index_peek(1), since=0).error_required
    e = expected_peek(m, index_peek(2, key=[r(99)]), since=0)
    assert e.error_required and e.errors == {"boom": 1} and e.rows == {}


def test_mfp_errors_require_error() -> None:
    m = model_with([(r(0, "a"), 0, 1)])
    mp = mfp(2, expressions=[div(lit(1), col(0))])
    e = expected_peek(m, index_peek(0, map_filter_project=mp), since=0)
    assert e.error_required and e.errors == {"division by zero": 1}


def test_mfp_error_on_a_row_excluded_by_the_key_does_not_count() -> None:
    m = model_with([(r(0, "a"), 0, 1), (r(1, "b"), 0, 1)])
    mp = mfp(2, expressions=[div(lit(1), col(0))])
    e = expected_peek(m, index_peek(0, key=[r(1)], map_filter_project=mp), since=0)
    assert not e.error_required and e.rows == {r(1, "b", 1): 1}


def test_negative_multiplicity_after_mfp_requires_error() -> None:
    m = model_with([(r(1, "a"), 0, -1), (r(2, "b"), 0, 1)])
    e = expected_peek(m, index_peek(0), since=0)
    assert e.error_required and "multiplicity -1" in e.must_error[0]


def test_negative_multiplicity_filtered_away_only_permits_error() -> None:
    m = model_with([(r(1, "a"), 0, -1), (r(2, "b"), 0, 1)])
    mp = mfp(2, predicates=[gt(col(0), lit(1))])
    e = expected_peek(m, index_peek(0, map_filter_project=mp), since=0)
    assert not e.error_required and e.error_permitted
    assert e.rows == {r(2, "b"): 1}


def test_negative_multiplicity_consolidated_away_by_projection_only_permits_error() -> None:
    m = model_with([(r(1, "a"), 0, -1), (r(1, "b"), 0, 1)])
    e = expected_peek(m, index_peek(0, map_filter_project=mfp(2, projection=[0])), since=0)
    assert not e.error_required and e.error_permitted and e.rows == {}


def test_negative_row_excluded_by_the_key_neither_requires_nor_permits_error() -> None:
    m = model_with([(r(1, "a"), 0, -1), (r(2, "b"), 0, 1)])
    e = expected_peek(m, index_peek(0, key=[r(2)]), since=0)
    assert not e.error_permitted and e.rows == {r(2, "b"): 1}


# -- persist targets ---------------------------------------------------------------------------

A, B, C = r(1, "a", True), r(1, "b", False), r(2, "a", True)


def shard_model() -> Model:
    log = ShardLog()
    log.apply(StorageEvent("create_shard", 1, 0.0, shard_id="s", arity=3))
    updates = ((A, 0, 1), (B, 1, 2), (C, 1, 1), (A, 3, -1))
    log.apply(StorageEvent("append", 2, 0.0, shard_id="s", lower=0, upper=5, updates=updates))
    log.apply(StorageEvent("since", 3, 0.0, shard_id="s", since=2))
    return Model(log)


def persist_peek(t: int, **kw: Any) -> command_pb2.ProtoPeek:
    return peek(UUID, t, shard_id="s", arity=3, **kw)


def test_persist_peek_reads_the_shard() -> None:
    e = expected_peek(shard_model(), persist_peek(2), since=2)
    assert e.target == "shard s"
    assert e.rows == {A: 1, B: 2, C: 1}
    assert expected_peek(shard_model(), persist_peek(3), since=2).rows == {B: 2, C: 1}


def test_persist_literal_is_a_row_prefix() -> None:
    m = shard_model()
    assert expected_peek(m, persist_peek(2, key=[r(1)]), since=2).rows == {A: 1, B: 2}
    assert expected_peek(m, persist_peek(2, key=[r(1, "b")]), since=2).rows == {B: 2}
    assert expected_peek(m, persist_peek(2, key=[r("a")]), since=2).rows == {}


def test_persist_peek_takes_one_literal() -> None:
    with pytest.raises(ValueError, match="at most one"):
        expected_peek(shard_model(), persist_peek(2, key=[r(1), r(2)]), since=2)


def test_persist_peek_below_the_given_since() -> None:
    assert expected_peek(shard_model(), persist_peek(1), since=2).error_required
    assert not expected_peek(shard_model(), persist_peek(2), since=2).error_required


def test_peek_without_target_is_refused() -> None:
    with pytest.raises(ValueError, match="no target"):
        expected_peek(shard_model(), peek(UUID, 1, arity=3), since=0)


# -- result size -------------------------------------------------------------------------------

def test_result_size_by_hand() -> None:
    # ProtoRow(datums=[ProtoDatum(int64=1)]): datum = tag 0x18 + varint 1 = 2 bytes; the row
    # wraps it as field 1 (tag 0x0a, length 2) = 4 bytes; plus 8 per entry.
    assert result_size({r(1): 5}) == 12
    # "abc": datum = tag 0x2a, length 3, 3 bytes = 5; row = 2 + 5 = 7; with (1): 7 + 4 = 11.
    assert result_size({r(1, "abc"): 1}) == 11 + 8
    assert result_size({r(1): 1, r(2): 3}) == 24
    assert result_size({}) == 0
    assert expected_peek(model_with([(r(1, "abc"), 0, 2)]), index_peek(0), since=0).size() == 19


# -- finishing ---------------------------------------------------------------------------------

def rows(*values: Any, counts: dict[Any, int] | None = None) -> dict[Row, int]:
    out = {r(v): 1 for v in values}
    for v, c in (counts or {}).items():
        out[r(v)] = c
    return out


ASC = finishing([(0, False, False)], limit=2)
FULL = rows(1, 2, 3, 4)


def test_no_limit_requires_the_exact_answer() -> None:
    none = finishing([(0, False, False)])
    assert check_finishing(FULL, FULL, none) is None
    assert "returned 0 times, expected 1" in str(check_finishing(rows(1, 2, 3), FULL, none))
    assert "does not hold it" in str(check_finishing(rows(1, 2, 3, 4, 5), FULL, none))
    assert "returned 2 times" in str(check_finishing(rows(counts={1: 2, 2: 1, 3: 1, 4: 1}), FULL, none))
    # offset without limit is still exact: the replica never applies offset
    assert check_finishing(rows(2, 3, 4), FULL, finishing(offset=1)) is not None


@pytest.mark.parametrize("returned", [rows(1, 2), rows(1, 2, 3), rows(1, 2, 4), FULL])
def test_limit_accepts_legal_thinnings(returned: dict[Row, int]) -> None:
    assert check_finishing(returned, FULL, ASC) is None


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        (rows(2, 3), "row (1) sorts before row #2"),
        (rows(1, 3), "only 1 returned rows"),
        (rows(1), "only 1 returned rows"),
        (rows(1, 2, 5), "does not hold it"),
        (rows(counts={1: 0, 2: 1}), "count 0"),
        (rows(counts={1: 2, 2: 1}), "returned 2 times"),
    ],
)
def test_limit_rejects_illegal_thinnings(returned: dict[Row, int], reason: str) -> None:
    assert reason in str(check_finishing(returned, FULL, ASC))


def test_limit_with_offset_needs_the_skipped_rows_too() -> None:
    f = finishing([(0, False, False)], limit=1, offset=1)
    assert check_finishing(rows(1, 2), FULL, f) is None
    assert check_finishing(rows(2), FULL, f) is not None


def test_desc_order() -> None:
    f = finishing([(0, True, False)], limit=2)
    assert check_finishing(rows(4, 3), FULL, f) is None
    assert check_finishing(rows(1, 2), FULL, f) is not None


def test_ties_at_the_boundary_are_interchangeable() -> None:
    full = {r(1, "a"): 1, r(1, "b"): 1, r(2, "c"): 1}
    f = finishing([(0, False, False)], limit=1)
    assert check_finishing({r(1, "b"): 1}, full, f) is None
    assert check_finishing({r(1, "a"): 1}, full, f) is None
    assert check_finishing({r(2, "c"): 1}, full, f) is not None
    # extra rows after the boundary do not make up for a missing tie
    f2 = finishing([(0, False, False)], limit=2)
    assert check_finishing({r(1, "a"): 1, r(2, "c"): 1}, full, f2) is not None
    assert check_finishing({r(1, "a"): 1, r(1, "b"): 1, r(2, "c"): 1}, full, f2) is None


def test_no_order_by_means_every_row_ties() -> None:
    f = finishing(limit=2)
    assert check_finishing(rows(3, 4), FULL, f) is None
    assert check_finishing(rows(3), FULL, f) is not None


def test_multiplicities_count_towards_the_limit() -> None:
    full = rows(counts={1: 3, 2: 1})
    f = finishing([(0, False, False)], limit=2)
    assert check_finishing(rows(counts={1: 2}), full, f) is None
    assert check_finishing(rows(counts={1: 1}), full, f) is not None
    assert check_finishing(rows(counts={1: 1, 2: 1}), full, f) is not None


def test_limit_zero_accepts_any_sub_multiset() -> None:
    f = finishing([(0, False, False)], limit=0)
    assert check_finishing({}, FULL, f) is None
    assert check_finishing(rows(4), FULL, f) is None
    assert check_finishing(rows(9), FULL, f) is not None


def test_limit_beyond_the_answer_requires_everything() -> None:
    f = finishing([(0, False, False)], limit=(1 << 63) - 1)
    assert check_finishing(FULL, FULL, f) is None
    assert check_finishing(rows(1, 2, 3), FULL, f) is not None


def test_nulls_sort_first_unless_nulls_last() -> None:
    full = {r(None): 1, r(1): 1, r(2): 1}
    first = finishing([(0, False, False)], limit=1)
    last = finishing([(0, False, True)], limit=1)
    desc_first = finishing([(0, True, False)], limit=1)
    assert check_finishing({r(None): 1}, full, first) is None
    assert check_finishing({r(1): 1}, full, first) is not None
    assert check_finishing({r(1): 1}, full, last) is None
    assert check_finishing({r(None): 1}, full, desc_first) is None   # null placement ignores desc


def test_apply_finishing() -> None:
    full = {r(3, "c"): 1, r(1, "a"): 2, r(2, "b"): 1}
    f = finishing([(0, True, False)], limit=2, offset=1, project=[1])
    assert apply_finishing(full, f) == [r("b"), r("a")]
    in_order = [r(1, "a"), r(1, "a"), r(2, "b"), r(3, "c")]
    assert apply_finishing(full, finishing([(0, False, False)])) == in_order


def test_expected_peek_fields_are_consistent() -> None:
    m = model_with([(r(1, "a"), 0, 1)])
    e = expected_peek(m, index_peek(0), since=0)
    assert e.time == 0 and e.target == "u2" and e.errors == {}
    assert expected_peek(m, index_peek(EMPTY - 1), since=0).rows == {r(1, "a"): 1}
