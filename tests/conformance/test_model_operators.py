"""Each operator of the plan language against hand-computed contents (spec 5.3)."""

from __future__ import annotations

from typing import Any

import pytest
from compute_protocol.v1 import plan_pb2

from conformance.model.build import (
    col,
    constant,
    div,
    get,
    join,
    lit,
    mfp,
    mfp_plan,
    negate,
    reduce,
    threshold,
    union,
)
from conformance.model.contents import Contents, count_rows
from conformance.model.expressions import INT64_MAX, IllTyped
from conformance.model.plans import compile_plan
from conformance.wire.rows import row

NAN = float("nan")


def rows(spec: dict[tuple[Any, ...], int]) -> dict[tuple[Any, ...], int]:
    return {row(*r): m for r, m in spec.items()}


def const(spec: dict[tuple[Any, ...], int], errors: dict[str, int] | None = None, t: int = 0,
          arity: int = 1) -> plan_pb2.ProtoPlan:
    updates: list[tuple[Any, int, int]] = [(row(*r), t, m) for r, m in spec.items()]
    updates += [(e, t, m) for e, m in (errors or {}).items()]
    return constant(arity, updates)


def evaluate(plan: plan_pb2.ProtoPlan, t: int = 0, inputs: dict[str, Contents] | None = None) -> Contents:
    return compile_plan(plan).evaluate(t, (inputs or {}).__getitem__)


# -- Get, Constant ----------------------------------------------------------------------------

def test_get_reads_the_resolved_collection() -> None:
    c = Contents(rows({(1,): 2}), {"e": 1})
    assert evaluate(get("u7"), inputs={"u7": c}) == c


def test_constant_sums_updates_at_or_before_t() -> None:
    p = constant(1, [(row(1), 0, 1), (row(1), 2, 1), (row(2), 3, 1), (row(1), 5, -2), ("oops", 4, 1)])
    assert evaluate(p, 0).rows == rows({(1,): 1})
    assert evaluate(p, 2).rows == rows({(1,): 2})
    assert evaluate(p, 3).rows == rows({(1,): 2, (2,): 1})
    assert evaluate(p, 4).errors == {"oops": 1}
    assert evaluate(p, 5).rows == rows({(2,): 1})   # row 1 back to zero: absent


def test_constant_keeps_negative_multiplicities_and_drops_zero() -> None:
    p = constant(1, [(row(1), 0, -3), (row(2), 0, 1), (row(2), 0, -1), ("e", 0, 1), ("e", 0, -1)])
    c = evaluate(p)
    assert c.rows == rows({(1,): -3})
    assert c.errors == {}
    assert c.has_negative() and not c.holds_errors()


# -- Union, Negate, Threshold -----------------------------------------------------------------

def test_union_sums_rows_and_errors() -> None:
    p = union(const({(1,): 1, (2,): 1}, {"e": 1}), const({(2,): -1, (3,): 2}, {"e": 1, "f": 1}))
    c = evaluate(p)
    assert c.rows == rows({(1,): 1, (3,): 2})
    assert c.errors == {"e": 2, "f": 1}


def test_union_of_nothing_is_empty() -> None:
    assert evaluate(union()) == Contents()


def test_negate_negates_rows_and_keeps_errors() -> None:
    c = evaluate(negate(const({(1,): 2, (2,): -1}, {"e": 1})))
    assert c.rows == rows({(1,): -2, (2,): 1})
    assert c.errors == {"e": 1}


def test_threshold_keeps_positive_rows_and_errors() -> None:
    c = evaluate(threshold(const({(1,): 2, (2,): -1}, {"e": -1})))
    assert c.rows == rows({(1,): 2})
    assert c.errors == {"e": -1}


# -- Mfp ---------------------------------------------------------------------------------------

def test_mfp_operator_applies_its_mfp_and_passes_errors() -> None:
    m = mfp(1, expressions=[div(lit(6), col(0))], projection=[1])
    p = mfp_plan(const({(1,): 1, (0,): 2}, {"e": 1}), m)
    c = evaluate(p)
    assert c.rows == rows({(6,): 1})
    assert c.errors == {"e": 1, "division by zero": 2}


# -- Join --------------------------------------------------------------------------------------

def test_join_on_keys_multiplies_multiplicities() -> None:
    left = const({(1, "a"): 2, (2, "b"): 1, (None, "n"): 1}, arity=2)
    right = const({(1, "x"): 3, (1, "y"): -1, (3, "z"): 1, (None, "m"): 1}, arity=2)
    c = evaluate(join(left, right, [(0, 0)]))
    assert c.rows == rows({(1, "a", 1, "x"): 6, (1, "a", 1, "y"): -2})   # null never matches


def test_join_without_keys_is_the_cross_product() -> None:
    c = evaluate(join(const({(1,): 2, (2,): 1}), const({("x",): -1, ("y",): 1})))
    assert c.rows == rows({(1, "x"): -2, (1, "y"): 2, (2, "x"): -1, (2, "y"): 1})


def test_join_on_several_keys_needs_every_pair_to_agree() -> None:
    left = const({(1, 2): 1, (1, 3): 1}, arity=2)
    right = const({(1, 2): 1, (1, 4): 1}, arity=2)
    assert evaluate(join(left, right, [(0, 0), (1, 1)])).rows == rows({(1, 2, 1, 2): 1})
    assert evaluate(join(left, right, [(0, 0)])).rows == rows(
        {(1, 2, 1, 2): 1, (1, 2, 1, 4): 1, (1, 3, 1, 2): 1, (1, 3, 1, 4): 1})


def test_join_key_with_a_null_in_another_key_column_never_matches() -> None:
    left = const({(1, None): 1}, arity=2)
    right = const({(1, None): 1}, arity=2)
    assert evaluate(join(left, right, [(0, 0), (1, 1)])).rows == {}


def test_join_nan_keys_match_because_nan_equals_nan() -> None:
    c = evaluate(join(const({(NAN,): 1}), const({(NAN,): 2}), [(0, 0)]))
    assert sum(c.rows.values()) == 2


def test_join_passes_errors_of_both_sides() -> None:
    c = evaluate(join(const({}, {"l": 1}), const({(1,): 1}, {"r": 2, "l": 1})))
    assert c.errors == {"l": 2, "r": 2}
    assert c.rows == {}


def test_join_results_consolidate() -> None:
    # (1,a)x(b) and (1,a)x(b) from opposite signs cancel.
    left = const({(1,): 1, (2,): -1})
    right = const({("b",): 1})
    c = evaluate(mfp_plan(join(left, right), mfp(2, projection=[1])))
    assert c.rows == {}


def test_join_key_beyond_the_row_is_ill_typed() -> None:
    with pytest.raises(IllTyped):
        evaluate(join(const({(1,): 1}), const({(1,): 1}), [(0, 3)]))


# -- Reduce ------------------------------------------------------------------------------------

def test_reduce_count_sums_multiplicities_per_group() -> None:
    data = const({("a", 1): 2, ("a", None): 1, ("b", 5): 1}, arity=2)
    c = evaluate(reduce(data, [0], [("count", 1)]))
    assert c.rows == rows({("a", 3): 1, ("b", 1): 1})   # COUNT counts rows, nulls included


def test_reduce_sum_ignores_nulls_and_is_null_without_values() -> None:
    data = const({("a", 4): 3, ("a", None): 1, ("b", None): 2, ("c", -2): 1, ("c", 2): 1}, arity=2)
    c = evaluate(reduce(data, [0], [("sum", 1)]))
    assert c.rows == rows({("a", 12): 1, ("b", None): 1, ("c", 0): 1})


def test_reduce_sum_out_of_range_yields_the_error_for_that_group() -> None:
    data = const({("a", INT64_MAX): 2, ("b", 1): 1}, arity=2)
    c = evaluate(reduce(data, [0], [("sum", 1), ("count", 1)]))
    assert c.rows == rows({("b", 1, 1): 1})
    assert c.errors == {"integer out of range": 1}


def test_reduce_min_max_over_non_null_values() -> None:
    data = const({("a", 3): 1, ("a", 1): 5, ("a", None): 1, ("b", None): 1}, arity=2)
    c = evaluate(reduce(data, [0], [("min", 1), ("max", 1)]))
    assert c.rows == rows({("a", 1, 3): 1, ("b", None, None): 1})


def test_reduce_min_max_of_strings_and_floats() -> None:
    data = const({("Z",): 1, ("a",): 1, ("\u00e9",): 1})
    assert evaluate(reduce(data, [], [("min", 0), ("max", 0)])).rows == rows({("Z", "\u00e9"): 1})
    floats = const({(1.5,): 1, (NAN,): 1, (-1.0,): 1})
    c = evaluate(reduce(floats, [], [("min", 0), ("max", 0)]))
    [(low, high)] = c.rows
    assert low == row(-1.0)[0] and high[0] == "float64" and high[1] != high[1]   # max is NaN


def test_reduce_group_with_a_negative_row_yields_one_error() -> None:
    data = const({("a", 1): 2, ("a", 2): -1, ("b", 1): -1, ("c", 1): 1}, arity=2)
    c = evaluate(reduce(data, [0], [("count", 1)]))
    assert c.rows == rows({("c", 1): 1})
    assert c.errors == {"negative multiplicity in reduce": 2}   # one per group: a and b


def test_reduce_passes_input_errors() -> None:
    c = evaluate(reduce(const({(1,): 1}, {"e": 3}), [0], []))
    assert c.rows == rows({(1,): 1})
    assert c.errors == {"e": 3}


def test_reduce_of_empty_input_has_no_rows_even_without_group_key() -> None:
    assert evaluate(reduce(const({}), [], [("count", 0)])) == Contents()
    cancelled = constant(1, [(row(1), 0, 2), (row(1), 0, -2)])
    assert evaluate(reduce(cancelled, [], [("count", 0)])) == Contents()


def test_reduce_with_empty_group_key_has_one_row() -> None:
    c = evaluate(reduce(const({(1,): 2, (5,): 1}), [], [("count", 0), ("sum", 0)]))
    assert c.rows == rows({(3, 7): 1})


def test_reduce_groups_null_keys_together() -> None:
    c = evaluate(reduce(const({(None, 1): 1, (None, 2): 1}, arity=2), [0], [("sum", 1)]))
    assert c.rows == rows({(None, 3): 1})


def test_reduce_sum_of_floats_is_ill_typed() -> None:
    with pytest.raises(IllTyped):
        evaluate(reduce(const({(1.0,): 1}), [], [("sum", 0)]))


def test_plan_with_no_kind_is_ill_typed() -> None:
    with pytest.raises(IllTyped):
        compile_plan(plan_pb2.ProtoPlan())


def test_gets_and_constant_times_are_collected_from_the_whole_tree() -> None:
    p = compile_plan(union(get("u1"), join(get("u2"), constant(1, [(row(1), 4, 1), ("e", 9, 1)]))))
    assert p.gets() == {"u1", "u2"}
    assert p.constant_times() == {4, 9}


def test_row_count_and_count_rows() -> None:
    assert Contents(rows({(1,): 2, (2,): 3})).row_count() == 5
    assert count_rows([row(1), row(2), row(1)]) == rows({(1,): 2, (2,): 1})
