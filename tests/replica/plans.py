"""Builders for commands, plans and dataflow descriptions, so tests read like the spec.

Rows in tests are tuples of Python values: None, bool, int (int64), float, str, bytes.
`value_key` turns a datum into (kind, value) so that assertions never confuse int64 1 with
bool true.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, cast

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2, plan_pb2, response_pb2

Value = Any
Row = tuple[Value, ...]
EMPTY = None  # the empty frontier, in builder arguments

# --- values ------------------------------------------------------------------------------


def datum(v: Value) -> common_pb2.ProtoDatum:
    if v is None:
        return common_pb2.ProtoDatum(null=common_pb2.ProtoNull())
    if isinstance(v, bool):
        return common_pb2.ProtoDatum(bool=v)
    if isinstance(v, int):
        return common_pb2.ProtoDatum(int64=v)
    if isinstance(v, float):
        return common_pb2.ProtoDatum(float64=v)
    if isinstance(v, str):
        return common_pb2.ProtoDatum(string=v)
    if isinstance(v, bytes):
        return common_pb2.ProtoDatum(bytes=v)
    raise TypeError(v)


def row(*values: Value) -> common_pb2.ProtoRow:
    return common_pb2.ProtoRow(datums=[datum(v) for v in values])


def value_of(d: common_pb2.ProtoDatum) -> Value:
    kind = d.WhichOneof("kind")
    assert kind is not None, "a datum with no kind"
    return None if kind == "null" else getattr(d, kind)


def values_of(r: common_pb2.ProtoRow) -> Row:
    return tuple(value_of(d) for d in r.datums)


def value_key(v: Value) -> tuple[str, Value]:
    return (type(v).__name__, v)


def row_key(values: Sequence[Value]) -> tuple[tuple[str, Value], ...]:
    return tuple(value_key(v) for v in values)


def keyed(rows: Iterable[tuple[Sequence[Value], int]]) -> Counter[tuple[tuple[str, Value], ...]]:
    """A multiset of rows with their counts, in a kind-exact form for assertions."""
    out: Counter[tuple[tuple[str, Value], ...]] = Counter()
    for r, count in rows:
        out[row_key(r)] += count
    return Counter({k: v for k, v in out.items() if v != 0})


def peek_rows(response: response_pb2.ProtoPeekResponse) -> Counter[tuple[tuple[str, Value], ...]]:
    assert response.WhichOneof("kind") == "rows", f"expected Rows, got {response}"
    return keyed((values_of(e.row), e.count) for e in response.rows.rows)


def antichain(t: int | None) -> common_pb2.ProtoU64Antichain:
    return common_pb2.ProtoU64Antichain(elements=[] if t is None else [t])


def gid(n: int) -> common_pb2.ProtoGlobalId:
    return common_pb2.ProtoGlobalId(user=n)


# --- scalar expressions and MFPs -----------------------------------------------------------

B = plan_pb2


def col(i: int) -> plan_pb2.ProtoScalarExpr:
    return plan_pb2.ProtoScalarExpr(column=i)


def lit(v: Value) -> plan_pb2.ProtoScalarExpr:
    return plan_pb2.ProtoScalarExpr(literal=datum(v))


def unary(func: int, e: plan_pb2.ProtoScalarExpr) -> plan_pb2.ProtoScalarExpr:
    return plan_pb2.ProtoScalarExpr(
        call_unary=plan_pb2.ProtoCallUnary(func=cast("plan_pb2.ProtoUnaryFunc.ValueType", func), expr=e)
    )


def binary(func: int, a: plan_pb2.ProtoScalarExpr, b: plan_pb2.ProtoScalarExpr) -> plan_pb2.ProtoScalarExpr:
    return plan_pb2.ProtoScalarExpr(
        call_binary=plan_pb2.ProtoCallBinary(
            func=cast("plan_pb2.ProtoBinaryFunc.ValueType", func), expr1=a, expr2=b
        )
    )


def variadic(func: int, *args: plan_pb2.ProtoScalarExpr) -> plan_pb2.ProtoScalarExpr:
    return plan_pb2.ProtoScalarExpr(
        call_variadic=plan_pb2.ProtoCallVariadic(
            func=cast("plan_pb2.ProtoVariadicFunc.ValueType", func), exprs=args
        )
    )


def mfp(
    input_arity: int,
    projection: Sequence[int] | None = None,
    expressions: Sequence[plan_pb2.ProtoScalarExpr] = (),
    predicates: Sequence[plan_pb2.ProtoScalarExpr] = (),
) -> plan_pb2.ProtoMapFilterProject:
    if projection is None:
        projection = range(input_arity)
    return plan_pb2.ProtoMapFilterProject(
        expressions=expressions, predicates=predicates, projection=projection, input_arity=input_arity
    )


# --- plans -------------------------------------------------------------------------------

Update = tuple[Sequence[Value] | str, int, int]  # (row, time, diff); a str is an error


def constant(arity: int, updates: Iterable[Update]) -> plan_pb2.ProtoPlan:
    out = plan_pb2.ProtoPlanConstant(arity=arity)
    for data, time, diff in updates:
        u = out.updates.add(time=time, diff=diff)
        if isinstance(data, str):
            u.error = data
        else:
            u.row.CopyFrom(row(*data))
    return plan_pb2.ProtoPlan(constant=out)


def get(n: int) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(get=plan_pb2.ProtoPlanGet(id=gid(n)))


def mfp_plan(input_: plan_pb2.ProtoPlan, m: plan_pb2.ProtoMapFilterProject) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(mfp=plan_pb2.ProtoPlanMfp(input=input_, mfp=m))


def union(*inputs: plan_pb2.ProtoPlan) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(union=plan_pb2.ProtoPlanUnion(inputs=inputs))


def negate(input_: plan_pb2.ProtoPlan) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(negate=plan_pb2.ProtoPlanNegate(input=input_))


def threshold(input_: plan_pb2.ProtoPlan) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(threshold=plan_pb2.ProtoPlanThreshold(input=input_))


def join(
    left: plan_pb2.ProtoPlan, right: plan_pb2.ProtoPlan, keys: Sequence[tuple[int, int]]
) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(
        join=plan_pb2.ProtoPlanJoin(
            left=left,
            right=right,
            keys=[plan_pb2.ProtoJoinKey(left_column=a, right_column=b) for a, b in keys],
        )
    )


def reduce(
    input_: plan_pb2.ProtoPlan, group_key: Sequence[int], aggregates: Sequence[tuple[int, int]]
) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(
        reduce=plan_pb2.ProtoPlanReduce(
            input=input_,
            group_key=group_key,
            aggregates=[
                plan_pb2.ProtoAggregate(func=cast("plan_pb2.ProtoAggregateFunc.ValueType", f), column=c)
                for f, c in aggregates
            ],
        )
    )


# --- dataflow descriptions ------------------------------------------------------------------


def relation(arity: int) -> common_pb2.ProtoRelationDesc:
    return common_pb2.ProtoRelationDesc(columns=[common_pb2.ProtoColumnType() for _ in range(arity)])


def source(n: int, address: str, shard: str, arity: int) -> dataflow_pb2.ProtoSourceImport:
    return dataflow_pb2.ProtoSourceImport(
        id=gid(n),
        storage_metadata=common_pb2.ProtoCollectionMetadata(
            storage_address=address, shard_id=shard, relation_desc=relation(arity)
        ),
    )


def index_import(n: int, arity: int, key: Sequence[int]) -> dataflow_pb2.ProtoIndexImport:
    return dataflow_pb2.ProtoIndexImport(id=gid(n), desc=relation(arity), key_columns=key)


def index_export(n: int, on: int, key: Sequence[int]) -> dataflow_pb2.ProtoIndexExport:
    return dataflow_pb2.ProtoIndexExport(id=gid(n), on_id=gid(on), key_columns=key)


def subscribe(
    n: int, from_: int, with_snapshot: bool = True, up_to: int | None = None
) -> dataflow_pb2.ProtoSinkExport:
    desc = dataflow_pb2.ProtoComputeSinkDesc(
        connection=dataflow_pb2.ProtoComputeSinkConnection(subscribe=dataflow_pb2.ProtoSubscribeConnection()),
        with_snapshot=with_snapshot,
        up_to=antichain(up_to),
    )
    getattr(desc, "from").CopyFrom(gid(from_))
    return dataflow_pb2.ProtoSinkExport(id=gid(n), sink_desc=desc)


def materialized_view(
    n: int, from_: int, address: str, shard: str, arity: int
) -> dataflow_pb2.ProtoSinkExport:
    meta = common_pb2.ProtoCollectionMetadata(
        storage_address=address, shard_id=shard, relation_desc=relation(arity)
    )
    desc = dataflow_pb2.ProtoComputeSinkDesc(
        connection=dataflow_pb2.ProtoComputeSinkConnection(
            materialized_view=dataflow_pb2.ProtoMaterializedViewConnection(
                value_desc=relation(arity), storage_metadata=meta
            )
        ),
        with_snapshot=True,
        up_to=antichain(None),
    )
    getattr(desc, "from").CopyFrom(gid(from_))
    return dataflow_pb2.ProtoSinkExport(id=gid(n), sink_desc=desc)


def copy_to(n: int, from_: int, address: str, key: str) -> dataflow_pb2.ProtoSinkExport:
    desc = dataflow_pb2.ProtoComputeSinkDesc(
        connection=dataflow_pb2.ProtoComputeSinkConnection(
            copy_to=dataflow_pb2.ProtoCopyToConnection(storage_address=address, blob_key=key)
        ),
        with_snapshot=True,
        up_to=antichain(None),
    )
    getattr(desc, "from").CopyFrom(gid(from_))
    return dataflow_pb2.ProtoSinkExport(id=gid(n), sink_desc=desc)


def dataflow(
    as_of: int,
    objects: Sequence[tuple[int, plan_pb2.ProtoPlan]] = (),
    indexes: Sequence[dataflow_pb2.ProtoIndexExport] = (),
    sinks: Sequence[dataflow_pb2.ProtoSinkExport] = (),
    sources: Sequence[dataflow_pb2.ProtoSourceImport] = (),
    index_imports: Sequence[dataflow_pb2.ProtoIndexImport] = (),
    until: int | None = None,
    name: str = "",
) -> dataflow_pb2.ProtoDataflowDescription:
    desc = dataflow_pb2.ProtoDataflowDescription(
        source_imports=sources,
        index_imports=index_imports,
        objects_to_build=[dataflow_pb2.ProtoBuildDesc(id=gid(n), plan=p) for n, p in objects],
        index_exports=indexes,
        sink_exports=sinks,
        as_of=antichain(as_of),
        debug_name=name,
    )
    if until is not None:
        desc.until.CopyFrom(antichain(until))
    return desc


# --- commands ----------------------------------------------------------------------------

Cmd = command_pb2.ProtoComputeCommand


def create_timely(epoch: int = 1, workers: int = 1) -> Cmd:
    return Cmd(
        create_timely=command_pb2.ProtoCreateTimely(
            config=common_pb2.ProtoTimelyConfig(workers=workers, process=0, addresses=["localhost:0"]),
            epoch=common_pb2.ProtoClusterStartupEpoch(envd=1, replica=epoch),
        )
    )


def create_instance() -> Cmd:
    return Cmd(create_instance=command_pb2.ProtoInstanceConfig(logging=command_pb2.ProtoLoggingConfig()))


def initialization_complete() -> Cmd:
    cmd = Cmd()
    cmd.initialization_complete.SetInParent()
    return cmd


def allow_writes() -> Cmd:
    cmd = Cmd()
    cmd.allow_writes.SetInParent()
    return cmd


def create_dataflow(desc: dataflow_pb2.ProtoDataflowDescription) -> Cmd:
    return Cmd(create_dataflow=desc)


def schedule(n: int) -> Cmd:
    return Cmd(schedule=gid(n))


def allow_compaction(n: int, frontier: int | None) -> Cmd:
    return Cmd(allow_compaction=command_pb2.ProtoCompaction(id=gid(n), frontier=antichain(frontier)))


def uuid(n: int) -> common_pb2.ProtoU128:
    return common_pb2.ProtoU128(hi=n >> 64, lo=n & ((1 << 64) - 1))


def peek(
    n: int,
    index: int,
    time: int,
    arity: int,
    keys: Sequence[Sequence[Value]] = (),
    map_filter_project: plan_pb2.ProtoMapFilterProject | None = None,
    finishing: command_pb2.ProtoRowSetFinishing | None = None,
    otel: dict[str, str] | None = None,
) -> Cmd:
    p = command_pb2.ProtoPeek(
        key=[row(*k) for k in keys],
        uuid=uuid(n),
        timestamp=time,
        finishing=finishing or command_pb2.ProtoRowSetFinishing(),
        map_filter_project=plan_pb2.ProtoSafeMfpPlan(mfp=map_filter_project or mfp(arity)),
        otel_ctx=otel or {},
        index=command_pb2.ProtoIndexTarget(id=gid(index)),
    )
    return Cmd(peek=p)


def persist_peek(
    n: int,
    collection: int,
    address: str,
    shard: str,
    time: int,
    arity: int,
    keys: Sequence[Sequence[Value]] = (),
    map_filter_project: plan_pb2.ProtoMapFilterProject | None = None,
) -> Cmd:
    p = command_pb2.ProtoPeek(
        key=[row(*k) for k in keys],
        uuid=uuid(n),
        timestamp=time,
        finishing=command_pb2.ProtoRowSetFinishing(),
        map_filter_project=plan_pb2.ProtoSafeMfpPlan(mfp=map_filter_project or mfp(arity)),
        persist=command_pb2.ProtoPersistTarget(
            id=gid(collection),
            metadata=common_pb2.ProtoCollectionMetadata(
                storage_address=address, shard_id=shard, relation_desc=relation(arity)
            ),
        ),
    )
    return Cmd(peek=p)


def cancel_peek(n: int) -> Cmd:
    return Cmd(cancel_peek=uuid(n))


def update_configuration(max_result_size: int | None = None, dyncfg: dict[str, str] | None = None) -> Cmd:
    params = command_pb2.ProtoComputeParameters()
    if max_result_size is not None:
        params.max_result_size = max_result_size
    if dyncfg:
        params.dyncfg_updates.updates.update(dyncfg)
    return Cmd(update_configuration=params)
