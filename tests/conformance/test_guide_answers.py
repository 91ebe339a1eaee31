"""The answers docs/writing-a-replica.md and docs/spec.md give to an implementer's questions,
checked against the oracle: what the guide calls allowed is accepted, and what it rules out
is flagged (with the rule it names)."""

from __future__ import annotations

from conformance.model.ordering import ColumnOrder, compare_rows
from conformance.steps.plans import ColType, Input, build_plan
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row
from tests.conformance.breakers import R1, R2
from tests.conformance.histories import History


def _until_subscribe(input_upper: int) -> History:
    """Subscribe u1 over shard a (R1 at 0, R2 at 2), as_of 0, until [3], no up_to."""
    h = History()
    h.connect("c1")
    h.shard("a").write("a", [(R1, 0, 1), (R2, 2, 1)], upper=input_upper)
    return h.subscribe("c1", "u1", source="a", until=3).init("c1")


def test_a_subscribe_with_until_and_no_up_to_may_end_once_its_inputs_reach_until() -> None:
    ended = _until_subscribe(3).batch("c1", "u1", 0, EMPTY, [(0, R1, 1), (2, R2, 1)])
    assert ended.verdicts() == []
    went_on = _until_subscribe(3).batch("c1", "u1", 0, 3, [(0, R1, 1), (2, R2, 1)])
    assert went_on.write("a", [(R1, 3, 1)], upper=5).batch("c1", "u1", 3, 5).verdicts() == []


def test_a_subscribe_may_not_end_before_its_inputs_reach_until() -> None:
    early = _until_subscribe(2).batch("c1", "u1", 0, EMPTY, [(0, R1, 1)])
    assert early.verdicts() == ["SUB-6"]


def _up_to_subscribe() -> History:
    """Subscribe u1 over a constant: R1 at 0, an error at 3; up_to [3]."""
    h = History()
    h.connect("c1")
    return h.subscribe("c1", "u1", constant=[(R1, 0, 1), ("division by zero", 3, 1)], up_to=3).init("c1")


def test_errors_at_or_beyond_up_to_do_not_make_the_final_batch_an_error_batch() -> None:
    assert _up_to_subscribe().batch("c1", "u1", 0, EMPTY, [(0, R1, 1)]).verdicts() == []
    assert _up_to_subscribe().batch("c1", "u1", 0, EMPTY, error="division by zero").verdicts() == ["SUB-7"]


def test_errors_before_up_to_do() -> None:
    h = History()
    h.connect("c1")
    h.subscribe("c1", "u1", constant=[(R1, 0, 1), ("division by zero", 2, 1)], up_to=3).init("c1")
    assert h.batch("c1", "u1", 0, EMPTY, [(0, R1, 1)]).verdicts() == ["SUB-7"]


def test_nulls_last_is_independent_of_desc() -> None:
    null, one, two = row(None), row(1), row(2)
    for desc in (False, True):
        first = ColumnOrder(0, desc=desc, nulls_last=False)
        last = ColumnOrder(0, desc=desc, nulls_last=True)
        assert compare_rows(null, one, [first]) < 0 and compare_rows(null, two, [first]) < 0
        assert compare_rows(null, one, [last]) > 0 and compare_rows(null, two, [last]) > 0
    assert compare_rows(two, one, [ColumnOrder(0, desc=True)]) < 0


def test_count_is_a_non_null_int64_and_sum_min_max_are_nullable() -> None:
    """The column types the catalog gives aggregates (what COUNT counts: test_model_operators)."""
    scope = {"s": Input("u9", [ColType("int64", False), ColType("string", True)])}
    aggregates = [{"func": f, "column": c} for f, c in (("count", 1), ("sum", 0), ("min", 1), ("max", 0))]
    plan = {"reduce": {"input": {"get": "s"}, "group_key": [0], "aggregates": aggregates}}
    built = build_plan(plan, lambda name, path: scope[name], "plan")
    assert [c.spelled() for c in built.columns] == ["int64", "int64", "int64?", "string?", "int64?"]
