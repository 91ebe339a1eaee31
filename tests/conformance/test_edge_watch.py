"""The data-edge cells (`report.edge_watch`): each is noted exactly when a judged value went
through its edge, and the model's answers are unchanged."""

from __future__ import annotations

from collections import Counter
from typing import Any

from compute_protocol.v1 import common_pb2

from conformance.model import Model
from conformance.model.build import (
    and_,
    binary,
    col,
    constant,
    dataflow,
    div,
    eq,
    finishing,
    get,
    gt,
    index_export,
    join,
    lit,
    mfp,
    mfp_plan,
    negate,
    or_,
    peek,
    reduce,
    source_import,
    subscribe_export,
    threshold,
    union,
)
from conformance.report import coverage
from conformance.report.edge_watch import EdgeWatch, row_cells
from conformance.session.capabilities import Capabilities
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row
from tests.conformance.test_model_catalog import Shards

NAN = float("nan")


def watch(
    plan: Any,
    rows: list[tuple[Any, ...]],
    *,
    kinds: tuple[str, ...] = ("int64", "int64"),
    key: list[int] | None = None,
    until: int = EMPTY,
    retract: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
    sink: bool = False,
    up_to: int = EMPTY,
) -> tuple[EdgeWatch, Counter[str], Shards]:
    shards = Shards()
    shards.create("s1", len(kinds))
    updates = [(_row(r), 0, 1) for r in rows] + [(_row(r), 1, -1) for r in retract]
    shards.append("s1", updates, 5)
    counts: Counter[str] = Counter()
    model = EdgeWatch(shards.log, lambda cell: counts.update([cell]), strict=True)
    source = source_import("u1", "s1")
    scalar = {
        "int64": common_pb2.PROTO_SCALAR_TYPE_INT64,
        "float64": common_pb2.PROTO_SCALAR_TYPE_FLOAT64,
        "string": common_pb2.PROTO_SCALAR_TYPE_STRING,
        "bool": common_pb2.PROTO_SCALAR_TYPE_BOOL,
    }
    source.storage_metadata.relation_desc.columns.extend(
        common_pb2.ProtoColumnType(scalar_type=scalar[k], nullable=True) for k in kinds
    )
    if sink:
        subscribe = subscribe_export("u3", "u2", up_to=up_to)
        desc = dataflow(as_of=0, until=until, sources=[source], objects=[("u2", plan)], sink_exports=[subscribe])
    else:
        index = index_export("u3", "u2", key or [0])
        desc = dataflow(as_of=0, until=until, sources=[source], objects=[("u2", plan)], index_exports=[index])
    model.add_dataflow(desc)
    model.plain = Model(shards.log)  # type: ignore[attr-defined]
    model.plain.add_dataflow(desc)  # type: ignore[attr-defined]
    return model, counts, shards


def _row(values: tuple[Any, ...]) -> Any:
    """As `row`, but -0.0 stays -0.0 (as the suite's appends keep it)."""
    datums = zip(values, row(*values), strict=True)
    return tuple(("float64", -0.0) if isinstance(v, float) and str(v) == "-0.0" else d for v, d in datums)


def judged(plan: Any, rows: list[tuple[Any, ...]], t: int = 1, **kw: Any) -> Counter[str]:
    model, counts, _ = watch(plan, rows, **kw)
    plain = model.plain  # type: ignore[attr-defined]
    assert model.contents("u3", t) == plain.contents("u3", t), "the watch answers as the model does"
    return counts


def test_every_cell_is_registered_once_with_a_feature_and_an_edge() -> None:
    assert len(coverage.CELLS) >= 40
    for cell in coverage.CELLS.values():
        assert cell.feature and cell.edge and cell.id.count(".") == 1
    assert not coverage.unexercised(dict.fromkeys(coverage.CELLS, 1), Capabilities())
    no_reduce = Capabilities(plan_operators=frozenset({"get", "mfp"}))
    assert "reduce.nan-key" not in {c.id for c in coverage.unexercised({}, no_reduce)}


def test_datums_of_judged_rows() -> None:
    cells = row_cells([row(NAN, float("inf"), 2.0, True, 1 << 60, "", "\U0001f980" * 70)])
    assert cells == {
        "row.nan",
        "row.inf",
        "row.integral-float",
        "row.bool",
        "row.big-int",
        "row.empty-string",
        "row.long-string",
    }
    assert row_cells([row(2.5, 3, "abc", None)]) == set()


def test_reduce_edges() -> None:
    plan = reduce(get("u1"), [1], [("count", 0), ("max", 0)])
    counts = judged(plan, [(1.0, None), (2.0, None), (NAN, NAN)], kinds=("float64", "float64"))
    assert counts["reduce.null-key"] == 1 and counts["reduce.nan-key"] == 1
    assert counts["reduce.nan-agg"] == 0 and counts["reduce.null-agg"] == 0
    counts = judged(reduce(get("u1"), [], [("count", 0)]), [])
    assert counts["reduce.global-empty"] == 1
    sums = reduce(get("u1"), [0], [("sum", 1), ("min", 1)])
    counts = judged(sums, [(1, (1 << 63) - 1), (1, 5), (2, None), (2, 3)])
    assert counts["reduce.sum-overflow"] == 1 and counts["reduce.null-agg"] == 1
    negated = reduce(union(get("u1"), negate(constant(2, [(row(7, 7), 0, 1)]))), [0], [("count", 0)])
    assert judged(negated, [(1, 1)])["reduce.negative"] == 1
    emptied = reduce(get("u1"), [], [("count", 0)])
    counts = judged(emptied, [(1, 1)], retract=[(1, 1)], t=1)
    assert counts["reduce.emptied"] == 1 and counts["reduce.global-empty"] == 1


def test_expression_edges() -> None:
    guarded = and_(binary("not_eq", col(0), lit(0)), gt(div(lit(12), col(0)), lit(1)))
    counts = judged(mfp_plan(get("u1"), mfp(2, predicates=[guarded])), [(0, 1), (3, 1)])
    assert counts["expr.skipped-and"] == 1 and counts["expr.int-div-zero"] == 0
    either = or_(eq(col(0), lit(0)), gt(div(lit(12), col(0)), lit(1)))
    assert judged(mfp_plan(get("u1"), mfp(2, predicates=[either])), [(0, 1)])["expr.skipped-or"] == 1
    dropped_error = mfp(2, expressions=[div(lit(12), col(0))], projection=[0, 1])
    counts = judged(mfp_plan(get("u1"), dropped_error), [(0, 1)])
    assert counts["mfp.error-projected-away"] == 1 and counts["expr.int-div-zero"] == 1
    after_false = mfp(2, predicates=[gt(col(0), lit(5)), gt(div(lit(12), col(0)), lit(1))])
    counts = judged(mfp_plan(get("u1"), after_false), [(0, 1)])
    assert counts["mfp.error-after-false"] == 1 and counts["mfp.error-predicate"] == 0
    beside = mfp(2, predicates=[eq(col(1), div(lit(12), col(0)))])
    counts = judged(mfp_plan(get("u1"), beside), [(0, None), (1, None)])
    assert counts["expr.null-beside-error"] == 1 and counts["expr.null-compare"] == 1
    assert counts["mfp.error-predicate"] == 1 and counts["mfp.null-predicate"] == 1
    overflow = mfp(2, expressions=[binary("add", col(1), lit((1 << 63) - 1)), div(col(0), lit(2))])
    counts = judged(mfp_plan(get("u1"), overflow), [(3, 1), (-3, 0)])
    assert counts["expr.int-overflow"] == 1 and counts["expr.int-div-truncates"] == 1
    floats = mfp(2, expressions=[binary("mul", col(1), lit(1e308)), div(col(0), col(1))])
    counts = judged(mfp_plan(get("u1"), floats), [(1.0, 10.0), (1.0, -0.0)], kinds=("float64", "float64"))
    assert counts["expr.float-inf"] == 1 and counts["expr.float-div-zero"] == 1
    nan = mfp(2, predicates=[gt(col(1), lit(NAN))])
    assert judged(mfp_plan(get("u1"), nan), [(1.0, 1.0)], kinds=("float64", "float64"))["expr.nan-compare"] == 1


def test_join_negate_threshold_edges() -> None:
    nulls = join(get("u1"), get("u1"), [(1, 1)])
    assert judged(nulls, [(1, None), (2, 2)])["join.null-key"] == 1
    assert judged(join(get("u1"), get("u1"), [(0, 0)]), [(1, None)])["join.null-key"] == 0
    erroring = mfp_plan(get("u1"), mfp(2, expressions=[div(lit(1), col(0))], projection=[0, 1]))
    counts = judged(threshold(union(get("u1"), negate(erroring))), [(0, 1), (2, 2)])
    assert counts["negate.errors"] == 1 and counts["threshold.errors"] == 1 and counts["threshold.negative"] == 0


def test_input_and_bound_edges() -> None:
    counts = judged(get("u1"), [(1, 0.0), (1, -0.0), (2, NAN)], kinds=("int64", "float64"), retract=[(2, NAN)])
    assert counts["row.neg-zero"] == 1 and counts["row.nan-consolidated"] == 1 and counts["null.float64"] == 0
    assert judged(get("u1"), [(1, None)], kinds=("int64", "bool"))["null.bool"] == 1
    model, counts, shards = watch(get("u1"), [(1, 1)], until=3)
    shards.append("s1", [(row(2, 2), 5, 1)], 6)
    model.contents("u3", 2)
    assert counts["until.update-at-until"] == 0
    shards.append("s1", [(row(3, 3), 6, 1)], 7)
    model2, counts2, shards2 = watch(get("u1"), [(1, 1)], until=5)
    model2.contents("u3", 6)
    assert counts2["until.update-at-until"] == 0
    shards2.append("s1", [(row(2, 2), 5, 1)], 6)
    model2.contents("u3", 5)
    assert counts2["until.update-at-until"] == 1


def test_up_to_edge() -> None:
    model, counts, shards = watch(get("u1"), [(1, 1)], sink=True, up_to=5)
    model.contents("u3", 2)
    assert counts["up-to.update-at-up-to"] == 0
    shards.append("s1", [(row(2, 2), 5, 1)], 6)
    model.contents("u3", 3)
    assert counts["up-to.update-at-up-to"] == 1


def test_peek_edges() -> None:
    model, counts, _ = watch(get("u1"), [(1, None), (2, 5), (3, 5), (4, 6)], key=[1])
    literal = peek("00000000000000010000000000000001", 1, index="u3", arity=2, key=[row(5), row(5)])
    model.expected_peek(literal, 0)
    assert counts["peek.literal-non-prefix"] == 1 and counts["peek.literal-repeated"] == 1
    full = {row(1, None): 1, row(2, 5): 1, row(3, 5): 1}
    model.check_finishing({}, full, finishing([(1, True, True)], limit=1))
    model.check_finishing({}, full, finishing([(1, False, False)], limit=5))  # no thinning: no cell
    assert counts["finishing.nulls-desc-last"] == 1 and counts["finishing.nulls-asc-first"] == 0


def test_counted_once_per_judged_value() -> None:
    model, counts, _ = watch(get("u1"), [(1, None)], kinds=("int64", "string"))
    for _ in range(3):
        model.contents("u3", 1)
    model.contents("u3", 2)
    assert counts["null.string"] == 2
