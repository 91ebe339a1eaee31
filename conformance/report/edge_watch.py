"""Noting the data edges that the oracle's verdicts went through (the cells of `coverage`).

`EdgeWatch` is the oracle's model (a `ModelAdapter`) with eyes: whenever the oracle asks what
a collection holds at a time, what a peek must be answered, or whether a thinned answer is
acceptable, it answers exactly as the model does, and besides looks at what that value was
computed from: the rows of the inputs (NaN, -0.0, nulls), every operator of the plan with
the contents of its inputs at that time (a reduce group holding a NaN key, a join whose both
sides hold null keys, a threshold over errors), every MFP over the rows it maps (the
skipped branch of an AND that would have failed, a division by zero, a predicate that is
null), the peek's literals and its finishing. Evaluation is the model's own
(`compile_plan`, `compile_expr`): this module only classifies what the model computes.

Each cell counts once per (judged subject, time). Nothing here changes a verdict: a failure
to classify (a plan the model refuses) is skipped, never raised.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2, plan_pb2

from conformance.model import Contents
from conformance.model.expressions import INT64_MAX, INT64_MIN, EvalError, compile_expr
from conformance.model.plans import Plan, compile_plan
from conformance.oracle.model_api import ModelAdapter, ModelLike, PeekExpectationLike
from conformance.storage import ShardView
from conformance.wire.frontiers import EMPTY
from conformance.wire.ids import GlobalId, gid_str
from conformance.wire.rows import NULL, Datum, Row, row_from_proto

Note = Callable[[str], None]
_ROW_CACHE: Final = 20_000
_BIG: Final = 1 << 53
_COMPARE: Final = frozenset(
    {
        plan_pb2.PROTO_BINARY_FUNC_EQ,
        plan_pb2.PROTO_BINARY_FUNC_NOT_EQ,
        plan_pb2.PROTO_BINARY_FUNC_LT,
        plan_pb2.PROTO_BINARY_FUNC_LTE,
        plan_pb2.PROTO_BINARY_FUNC_GT,
        plan_pb2.PROTO_BINARY_FUNC_GTE,
    }
)
_KIND_OF_SCALAR: Final = {
    common_pb2.PROTO_SCALAR_TYPE_BOOL: "bool",
    common_pb2.PROTO_SCALAR_TYPE_INT64: "int64",
    common_pb2.PROTO_SCALAR_TYPE_FLOAT64: "float64",
    common_pb2.PROTO_SCALAR_TYPE_STRING: "string",
}


class CellCounts:
    """A thread-safe counter of cells: the oracle judges on the streams' reader threads."""

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts
        self._lock = threading.Lock()

    def note(self, cell: str) -> None:
        with self._lock:
            self.counts[cell] += 1


def watching(counts: Counter[str]) -> Callable[[ShardView], ModelLike]:
    """A model factory for the oracle whose models count the cells they evaluate into `counts`."""
    sink = CellCounts(counts)
    return lambda shards: EdgeWatch(shards, sink.note)


def _is_nan(d: Datum) -> bool:
    return d[0] == "float64" and math.isnan(d[1])


def _is_neg_zero(d: Datum) -> bool:
    return d[0] == "float64" and d[1] == 0.0 and math.copysign(1.0, d[1]) < 0


class _Outcome:
    """A sub-expression's value, or the error it raised."""

    __slots__ = ("error", "value")

    def __init__(self, value: Datum | None, error: bool) -> None:
        self.value = value
        self.error = error

    @property
    def null(self) -> bool:
        return not self.error and self.value == NULL


def _run(fn: Callable[[Sequence[Datum]], Datum], row: Sequence[Datum]) -> _Outcome:
    try:
        return _Outcome(fn(row), False)
    except EvalError:
        return _Outcome(None, True)


class _MfpWatch:
    """Classifies what one MFP does to each row (cached per row)."""

    def __init__(self, mfp: plan_pb2.ProtoMapFilterProject) -> None:
        self.mfp = mfp
        self.arity = mfp.input_arity
        self._compiled: dict[int, Callable[[Sequence[Datum]], Datum]] = {}
        self._rows: dict[Row, frozenset[str]] = {}

    def _fn(self, e: plan_pb2.ProtoScalarExpr, arity: int) -> Callable[[Sequence[Datum]], Datum]:
        # Keyed by the serialized expression: protobuf sub-message wrappers have no stable id.
        key = hash((e.SerializeToString(deterministic=True), arity))
        fn = self._compiled.get(key)
        if fn is None:
            fn = self._compiled[key] = compile_expr(e, arity)
        return fn

    def cells(self, row: Row) -> frozenset[str]:
        known = self._rows.get(row)
        if known is None:
            found: set[str] = set()
            self._classify(row, found)
            known = frozenset(found)
            if len(self._rows) < _ROW_CACHE:
                self._rows[row] = known
        return known

    def _classify(self, row: Row, out: set[str]) -> None:
        mfp = self.mfp
        extended = list(row)
        projection = set(mfp.projection)
        for i, e in enumerate(mfp.expressions):
            arity = self.arity + i
            self._expr(e, arity, extended, out)
            result = _run(self._fn(e, arity), extended)
            if result.error:
                if arity not in projection:
                    out.add("mfp.error-projected-away")
                return
            assert result.value is not None
            extended.append(result.value)
        width = len(extended)
        for j, p in enumerate(mfp.predicates):
            self._expr(p, width, extended, out)
            verdict = _run(self._fn(p, width), extended)
            if verdict.error:
                out.add("mfp.error-predicate")
                return
            if verdict.null:
                out.add("mfp.null-predicate")
                return
            if verdict.value == ("bool", False):
                later = mfp.predicates[j + 1 :]
                if any(_run(self._fn(q, width), extended).error for q in later):
                    out.add("mfp.error-after-false")
                return

    def _expr(self, e: plan_pb2.ProtoScalarExpr, arity: int, row: Sequence[Datum], out: set[str]) -> None:
        """The cells of evaluating `e` on `row`; only the arguments that are evaluated count."""
        kind = e.WhichOneof("kind")
        if kind == "call_unary":
            inner = e.call_unary.expr
            self._expr(inner, arity, row, out)
            if e.call_unary.func == plan_pb2.PROTO_UNARY_FUNC_NEG:
                value = _run(self._fn(inner, arity), row)
                if not value.error and value.value == ("int64", INT64_MIN):
                    out.add("expr.neg-min")
        elif kind == "call_binary":
            call = e.call_binary
            self._expr(call.expr1, arity, row, out)
            self._expr(call.expr2, arity, row, out)
            a, b = _run(self._fn(call.expr1, arity), row), _run(self._fn(call.expr2, arity), row)
            if (a.null and b.error) or (b.null and a.error):
                out.add("expr.null-beside-error")
            elif not (a.error or b.error):
                assert a.value is not None and b.value is not None
                _binary_cells(call.func, a.value, b.value, out)
        elif kind == "call_variadic":
            call_v = e.call_variadic
            decisive = ("bool", call_v.func == plan_pb2.PROTO_VARIADIC_FUNC_OR)
            for i, arg in enumerate(call_v.exprs):
                self._expr(arg, arity, row, out)
                value = _run(self._fn(arg, arity), row)
                if value.error:
                    return
                if value.value == decisive:
                    rest = call_v.exprs[i + 1 :]
                    if any(_run(self._fn(x, arity), row).error for x in rest):
                        is_or = call_v.func == plan_pb2.PROTO_VARIADIC_FUNC_OR
                        out.add("expr.skipped-or" if is_or else "expr.skipped-and")
                    return


def _binary_cells(func: int, a: Datum, b: Datum, out: set[str]) -> None:
    if a == NULL or b == NULL:
        if func in _COMPARE:
            out.add("expr.null-compare")
        return
    if func in _COMPARE:
        if _is_nan(a) or _is_nan(b):
            out.add("expr.nan-compare")
        return
    divides = func == plan_pb2.PROTO_BINARY_FUNC_DIV
    if a[0] == "int64" and b[0] == "int64":
        x, y = a[1], b[1]
        if divides:
            if y == 0:
                out.add("expr.int-div-zero")
            elif x % y and (x < 0) != (y < 0):
                out.add("expr.int-div-truncates")
            if x == INT64_MIN and y == -1:
                out.add("expr.int-overflow")
            return
        if not INT64_MIN <= _exact(func, x, y) <= INT64_MAX:
            out.add("expr.int-overflow")
    elif a[0] == "float64" and b[0] == "float64":
        x, y = a[1], b[1]
        if divides and y == 0.0:
            out.add("expr.float-div-zero")
            return
        if math.isfinite(x) and math.isfinite(y) and math.isinf(_exact(func, x, y)):
            out.add("expr.float-inf")


def _exact(func: int, x: Any, y: Any) -> Any:
    """add, sub, mul or div (y non-zero) of two numbers, in Python's exact ints or in floats."""
    if func == plan_pb2.PROTO_BINARY_FUNC_ADD:
        return x + y
    if func == plan_pb2.PROTO_BINARY_FUNC_SUB:
        return x - y
    if func == plan_pb2.PROTO_BINARY_FUNC_MUL:
        return x * y
    return x / y if func == plan_pb2.PROTO_BINARY_FUNC_DIV and y else 0


def row_cells(rows: Iterable[Row]) -> set[str]:
    """Cells of the datums of judged rows (their encoding is what these edges test)."""
    out: set[str] = set()
    for row in rows:
        for kind, value in row:
            if kind == "float64":
                if math.isnan(value):
                    out.add("row.nan")
                elif math.isinf(value):
                    out.add("row.inf")
                elif value == int(value):
                    out.add("row.integral-float")
            elif kind == "bool":
                out.add("row.bool")
            elif kind == "int64" and not -_BIG <= value <= _BIG:
                out.add("row.big-int")
            elif kind == "string":
                if not value:
                    out.add("row.empty-string")
                elif len(value.encode()) > 255 and any(ord(ch) > 0xFFFF for ch in value):
                    out.add("row.long-string")
    return out


class EdgeWatch(ModelAdapter):
    """The model, answering as always, noting the cells its answers depend on."""

    def __init__(self, shards: ShardView, note: Note, *, strict: bool = False) -> None:
        super().__init__(shards)
        self._shards = shards
        self._note = note
        self._strict = strict  # tests: a classification bug raises instead of being skipped
        self._plans: dict[GlobalId, plan_pb2.ProtoPlan] = {}
        self._columns: dict[str, list[str]] = {}  # shard id -> column kinds
        self._seen: set[tuple[str, str, int]] = set()
        self._walked: set[tuple[GlobalId, int]] = set()
        self._mfps: dict[tuple[GlobalId, tuple[int, ...]], _MfpWatch] = {}
        self._compiled: dict[tuple[GlobalId, tuple[int, ...]], Plan] = {}
        self._kinds: dict[tuple[Any, ...], tuple[str, ...]] = {}

    # -- the model's answers ---------------------------------------------------------------

    def add_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
        super().add_dataflow(desc)
        for build in desc.objects_to_build:
            self._plans[gid_str(build.id)] = build.plan
        for source in desc.source_imports:
            meta = source.storage_metadata
            self._columns[meta.shard_id] = [_KIND_OF_SCALAR.get(c.scalar_type, "") for c in meta.relation_desc.columns]

    def contents(self, collection_id: GlobalId, t: int) -> Contents:
        result = super().contents(collection_id, t)
        self._guard(lambda: self._watch_collection(collection_id, t, result))
        return result

    def expected_peek(self, peek: command_pb2.ProtoPeek, since: int) -> PeekExpectationLike:
        result = super().expected_peek(peek, since)
        self._guard(lambda: self._watch_peek(peek, result))
        return result

    def check_finishing(
        self, returned: dict[Row, int], full: dict[Row, int], finishing: command_pb2.ProtoRowSetFinishing
    ) -> str | None:
        reason = super().check_finishing(returned, full, finishing)
        self._guard(lambda: self._watch_finishing(full, finishing))
        return reason

    # -- bookkeeping -------------------------------------------------------------------------

    def _guard(self, watch: Callable[[], None]) -> None:
        try:
            watch()
        except Exception:
            if self._strict:
                raise

    def _count(self, cells: Iterable[str], subject: str, t: int) -> None:
        for cell in cells:
            key = (cell, subject, t)
            if key not in self._seen:
                self._seen.add(key)
                self._note(cell)

    # -- collections -------------------------------------------------------------------------

    def _watch_collection(self, collection_id: GlobalId, t: int, result: Contents) -> None:
        if (collection_id, t) in self._walked:
            return
        self._walked.add((collection_id, t))
        model = self._model
        df = model.dataflow_of(collection_id)
        if df.is_empty():
            return
        try:
            export = model.export(collection_id)
        except KeyError:
            export = None  # a built object, not an export
        name = export.of if export is not None else collection_id
        cells: set[str] = set()
        shards: set[str] = set()
        times: set[int] = set()
        self._walk_object(df, name, df.effective_time(t), cells, shards, times)
        cells |= row_cells(result.rows)
        self._kinds_collide(result.rows, cells)
        for shard in shards:
            self._shard_cells(shard, t, cells)
        if df.until != EMPTY and t >= df.until and df.until in times:
            cells.add("until.update-at-until")
        if export is not None and export.kind == "subscribe" and export.up_to != EMPTY and export.up_to in times:
            cells.add("up-to.update-at-up-to")
        if export is not None and export.kind == "materialized_view":
            stale = any(time < df.as_of for _, time, _ in self._shards.updates(export.shard_id))
            cells |= {"mv.stale-target"} if stale else set()
        self._count(cells, collection_id, t)

    def _walk_object(self, df: Any, name: GlobalId, t: int, cells: set[str], shards: set[str], times: set[int]) -> None:
        """The cells of every operator of object `name` (and of what it reads) at time t."""
        if name in df.sources:
            shard = df.sources[name]
            shards.add(shard)
            times.update(max(time, df.as_of) for _, time, _ in self._shards.updates(shard))
            return
        plan = self._plans.get(name)
        if plan is None or name not in df.objects:  # an index import: its owner's object
            export = self._model.export(name)
            owner = self._model.dataflows[export.dataflow]
            if not owner.is_empty():
                self._walk_object(owner, export.of, owner.effective_time(t), cells, shards, times)
            return
        self._walk_plan(df, name, plan, (), t, cells, shards, times)

    def _walk_plan(
        self,
        df: Any,
        obj: GlobalId,
        plan: plan_pb2.ProtoPlan,
        path: tuple[int, ...],
        t: int,
        cells: set[str],
        shards: set[str],
        times: set[int],
    ) -> None:
        kind = plan.WhichOneof("kind")
        children = _children(plan)
        for i, child in enumerate(children):
            self._walk_plan(df, obj, child, (*path, i), t, cells, shards, times)
        if kind == "get":
            self._walk_object(df, gid_str(plan.get.id), t, cells, shards, times)
            return
        if kind == "constant":
            times.update(max(u.time, df.as_of) for u in plan.constant.updates)
            rows = [_signed_row(u.row) for u in plan.constant.updates if u.HasField("row") and u.time <= t]
            cells |= _identity_cells(rows)
            return
        if kind not in ("mfp", "reduce", "join", "negate", "threshold"):
            return
        inputs = [self._evaluate(df, obj, (*path, i), child, t) for i, child in enumerate(children)]
        if kind == "mfp":
            watch = self._mfp_watch(obj, path, plan.mfp.mfp)
            for row in inputs[0].rows:
                cells |= watch.cells(row)
        elif kind == "reduce":
            earlier = self._earlier(df, obj, t)
            before = self._evaluate(df, obj, (*path, 0), children[0], earlier) if earlier is not None else None
            cells |= _reduce_cells(plan.reduce, inputs[0], before)
        elif kind == "join":
            cells |= _join_cells(plan.join, inputs[0], inputs[1])
        else:
            if inputs[0].errors:
                cells.add(f"{kind}.errors")
            if kind == "threshold" and any(m < 0 for m in inputs[0].rows.values()):
                cells.add("threshold.negative")

    def _evaluate(self, df: Any, obj: GlobalId, path: tuple[int, ...], plan: plan_pb2.ProtoPlan, t: int) -> Contents:
        compiled = self._compiled.get((obj, path))
        if compiled is None:
            compiled = self._compiled[(obj, path)] = compile_plan(plan)
        model = self._model

        def get(gid: GlobalId) -> Contents:
            if gid in df.sources:
                return Contents(rows=self._shards.contents_at(df.sources[gid], t))
            result: Contents = model.contents(gid, t)
            return result

        return compiled.evaluate(t, get)

    def _earlier(self, df: Any, obj: GlobalId, t: int) -> int | None:
        """The latest time before t at which the object's contents may have changed."""
        before = [x for x in self._model.change_times(obj, df.as_of, t) if x < t]
        return max(before) if before else None

    def _mfp_watch(self, obj: GlobalId, path: tuple[int, ...], mfp: plan_pb2.ProtoMapFilterProject) -> _MfpWatch:
        watch = self._mfps.get((obj, path))
        if watch is None:
            watch = self._mfps[(obj, path)] = _MfpWatch(mfp)
        return watch

    def _shard_cells(self, shard: str, t: int, cells: set[str]) -> None:
        """Cells of an input shard as the collection read it at t: its nulls, and the updates
        whose identity a replica must get right (-0.0 beside 0.0, a NaN row met twice)."""
        kinds = self._columns.get(shard, [])
        rows = self._shards.contents_at(shard, t)
        for row in rows:
            for i, d in enumerate(row):
                if d == NULL and i < len(kinds) and kinds[i]:
                    cells.add(f"null.{kinds[i]}")
        self._kinds_collide(rows, cells)  # what the replica read, not only what it answered
        cells |= _identity_cells(row for row, time, _ in self._shards.updates(shard) if time <= t)

    def _kinds_collide(self, rows: Iterable[Row], cells: set[str]) -> None:
        """Rows of one iteration whose raw values are equal (1 == 1.0 == true in Python, as in
        many languages) but whose kinds differ: a replica that keys rows by value confuses them."""
        for row in rows:
            kinds = tuple(k for k, _ in row)
            if not any(k in ("bool", "float64") for k in kinds):
                continue
            raw = tuple(v for _, v in row)
            seen = self._kinds.setdefault(raw, kinds)
            if seen != kinds:
                cells.add("row.kinds-collide")

    # -- peeks -------------------------------------------------------------------------------

    def _watch_peek(self, peek: command_pb2.ProtoPeek, expected: PeekExpectationLike) -> None:
        subject = f"peek {peek.uuid.hi:x}:{peek.uuid.lo:x}"
        t = peek.timestamp
        cells: set[str] = set()
        kind = peek.WhichOneof("target")
        literals = [row_from_proto(r) for r in peek.key]
        if kind == "index":
            index = gid_str(peek.index.id)
            if t < self._model.as_of(index):
                return
            contents = self.contents(index, t)  # the target's own cells, as a judged collection
            rows = contents.rows
            key = tuple(self._model.export(index).key_columns)
            if literals:
                matching = {r: m for r, m in rows.items() if tuple(r[c] for c in key) in set(literals)}
                if key != tuple(range(len(key))) and rows:
                    cells.add("peek.literal-non-prefix")
                if len(set(literals)) < len(literals) and matching:
                    cells.add("peek.literal-repeated")
                rows = matching
        elif kind == "persist":
            shard = peek.persist.metadata.shard_id
            meta = peek.persist.metadata.relation_desc.columns
            self._columns.setdefault(shard, [_KIND_OF_SCALAR.get(c.scalar_type, "") for c in meta])
            if t < self._shards.since(shard):
                return
            rows = self._shards.contents_at(shard, t)
            self._shard_cells(shard, t, cells)
            if literals:
                rows = {r: m for r, m in rows.items() if r[: len(literals[0])] == literals[0]}
        else:
            return
        mfp = peek.map_filter_project.mfp
        if mfp.expressions or mfp.predicates:
            watch = _MfpWatch(mfp)
            for row in rows:
                cells |= watch.cells(row)
        cells |= row_cells(expected.rows)
        self._kinds_collide(expected.rows, cells)
        self._count(cells, subject, t)

    def _watch_finishing(self, full: dict[Row, int], finishing: command_pb2.ProtoRowSetFinishing) -> None:
        """A finishing that lets the replica thin (offset + limit below the answer's size),
        over an order-by column holding nulls or NaN beside other values."""
        if not finishing.HasField("limit") or not finishing.order_by:
            return
        n = finishing.offset + max(finishing.limit, 0)
        if not 0 < n < sum(full.values()):
            return
        cells: set[str] = set()
        for order in finishing.order_by:
            values = [r[order.column] for r in full if order.column < len(r)]
            nulls = sum(1 for v in values if v == NULL)
            if 0 < nulls < len(values):
                way = "desc" if order.desc else "asc"
                cells.add(f"finishing.nulls-{way}-{'last' if order.nulls_last else 'first'}")
            nans = sum(1 for v in values if _is_nan(v))
            if 0 < nans < len(values) - nulls:
                cells.add("finishing.nan")
        for cell in cells:
            self._note(cell)


def _signed_row(proto: common_pb2.ProtoRow) -> Row:
    """As `row_from_proto`, but a -0.0 stays -0.0 (the model's datums make it 0.0)."""
    row = row_from_proto(proto)
    return tuple(
        ("float64", -0.0) if d[0] == "float64" and d[1] == 0.0 and math.copysign(1.0, p.float64) < 0 else d
        for d, p in zip(row, proto.datums, strict=True)
    )


def _identity_cells(updates: Iterable[Row]) -> set[str]:
    """Rows a replica must recognise as equal across updates: -0.0 beside 0.0 in one column,
    a row holding NaN written more than once (or retracted)."""
    zeros: dict[int, set[bool]] = {}
    nan_rows: Counter[Row] = Counter()
    for row in updates:
        for i, d in enumerate(row):
            if d[0] == "float64" and d[1] == 0.0:
                zeros.setdefault(i, set()).add(_is_neg_zero(d))
        if any(_is_nan(d) for d in row):
            nan_rows[row] += 1
    out = set()
    if any(len(signs) == 2 for signs in zeros.values()):
        out.add("row.neg-zero")
    if any(n > 1 for n in nan_rows.values()):
        out.add("row.nan-consolidated")
    return out


def _children(plan: plan_pb2.ProtoPlan) -> list[plan_pb2.ProtoPlan]:
    kind = plan.WhichOneof("kind")
    if kind == "mfp":
        return [plan.mfp.input]
    if kind == "union":
        return list(plan.union.inputs)
    if kind == "negate":
        return [plan.negate.input]
    if kind == "threshold":
        return [plan.threshold.input]
    if kind == "join":
        return [plan.join.left, plan.join.right]
    if kind == "reduce":
        return [plan.reduce.input]
    return []


def _reduce_cells(reduce: plan_pb2.ProtoPlanReduce, c: Contents, before: Contents | None) -> set[str]:
    out: set[str] = set()
    key_cols = list(reduce.group_key)
    groups: dict[Row, list[tuple[Row, int]]] = {}
    for row, m in c.rows.items():
        groups.setdefault(tuple(row[i] for i in key_cols), []).append((row, m))
    if not key_cols and not c.rows:
        out.add("reduce.global-empty")
    if before is not None:
        earlier = {tuple(row[i] for i in key_cols) for row in before.rows}
        if earlier - set(groups):
            out.add("reduce.emptied")
    for key, members in groups.items():
        if any(d == NULL for d in key):
            out.add("reduce.null-key")
        if any(_is_nan(d) for d in key):
            out.add("reduce.nan-key")
        if any(m < 0 for _, m in members):
            out.add("reduce.negative")
            continue
        for agg in reduce.aggregates:
            column = agg.column
            if agg.func == plan_pb2.PROTO_AGGREGATE_FUNC_COUNT:
                if any(m > 1 for _, m in members):
                    out.add("reduce.count-multiplicity")
                continue
            values = [(row[column], m) for row, m in members]
            present = [(d, m) for d, m in values if d != NULL]
            if present and len(present) < len(values):
                out.add("reduce.null-agg")
            if agg.func == plan_pb2.PROTO_AGGREGATE_FUNC_SUM:
                total = sum(d[1] * m for d, m in present if d[0] == "int64")
                if not INT64_MIN <= total <= INT64_MAX:
                    out.add("reduce.sum-overflow")
            elif any(_is_nan(d) for d, _ in present) and any(not _is_nan(d) for d, _ in present):
                out.add("reduce.nan-agg")
    return out


def _join_cells(join: plan_pb2.ProtoPlanJoin, left: Contents, right: Contents) -> set[str]:
    for k in join.keys:
        left_null = any(row[k.left_column] == NULL for row in left.rows)
        if left_null and any(row[k.right_column] == NULL for row in right.rows):
            return {"join.null-key"}
    return set()
