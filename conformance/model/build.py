"""Terse constructors for plan-language protos: expressions, MFPs, plans, dataflows, peeks.

The suite writes plans by hand in tests, scenarios and state machines; these keep them
readable (`mfp_plan(get("u1"), mfp(2, predicates=[gt(col(0), lit(3))]))`). Values are plain
Python (None, bool, int, float, str, bytes) as in `rows.row`; ids are strings as in `ids`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2, plan_pb2

from conformance.wire import frontiers
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import GlobalId, gid_proto, uuid_proto
from conformance.wire.rows import Row, datum_to_proto, row, row_to_proto

Expr = plan_pb2.ProtoScalarExpr
Plan = plan_pb2.ProtoPlan

# -- scalar expressions -----------------------------------------------------------------


def col(i: int) -> Expr:
    return Expr(column=i)


def lit(value: Any) -> Expr:
    return Expr(literal=datum_to_proto(row(value)[0]))


def _unary(func: plan_pb2.ProtoUnaryFunc.ValueType, e: Expr) -> Expr:
    return Expr(call_unary=plan_pb2.ProtoCallUnary(func=func, expr=e))


def not_(e: Expr) -> Expr:
    return _unary(plan_pb2.PROTO_UNARY_FUNC_NOT, e)


def is_null(e: Expr) -> Expr:
    return _unary(plan_pb2.PROTO_UNARY_FUNC_IS_NULL, e)


def neg(e: Expr) -> Expr:
    return _unary(plan_pb2.PROTO_UNARY_FUNC_NEG, e)


BINARY = {
    "eq": plan_pb2.PROTO_BINARY_FUNC_EQ,
    "not_eq": plan_pb2.PROTO_BINARY_FUNC_NOT_EQ,
    "lt": plan_pb2.PROTO_BINARY_FUNC_LT,
    "lte": plan_pb2.PROTO_BINARY_FUNC_LTE,
    "gt": plan_pb2.PROTO_BINARY_FUNC_GT,
    "gte": plan_pb2.PROTO_BINARY_FUNC_GTE,
    "add": plan_pb2.PROTO_BINARY_FUNC_ADD,
    "sub": plan_pb2.PROTO_BINARY_FUNC_SUB,
    "mul": plan_pb2.PROTO_BINARY_FUNC_MUL,
    "div": plan_pb2.PROTO_BINARY_FUNC_DIV,
}


def binary(name: str, a: Expr, b: Expr) -> Expr:
    return Expr(call_binary=plan_pb2.ProtoCallBinary(func=BINARY[name], expr1=a, expr2=b))


def eq(a: Expr, b: Expr) -> Expr:
    return binary("eq", a, b)


def lt(a: Expr, b: Expr) -> Expr:
    return binary("lt", a, b)


def gt(a: Expr, b: Expr) -> Expr:
    return binary("gt", a, b)


def add(a: Expr, b: Expr) -> Expr:
    return binary("add", a, b)


def div(a: Expr, b: Expr) -> Expr:
    return binary("div", a, b)


def and_(*args: Expr) -> Expr:
    return Expr(call_variadic=plan_pb2.ProtoCallVariadic(func=plan_pb2.PROTO_VARIADIC_FUNC_AND, exprs=args))


def or_(*args: Expr) -> Expr:
    return Expr(call_variadic=plan_pb2.ProtoCallVariadic(func=plan_pb2.PROTO_VARIADIC_FUNC_OR, exprs=args))


def mfp(
    input_arity: int,
    expressions: Sequence[Expr] = (),
    predicates: Sequence[Expr] = (),
    projection: Sequence[int] | None = None,
) -> plan_pb2.ProtoMapFilterProject:
    """Projection defaults to every column, input and mapped."""
    if projection is None:
        projection = range(input_arity + len(expressions))
    return plan_pb2.ProtoMapFilterProject(expressions=expressions, predicates=predicates,
                                          projection=projection, input_arity=input_arity)


# -- plans -------------------------------------------------------------------------------


def get(gid: GlobalId) -> Plan:
    return Plan(get=plan_pb2.ProtoPlanGet(id=gid_proto(gid)))


def constant(arity: int, updates: Iterable[tuple[Row | str, int, int]]) -> Plan:
    """Updates are (row, time, diff), or (error string, time, diff)."""
    protos = []
    for value, t, diff in updates:
        if isinstance(value, str):
            protos.append(plan_pb2.ProtoConstantUpdate(error=value, time=t, diff=diff))
        else:
            protos.append(plan_pb2.ProtoConstantUpdate(row=row_to_proto(value), time=t, diff=diff))
    return Plan(constant=plan_pb2.ProtoPlanConstant(arity=arity, updates=protos))


def mfp_plan(input: Plan, m: plan_pb2.ProtoMapFilterProject) -> Plan:
    return Plan(mfp=plan_pb2.ProtoPlanMfp(input=input, mfp=m))


def union(*inputs: Plan) -> Plan:
    return Plan(union=plan_pb2.ProtoPlanUnion(inputs=inputs))


def negate(input: Plan) -> Plan:
    return Plan(negate=plan_pb2.ProtoPlanNegate(input=input))


def threshold(input: Plan) -> Plan:
    return Plan(threshold=plan_pb2.ProtoPlanThreshold(input=input))


def join(left: Plan, right: Plan, keys: Sequence[tuple[int, int]] = ()) -> Plan:
    protos = [plan_pb2.ProtoJoinKey(left_column=lc, right_column=rc) for lc, rc in keys]
    return Plan(join=plan_pb2.ProtoPlanJoin(left=left, right=right, keys=protos))


AGGREGATES = {
    "count": plan_pb2.PROTO_AGGREGATE_FUNC_COUNT,
    "sum": plan_pb2.PROTO_AGGREGATE_FUNC_SUM,
    "min": plan_pb2.PROTO_AGGREGATE_FUNC_MIN,
    "max": plan_pb2.PROTO_AGGREGATE_FUNC_MAX,
}


def reduce(input: Plan, group_key: Sequence[int], aggregates: Sequence[tuple[str, int]]) -> Plan:
    """aggregates: (name, column) with name one of count, sum, min, max."""
    protos = [plan_pb2.ProtoAggregate(func=AGGREGATES[name], column=c) for name, c in aggregates]
    return Plan(reduce=plan_pb2.ProtoPlanReduce(input=input, group_key=group_key, aggregates=protos))


# -- dataflow descriptions -----------------------------------------------------------------


def source_import(gid: GlobalId, shard_id: str, storage_address: str = "") -> dataflow_pb2.ProtoSourceImport:
    meta = common_pb2.ProtoCollectionMetadata(storage_address=storage_address, shard_id=shard_id)
    return dataflow_pb2.ProtoSourceImport(id=gid_proto(gid), storage_metadata=meta)


def index_export(gid: GlobalId, on: GlobalId, key_columns: Sequence[int]) -> dataflow_pb2.ProtoIndexExport:
    return dataflow_pb2.ProtoIndexExport(id=gid_proto(gid), on_id=gid_proto(on), key_columns=key_columns)


def _sink(gid: GlobalId, of: GlobalId, connection: dataflow_pb2.ProtoComputeSinkConnection,
          with_snapshot: bool, up_to: Frontier) -> dataflow_pb2.ProtoSinkExport:
    desc = dataflow_pb2.ProtoComputeSinkDesc(connection=connection, with_snapshot=with_snapshot,
                                             up_to=frontiers.to_proto(up_to))
    getattr(desc, "from").CopyFrom(gid_proto(of))
    return dataflow_pb2.ProtoSinkExport(id=gid_proto(gid), sink_desc=desc)


def subscribe_export(gid: GlobalId, of: GlobalId, *, with_snapshot: bool = True,
                     up_to: Frontier = EMPTY) -> dataflow_pb2.ProtoSinkExport:
    connection = dataflow_pb2.ProtoComputeSinkConnection(subscribe=dataflow_pb2.ProtoSubscribeConnection())
    return _sink(gid, of, connection, with_snapshot, up_to)


def materialized_view_export(gid: GlobalId, of: GlobalId, shard_id: str,
                             storage_address: str = "") -> dataflow_pb2.ProtoSinkExport:
    meta = common_pb2.ProtoCollectionMetadata(storage_address=storage_address, shard_id=shard_id)
    view = dataflow_pb2.ProtoMaterializedViewConnection(storage_metadata=meta)
    connection = dataflow_pb2.ProtoComputeSinkConnection(materialized_view=view)
    return _sink(gid, of, connection, True, EMPTY)


def copy_to_export(gid: GlobalId, of: GlobalId, blob_key: str,
                   storage_address: str = "") -> dataflow_pb2.ProtoSinkExport:
    copy = dataflow_pb2.ProtoCopyToConnection(storage_address=storage_address, blob_key=blob_key)
    connection = dataflow_pb2.ProtoComputeSinkConnection(copy_to=copy)
    return _sink(gid, of, connection, True, EMPTY)


def dataflow(
    *,
    as_of: int,
    until: Frontier = EMPTY,
    sources: Sequence[dataflow_pb2.ProtoSourceImport] = (),
    index_imports: Sequence[GlobalId] = (),
    objects: Sequence[tuple[GlobalId, Plan]] = (),
    index_exports: Sequence[dataflow_pb2.ProtoIndexExport] = (),
    sink_exports: Sequence[dataflow_pb2.ProtoSinkExport] = (),
    debug_name: str = "",
) -> dataflow_pb2.ProtoDataflowDescription:
    return dataflow_pb2.ProtoDataflowDescription(
        source_imports=sources,
        index_imports=[dataflow_pb2.ProtoIndexImport(id=gid_proto(i)) for i in index_imports],
        objects_to_build=[dataflow_pb2.ProtoBuildDesc(id=gid_proto(i), plan=p) for i, p in objects],
        index_exports=index_exports,
        sink_exports=sink_exports,
        as_of=frontiers.to_proto(as_of),
        until=frontiers.to_proto(until),
        debug_name=debug_name,
    )


# -- peeks -------------------------------------------------------------------------------


def finishing(order_by: Sequence[tuple[int, bool, bool]] = (), *, limit: int | None = None,
              offset: int = 0, project: Sequence[int] = ()) -> command_pb2.ProtoRowSetFinishing:
    """order_by: (column, desc, nulls_last)."""
    orders = [command_pb2.ProtoColumnOrder(column=c, desc=d, nulls_last=n) for c, d, n in order_by]
    f = command_pb2.ProtoRowSetFinishing(order_by=orders, offset=offset, project=project)
    if limit is not None:
        f.limit = limit
    return f


def peek(
    uuid: str,
    t: int,
    *,
    index: GlobalId | None = None,
    shard_id: str | None = None,
    arity: int,
    key: Sequence[Row] = (),
    map_filter_project: plan_pb2.ProtoMapFilterProject | None = None,
    finish: command_pb2.ProtoRowSetFinishing | None = None,
    persist_id: GlobalId = "u0",
) -> command_pb2.ProtoPeek:
    """An index peek (`index=`) or a persist peek (`shard_id=`); the MFP defaults to the
    identity over `arity` columns."""
    m = map_filter_project if map_filter_project is not None else mfp(arity)
    p = command_pb2.ProtoPeek(
        key=[row_to_proto(r) for r in key],
        uuid=uuid_proto(uuid),
        timestamp=t,
        finishing=finish if finish is not None else command_pb2.ProtoRowSetFinishing(),
        map_filter_project=plan_pb2.ProtoSafeMfpPlan(mfp=m),
    )
    if index is not None:
        p.index.id.CopyFrom(gid_proto(index))
    elif shard_id is not None:
        p.persist.metadata.shard_id = shard_id
        p.persist.id.CopyFrom(gid_proto(persist_id))
    return p

