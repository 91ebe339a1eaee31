"""Command builders: `cmd.peek(1, "u3", t=5)` instead of protobuf boilerplate.

Ids are the suite's readable strings (`u3`), uuids small integers (or 32-hex strings), times
ints and frontiers ints (`EMPTY` is `[]`), exactly as the oracle and the model use them. Each
builder returns a complete `ProtoComputeCommand` (or, for dataflow parts, the message that goes
inside one) with every sub-field the spec requires, so a command built here is never malformed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2, plan_pb2
from google.protobuf import empty_pb2

from conformance.wire import frontiers
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import GlobalId, PeekId, gid_proto, uuid_proto
from conformance.wire.rows import Row, row_to_proto

Cmd = command_pb2.ProtoComputeCommand
ScalarType = Literal["bool", "int64", "float64", "string", "bytes"]

_SCALAR: dict[ScalarType, common_pb2.ProtoScalarType.ValueType] = {
    "bool": common_pb2.PROTO_SCALAR_TYPE_BOOL,
    "int64": common_pb2.PROTO_SCALAR_TYPE_INT64,
    "float64": common_pb2.PROTO_SCALAR_TYPE_FLOAT64,
    "string": common_pb2.PROTO_SCALAR_TYPE_STRING,
    "bytes": common_pb2.PROTO_SCALAR_TYPE_BYTES,
}


def peek_id(uuid: int | PeekId) -> PeekId:
    """The suite's uuid string for a small integer (or a uuid string, unchanged)."""
    return uuid if isinstance(uuid, str) else f"{uuid:032x}"


def antichain(frontier: Frontier) -> common_pb2.ProtoU64Antichain:
    return frontiers.to_proto(frontier)


# --- the ten commands ----------------------------------------------------------------------


def create_timely(
    epoch: tuple[int, int], *, process: int = 0, workers: int = 1, addresses: Sequence[str] = ()
) -> Cmd:
    config = common_pb2.ProtoTimelyConfig(workers=workers, process=process, addresses=list(addresses))
    envd, replica = epoch
    return Cmd(
        create_timely=command_pb2.ProtoCreateTimely(
            config=config, epoch=common_pb2.ProtoClusterStartupEpoch(envd=envd, replica=replica)
        )
    )


def create_instance() -> Cmd:
    """CreateInstance with the empty logging config the spec prescribes (CREATE-3)."""
    return Cmd(create_instance=command_pb2.ProtoInstanceConfig(logging=command_pb2.ProtoLoggingConfig()))


def create_dataflow(desc: dataflow_pb2.ProtoDataflowDescription) -> Cmd:
    return Cmd(create_dataflow=desc)


def allow_compaction(gid: GlobalId, frontier: Frontier) -> Cmd:
    return Cmd(allow_compaction=command_pb2.ProtoCompaction(id=gid_proto(gid), frontier=antichain(frontier)))


def drop(gid: GlobalId) -> Cmd:
    """`AllowCompaction(id, [])`: the way to drop a collection."""
    return allow_compaction(gid, EMPTY)


def finishing(
    *,
    limit: int | None = None,
    offset: int = 0,
    order_by: Iterable[tuple[int, bool, bool]] = (),
    project: Iterable[int] = (),
) -> command_pb2.ProtoRowSetFinishing:
    """`order_by` holds `(column, desc, nulls_last)` triples."""
    f = command_pb2.ProtoRowSetFinishing(
        order_by=[command_pb2.ProtoColumnOrder(column=c, desc=d, nulls_last=n) for c, d, n in order_by],
        offset=offset,
        project=list(project),
    )
    if limit is not None:
        f.limit = limit
    return f


def peek(
    uuid: int | PeekId,
    target: GlobalId,
    t: int,
    *,
    arity: int,
    key: Iterable[Row] = (),
    mfp: plan_pb2.ProtoMapFilterProject | None = None,
    finish: command_pb2.ProtoRowSetFinishing | None = None,
) -> Cmd:
    """A peek at index `target` at time `t`; the MFP defaults to the identity over `arity` columns."""
    return Cmd(
        peek=command_pb2.ProtoPeek(
            key=[row_to_proto(r) for r in key],
            uuid=uuid_proto(peek_id(uuid)),
            timestamp=t,
            finishing=finish or finishing(),
            map_filter_project=plan_pb2.ProtoSafeMfpPlan(mfp=mfp or identity_mfp(arity)),
            index=command_pb2.ProtoIndexTarget(id=gid_proto(target)),
        )
    )


def persist_peek(
    uuid: int | PeekId,
    source: GlobalId,
    shard_id: str,
    t: int,
    *,
    storage_address: str,
    columns: Sequence[ScalarType],
    key: Row | None = None,
    mfp: plan_pb2.ProtoMapFilterProject | None = None,
    finish: command_pb2.ProtoRowSetFinishing | None = None,
) -> Cmd:
    """A peek at storage shard `shard_id` (one optional key literal, matched as a row prefix)."""
    return Cmd(
        peek=command_pb2.ProtoPeek(
            key=[row_to_proto(key)] if key is not None else [],
            uuid=uuid_proto(peek_id(uuid)),
            timestamp=t,
            finishing=finish or finishing(),
            map_filter_project=plan_pb2.ProtoSafeMfpPlan(mfp=mfp or identity_mfp(len(columns))),
            persist=command_pb2.ProtoPersistTarget(
                id=gid_proto(source), metadata=metadata(shard_id, storage_address, columns)
            ),
        )
    )


def cancel_peek(uuid: int | PeekId) -> Cmd:
    return Cmd(cancel_peek=uuid_proto(peek_id(uuid)))


def initialization_complete() -> Cmd:
    return Cmd(initialization_complete=empty_pb2.Empty())


_UNSET = object()


def update_configuration(
    *,
    max_result_size: int | None = None,
    dyncfg: dict[str, str] | None = None,
    workload_class: str | object | None = _UNSET,
) -> Cmd:
    """Only the given parameters are set; the others keep their values on the replica (CONFIG-2).

    `workload_class=None` clears the label; leaving it out keeps it.
    """
    params = command_pb2.ProtoComputeParameters(
        dyncfg_updates=command_pb2.ProtoDyncfgUpdates(updates=dyncfg or {})
    )
    if max_result_size is not None:
        params.max_result_size = max_result_size
    if workload_class is not _UNSET:
        params.workload_class.SetInParent()
        if isinstance(workload_class, str):
            params.workload_class.value = workload_class
    return Cmd(update_configuration=params)


def schedule(gid: GlobalId) -> Cmd:
    return Cmd(schedule=gid_proto(gid))


def allow_writes() -> Cmd:
    return Cmd(allow_writes=empty_pb2.Empty())


# --- dataflow parts ------------------------------------------------------------------------


def relation_desc(columns: Sequence[ScalarType], *, nullable: bool = True) -> common_pb2.ProtoRelationDesc:
    return common_pb2.ProtoRelationDesc(
        columns=[
            common_pb2.ProtoColumnType(scalar_type=_SCALAR[c], nullable=nullable, name=f"c{i}")
            for i, c in enumerate(columns)
        ]
    )


def metadata(
    shard_id: str, storage_address: str, columns: Sequence[ScalarType]
) -> common_pb2.ProtoCollectionMetadata:
    return common_pb2.ProtoCollectionMetadata(
        storage_address=storage_address, shard_id=shard_id, relation_desc=relation_desc(columns)
    )


def identity_mfp(arity: int) -> plan_pb2.ProtoMapFilterProject:
    return plan_pb2.ProtoMapFilterProject(projection=list(range(arity)), input_arity=arity)


def get(gid: GlobalId) -> plan_pb2.ProtoPlan:
    return plan_pb2.ProtoPlan(get=plan_pb2.ProtoPlanGet(id=gid_proto(gid)))


def constant(arity: int, updates: Iterable[tuple[Row | str, int, int]]) -> plan_pb2.ProtoPlan:
    """A constant collection; an update whose first element is a str is an error."""
    out = []
    for value, time, diff in updates:
        if isinstance(value, str):
            out.append(plan_pb2.ProtoConstantUpdate(error=value, time=time, diff=diff))
        else:
            out.append(plan_pb2.ProtoConstantUpdate(row=row_to_proto(value), time=time, diff=diff))
    return plan_pb2.ProtoPlan(constant=plan_pb2.ProtoPlanConstant(arity=arity, updates=out))


def source(
    gid: GlobalId, shard_id: str, *, storage_address: str, columns: Sequence[ScalarType]
) -> dataflow_pb2.ProtoSourceImport:
    return dataflow_pb2.ProtoSourceImport(
        id=gid_proto(gid), storage_metadata=metadata(shard_id, storage_address, columns)
    )


def index_import(
    gid: GlobalId, columns: Sequence[ScalarType], key_columns: Sequence[int]
) -> dataflow_pb2.ProtoIndexImport:
    return dataflow_pb2.ProtoIndexImport(
        id=gid_proto(gid), desc=relation_desc(columns), key_columns=list(key_columns)
    )


def build(gid: GlobalId, plan: plan_pb2.ProtoPlan) -> dataflow_pb2.ProtoBuildDesc:
    return dataflow_pb2.ProtoBuildDesc(id=gid_proto(gid), plan=plan)


def index_export(gid: GlobalId, on: GlobalId, key_columns: Sequence[int]) -> dataflow_pb2.ProtoIndexExport:
    return dataflow_pb2.ProtoIndexExport(
        id=gid_proto(gid), on_id=gid_proto(on), key_columns=list(key_columns)
    )


def _sink(
    gid: GlobalId,
    from_: GlobalId,
    columns: Sequence[ScalarType],
    connection: dataflow_pb2.ProtoComputeSinkConnection,
    *,
    with_snapshot: bool = True,
    up_to: Frontier = EMPTY,
) -> dataflow_pb2.ProtoSinkExport:
    desc = dataflow_pb2.ProtoComputeSinkDesc(
        from_desc=relation_desc(columns),
        connection=connection,
        with_snapshot=with_snapshot,
        up_to=antichain(up_to),
    )
    getattr(desc, "from").CopyFrom(gid_proto(from_))
    return dataflow_pb2.ProtoSinkExport(id=gid_proto(gid), sink_desc=desc)


def subscribe_sink(
    gid: GlobalId,
    from_: GlobalId,
    columns: Sequence[ScalarType],
    *,
    with_snapshot: bool = True,
    up_to: Frontier = EMPTY,
) -> dataflow_pb2.ProtoSinkExport:
    conn = dataflow_pb2.ProtoComputeSinkConnection(subscribe=dataflow_pb2.ProtoSubscribeConnection())
    return _sink(gid, from_, columns, conn, with_snapshot=with_snapshot, up_to=up_to)


def mv_sink(
    gid: GlobalId, from_: GlobalId, columns: Sequence[ScalarType], *, shard_id: str, storage_address: str
) -> dataflow_pb2.ProtoSinkExport:
    conn = dataflow_pb2.ProtoComputeSinkConnection(
        materialized_view=dataflow_pb2.ProtoMaterializedViewConnection(
            value_desc=relation_desc(columns), storage_metadata=metadata(shard_id, storage_address, columns)
        )
    )
    return _sink(gid, from_, columns, conn)


def copy_to_sink(
    gid: GlobalId, from_: GlobalId, columns: Sequence[ScalarType], *, storage_address: str, blob_key: str
) -> dataflow_pb2.ProtoSinkExport:
    conn = dataflow_pb2.ProtoComputeSinkConnection(
        copy_to=dataflow_pb2.ProtoCopyToConnection(storage_address=storage_address, blob_key=blob_key)
    )
    return _sink(gid, from_, columns, conn)


def dataflow(
    *,
    as_of: int,
    until: Frontier = EMPTY,
    sources: Iterable[dataflow_pb2.ProtoSourceImport] = (),
    index_imports: Iterable[dataflow_pb2.ProtoIndexImport] = (),
    objects: Iterable[dataflow_pb2.ProtoBuildDesc] = (),
    indexes: Iterable[dataflow_pb2.ProtoIndexExport] = (),
    sinks: Iterable[dataflow_pb2.ProtoSinkExport] = (),
    debug_name: str = "",
) -> dataflow_pb2.ProtoDataflowDescription:
    desc = dataflow_pb2.ProtoDataflowDescription(
        source_imports=list(sources),
        index_imports=list(index_imports),
        objects_to_build=list(objects),
        index_exports=list(indexes),
        sink_exports=list(sinks),
        as_of=antichain(as_of),
        debug_name=debug_name,
    )
    if until != EMPTY:
        desc.until.CopyFrom(antichain(until))
    return desc
