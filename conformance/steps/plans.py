"""Plans and expressions from their JSON spelling to protobuf, with the output column types.

The suite must send well-typed plans (DF-1), and every index import, sink and materialized
view carries the relation shape of what it reads, so building a plan also infers its column
types (spec 5.3). A type error is reported like any other bad field: with its path.

Building also answers, conservatively, "could this collection ever hold an error?": DF-1
lets a materialized view or copy-to read only collections that never do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from compute_protocol.v1 import common_pb2, plan_pb2

from conformance.model.build import BINARY
from conformance.steps.values import FieldError, decode_column, decode_datum, decode_row, encode_column
from conformance.wire.ids import gid_proto
from conformance.wire.rows import Row, datum_to_proto, row_to_proto

Json = Any


@dataclass(frozen=True)
class ColType:
    """A column's kind (`int64`, ...; `null` for a bare null literal) and whether it may be null."""

    kind: str
    nullable: bool

    @staticmethod
    def of(col: common_pb2.ProtoColumnType) -> ColType:
        spelled = encode_column(col)
        return ColType(spelled.rstrip("?"), spelled.endswith("?"))

    @staticmethod
    def parse(spelled: str, path: str) -> ColType:
        return ColType.of(decode_column(spelled, path))

    def proto(self) -> common_pb2.ProtoColumnType:
        kind = "string" if self.kind == "null" else self.kind  # a column of bare nulls: any kind fits
        return decode_column(kind + ("?" if self.nullable else ""), "")

    def spelled(self) -> str:
        return encode_column(self.proto())

    def joins(self, other: ColType) -> bool:
        return self.kind == other.kind or "null" in (self.kind, other.kind)

    def merge(self, other: ColType) -> ColType:
        kind = other.kind if self.kind == "null" else self.kind
        return ColType(kind, self.nullable or other.nullable)


@dataclass(frozen=True)
class Input:
    """What a `Get` may read: its global id, columns, and whether it may ever hold errors."""

    gid: str
    columns: list[ColType]
    may_error: bool = False


@dataclass
class BuiltPlan:
    proto: plan_pb2.ProtoPlan
    columns: list[ColType]
    operators: set[str] = field(default_factory=set)
    may_error: bool = False


Resolver = Callable[[str, str], Input]  # (name, path) -> what the name reads

_UNARY: Final = {
    "not": plan_pb2.PROTO_UNARY_FUNC_NOT,
    "is_null": plan_pb2.PROTO_UNARY_FUNC_IS_NULL,
    "neg": plan_pb2.PROTO_UNARY_FUNC_NEG,
}
_COMPARE: Final = {name: BINARY[name] for name in ("eq", "not_eq", "lt", "lte", "gt", "gte")}
_ARITH: Final = {name: BINARY[name] for name in ("add", "sub", "mul", "div")}
_VARIADIC: Final = {"and": plan_pb2.PROTO_VARIADIC_FUNC_AND, "or": plan_pb2.PROTO_VARIADIC_FUNC_OR}
_AGGREGATES: Final = {
    "count": plan_pb2.PROTO_AGGREGATE_FUNC_COUNT,
    "sum": plan_pb2.PROTO_AGGREGATE_FUNC_SUM,
    "min": plan_pb2.PROTO_AGGREGATE_FUNC_MIN,
    "max": plan_pb2.PROTO_AGGREGATE_FUNC_MAX,
}
_BOOL: Final = ColType("bool", True)


@dataclass
class BuiltExpr:
    proto: plan_pb2.ProtoScalarExpr
    type: ColType
    may_error: bool  # arithmetic can fail (overflow, division by zero)


def build_expr(e: Json, cols: list[ColType], path: str) -> BuiltExpr:
    ((op, arg),) = e.items()
    here = f"{path}.{op}"
    if op == "column":
        if arg >= len(cols):
            raise FieldError(here, f"column {arg} does not exist; the input has {len(cols)} column(s)")
        return BuiltExpr(plan_pb2.ProtoScalarExpr(column=arg), cols[arg], False)
    if op == "literal":
        d = decode_datum(arg, here)
        return BuiltExpr(plan_pb2.ProtoScalarExpr(literal=datum_to_proto(d)), ColType(d[0], d[0] == "null"), False)
    if op in _UNARY:
        inner = build_expr(arg, cols, here)
        t = inner.type
        if op == "not" and not t.joins(_BOOL):
            raise FieldError(here, f"NOT needs a bool, got {t.kind}")
        if op == "neg" and t.kind not in ("int64", "float64", "null"):
            raise FieldError(here, f"NEG needs int64 or float64, got {t.kind}")
        out = ColType("bool", False) if op == "is_null" else t
        call = plan_pb2.ProtoCallUnary(func=_UNARY[op], expr=inner.proto)
        return BuiltExpr(plan_pb2.ProtoScalarExpr(call_unary=call), out, inner.may_error or op == "neg")
    if op in _COMPARE or op in _ARITH:
        left = build_expr(arg[0], cols, f"{here}[0]")
        right = build_expr(arg[1], cols, f"{here}[1]")
        if not left.type.joins(right.type):
            raise FieldError(here, f"both sides must have the same kind, got {left.type.kind} and {right.type.kind}")
        merged = left.type.merge(right.type)
        if op in _ARITH and merged.kind not in ("int64", "float64", "null"):
            raise FieldError(here, f"{op} needs int64 or float64, got {merged.kind}")
        call2 = plan_pb2.ProtoCallBinary(func=_COMPARE.get(op) or _ARITH[op], expr1=left.proto, expr2=right.proto)
        out = ColType("bool", merged.nullable) if op in _COMPARE else merged
        fallible = left.may_error or right.may_error or op in _ARITH
        return BuiltExpr(plan_pb2.ProtoScalarExpr(call_binary=call2), out, fallible)
    args = []
    nullable = fallible = False
    for i, sub in enumerate(arg):
        a = build_expr(sub, cols, f"{here}[{i}]")
        if not a.type.joins(_BOOL):
            raise FieldError(f"{here}[{i}]", f"{op.upper()} needs bool arguments, got {a.type.kind}")
        args.append(a.proto)
        nullable = nullable or a.type.nullable
        fallible = fallible or a.may_error
    call3 = plan_pb2.ProtoCallVariadic(func=_VARIADIC[op], exprs=args)
    return BuiltExpr(plan_pb2.ProtoScalarExpr(call_variadic=call3), ColType("bool", nullable), fallible)


def build_mfp(m: Json, cols: list[ColType], path: str) -> tuple[plan_pb2.ProtoMapFilterProject, list[ColType], bool]:
    """Expressions append columns (each may read earlier ones), predicates filter, projection keeps.

    Returns the MFP, its output columns, and whether evaluating it may produce an error."""
    work = list(cols)
    mfp = plan_pb2.ProtoMapFilterProject(input_arity=len(cols))
    fallible = False
    for i, e in enumerate(m.get("expressions", [])):
        built = build_expr(e, work, f"{path}.expressions[{i}]")
        mfp.expressions.append(built.proto)
        work.append(built.type)
        fallible = fallible or built.may_error
    for i, e in enumerate(m.get("predicates", [])):
        built = build_expr(e, work, f"{path}.predicates[{i}]")
        if not built.type.joins(_BOOL):
            raise FieldError(f"{path}.predicates[{i}]", f"a predicate must be bool, got {built.type.kind}")
        mfp.predicates.append(built.proto)
        fallible = fallible or built.may_error
    projection = m.get("projection", list(range(len(work))))
    for i, c in enumerate(projection):
        if c >= len(work):
            raise FieldError(f"{path}.projection[{i}]", f"column {c} does not exist; there are {len(work)}")
    mfp.projection.extend(projection)
    return mfp, [work[c] for c in projection], fallible


def build_plan(p: Json, resolve: Resolver, path: str) -> BuiltPlan:
    ((op, arg),) = p.items()
    here = f"{path}.{op}"
    if op == "get":
        src = resolve(arg, here)
        return BuiltPlan(
            plan_pb2.ProtoPlan(get=plan_pb2.ProtoPlanGet(id=gid_proto(src.gid))),
            list(src.columns),
            {op},
            src.may_error,
        )
    if op == "constant":
        return _build_constant(arg, here)
    if op == "mfp":
        inner = build_plan(arg["input"], resolve, f"{here}.input")
        mfp, out, fallible = build_mfp(arg, inner.columns, here)
        return BuiltPlan(
            plan_pb2.ProtoPlan(mfp=plan_pb2.ProtoPlanMfp(input=inner.proto, mfp=mfp)),
            out,
            inner.operators | {op},
            inner.may_error or fallible,
        )
    if op == "union":
        parts = [build_plan(sub, resolve, f"{here}[{i}]") for i, sub in enumerate(arg)]
        out_cols = parts[0].columns
        for i, part in enumerate(parts[1:], start=1):
            if len(part.columns) != len(out_cols) or not all(
                a.joins(b) for a, b in zip(part.columns, out_cols, strict=True)
            ):
                raise FieldError(f"{here}[{i}]", "union inputs must have the same column kinds")
            out_cols = [a.merge(b) for a, b in zip(out_cols, part.columns, strict=True)]
        return BuiltPlan(
            plan_pb2.ProtoPlan(union=plan_pb2.ProtoPlanUnion(inputs=[x.proto for x in parts])),
            out_cols,
            {op}.union(*(x.operators for x in parts)),
            any(x.may_error for x in parts),
        )
    if op in ("negate", "threshold"):
        inner = build_plan(arg, resolve, here)
        proto = (
            plan_pb2.ProtoPlan(negate=plan_pb2.ProtoPlanNegate(input=inner.proto))
            if op == "negate"
            else plan_pb2.ProtoPlan(threshold=plan_pb2.ProtoPlanThreshold(input=inner.proto))
        )
        return BuiltPlan(proto, inner.columns, inner.operators | {op}, inner.may_error)
    if op == "join":
        left = build_plan(arg["left"], resolve, f"{here}.left")
        right = build_plan(arg["right"], resolve, f"{here}.right")
        join = plan_pb2.ProtoPlanJoin(left=left.proto, right=right.proto)
        for i, (lc, rc) in enumerate(arg.get("keys", [])):
            if lc >= len(left.columns) or rc >= len(right.columns) or not left.columns[lc].joins(right.columns[rc]):
                raise FieldError(f"{here}.keys[{i}]", "key columns must exist on both sides and have the same kind")
            join.keys.append(plan_pb2.ProtoJoinKey(left_column=lc, right_column=rc))
        return BuiltPlan(
            plan_pb2.ProtoPlan(join=join),
            left.columns + right.columns,
            left.operators | right.operators | {op},
            left.may_error or right.may_error,
        )
    return _build_reduce(arg, resolve, here)


def _build_constant(arg: Json, here: str) -> BuiltPlan:
    cols = [ColType.parse(c, f"{here}.columns[{i}]") for i, c in enumerate(arg["columns"])]
    const = plan_pb2.ProtoPlanConstant(arity=len(cols))
    has_error = False
    for i, u in enumerate(arg["updates"]):
        upath = f"{here}.updates[{i}]"
        if ("row" in u) == ("error" in u):
            raise FieldError(upath, "an update holds exactly one of row and error")
        update = plan_pb2.ProtoConstantUpdate(time=u["time"], diff=u["diff"])
        if "row" in u:
            row = decode_row(u["row"], f"{upath}.row")
            check_row_fits(row, cols, f"{upath}.row")
            update.row.CopyFrom(row_to_proto(row))
        else:
            update.error = u["error"]
            has_error = True
        const.updates.append(update)
    return BuiltPlan(plan_pb2.ProtoPlan(constant=const), cols, {"constant"}, has_error)


def _build_reduce(arg: Json, resolve: Resolver, here: str) -> BuiltPlan:
    inner = build_plan(arg["input"], resolve, f"{here}.input")
    cols = inner.columns
    reduce = plan_pb2.ProtoPlanReduce(input=inner.proto)
    out = []
    for i, k in enumerate(arg.get("group_key", [])):
        if k >= len(cols):
            raise FieldError(f"{here}.group_key[{i}]", f"column {k} does not exist; the input has {len(cols)}")
        reduce.group_key.append(k)
        out.append(cols[k])
    for i, agg in enumerate(arg.get("aggregates", [])):
        func, c = agg["func"], agg["column"]
        if c >= len(cols):
            raise FieldError(f"{here}.aggregates[{i}].column", f"column {c} does not exist")
        if func == "sum" and cols[c].kind != "int64":
            raise FieldError(f"{here}.aggregates[{i}]", f"sum needs an int64 column, got {cols[c].kind}")
        reduce.aggregates.append(plan_pb2.ProtoAggregate(func=_AGGREGATES[func], column=c))
        out.append(
            ColType("int64", False) if func == "count" else ColType("int64" if func == "sum" else cols[c].kind, True)
        )
    # A group with a negative multiplicity yields an error (spec 5.3), and SUM can overflow.
    return BuiltPlan(plan_pb2.ProtoPlan(reduce=reduce), out, inner.operators | {"reduce"}, True)


def check_row_fits(row: Row, cols: list[ColType], path: str) -> None:
    if len(row) != len(cols):
        raise FieldError(path, f"row has {len(row)} datum(s), the collection has {len(cols)} column(s)")
    for i, (d, c) in enumerate(zip(row, cols, strict=True)):
        if not (d[0] == c.kind or (d[0] == "null" and c.nullable)):
            raise FieldError(f"{path}[{i}]", f"{d[0]} datum in a column of {c.spelled()}")


def relation_desc(cols: list[ColType]) -> common_pb2.ProtoRelationDesc:
    return common_pb2.ProtoRelationDesc(columns=[c.proto() for c in cols])
