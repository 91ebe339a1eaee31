"""Algebraic properties of the evaluator and the finishing check, over generated data."""

from __future__ import annotations

from typing import Any

from compute_protocol.v1 import plan_pb2
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformance.model.build import constant, finishing, join, mfp, mfp_plan, negate, threshold, union
from conformance.model.contents import Contents
from conformance.model.ordering import ColumnOrder, compare_rows, sort_rows
from conformance.model.peeks import check_finishing
from conformance.model.plans import compile_plan
from conformance.wire.rows import Row, row

SETTINGS = settings(max_examples=60, deadline=None)

values = st.one_of(st.none(), st.integers(-3, 3))
rows2 = st.tuples(values, values).map(lambda t: row(*t))
updates = st.lists(
    st.tuples(st.one_of(rows2, st.sampled_from(["e1", "e2"])), st.integers(0, 3), st.integers(-2, 2)),
    max_size=12,
)


NO_INPUTS: dict[str, Contents] = {}


def evaluate(plan: plan_pb2.ProtoPlan, t: int) -> Contents:
    return compile_plan(plan).evaluate(t, NO_INPUTS.__getitem__)


def const(ups: list[tuple[Any, int, int]]) -> plan_pb2.ProtoPlan:
    return constant(2, ups)


@SETTINGS
@given(updates, st.integers(0, 3))
def test_union_with_its_negation_has_no_rows(ups: list[tuple[Any, int, int]], t: int) -> None:
    x = const(ups)
    c = evaluate(union(x, negate(x)), t)
    assert c.rows == {}
    assert c.errors == {e: 2 * m for e, m in evaluate(x, t).errors.items()}


@SETTINGS
@given(updates, st.integers(0, 3))
def test_threshold_is_idempotent_and_non_negative(ups: list[tuple[Any, int, int]], t: int) -> None:
    once = evaluate(threshold(const(ups)), t)
    assert evaluate(threshold(threshold(const(ups))), t) == once
    assert all(m > 0 for m in once.rows.values())


@SETTINGS
@given(updates, st.integers(0, 3))
def test_identity_mfp_changes_nothing(ups: list[tuple[Any, int, int]], t: int) -> None:
    assert evaluate(mfp_plan(const(ups), mfp(2)), t) == evaluate(const(ups), t)


@SETTINGS
@given(updates, updates)
def test_cross_join_multiplies_totals(a: list[tuple[Any, int, int]], b: list[tuple[Any, int, int]]) -> None:
    left, right = evaluate(const(a), 3), evaluate(const(b), 3)
    joined = evaluate(join(const(a), const(b)), 3)
    assert sum(joined.rows.values()) == sum(left.rows.values()) * sum(right.rows.values())


@SETTINGS
@given(updates, updates, st.integers(0, 3))
def test_keyed_join_is_the_filtered_cross_join(a: list[tuple[Any, int, int]], b: list[tuple[Any, int, int]],
                                              t: int) -> None:
    cross = evaluate(join(const(a), const(b)), t).rows
    keyed = evaluate(join(const(a), const(b), [(1, 0)]), t).rows
    expected = {r: m for r, m in cross.items() if r[1] == r[2] and r[1][0] != "null"}
    assert keyed == expected


positive = st.dictionaries(st.integers(0, 5).map(lambda v: row(v, v % 2)), st.integers(1, 3), max_size=6)
orders = st.lists(st.builds(ColumnOrder, st.integers(0, 1), st.booleans(), st.booleans()), max_size=2)


def expand(full: dict[Row, int], order: list[ColumnOrder]) -> list[Row]:
    return [r for r in sort_rows(full, order) for _ in range(full[r])]


@SETTINGS
@given(positive, orders, st.integers(0, 8), st.integers(0, 3), st.data())
def test_finishing_accepts_the_first_n_rows_plus_any_extras(
    full: dict[Row, int], order: list[ColumnOrder], limit: int, offset: int, data: st.DataObject,
) -> None:
    f = finishing([(o.column, o.desc, o.nulls_last) for o in order], limit=limit, offset=offset)
    returned: dict[Row, int] = {}
    for r in expand(full, order)[: offset + limit]:
        returned[r] = returned.get(r, 0) + 1
    for r, m in full.items():  # the replica may keep more than it needs
        returned[r] = min(m, returned.get(r, 0) + data.draw(st.integers(0, 1)))
    returned = {r: m for r, m in returned.items() if m > 0}
    assert check_finishing(returned, full, f) is None


@SETTINGS
@given(positive, orders, st.integers(1, 8), st.integers(0, 3), st.data())
def test_finishing_rejects_losing_a_row_that_sorts_before_the_boundary(
    full: dict[Row, int], order: list[ColumnOrder], limit: int, offset: int, data: st.DataObject,
) -> None:
    n = offset + limit
    ordered = expand(full, order)
    if n >= len(ordered):
        # Everything is needed: losing any row must be rejected.
        victim = data.draw(st.sampled_from(sorted(full, key=repr))) if full else None
    else:
        boundary = ordered[n - 1]
        before = [r for r in full if compare_rows(r, boundary, order) < 0]
        victim = data.draw(st.sampled_from(sorted(before, key=repr))) if before else None
    assume(victim is not None)
    assert victim is not None
    returned = dict(full)
    returned[victim] -= 1
    returned = {r: m for r, m in returned.items() if m > 0}
    f = finishing([(o.column, o.desc, o.nulls_last) for o in order], limit=limit, offset=offset)
    assert check_finishing(returned, full, f) is not None
