"""Commands change what the replica owes: this module records each one in the oracle's state.

Applying never judges (the CTRL checks ran before the command was sent); it must however cope
with probe commands that break CTRL rules on purpose, so every lookup is guarded.
"""

from __future__ import annotations

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2

from conformance.oracle.context import Context
from conformance.oracle.controller import _timely_identity
from conformance.oracle.state import Collection, CollectionKind, Dataflow, Iteration, Peek, StreamState
from conformance.wire.frontiers import EMPTY
from conformance.wire.ids import gid_str, uuid_str

_SINK_KINDS: dict[str, CollectionKind] = {
    "materialized_view": "mv",
    "subscribe": "subscribe",
    "copy_to": "copy_to",
}


def _frontier(a: common_pb2.ProtoU64Antichain) -> int:
    """Commands are validated, but probes may carry malformed frontiers: read them leniently."""
    return min(a.elements) if a.elements else EMPTY


def apply_command(ctx: Context, ss: StreamState, cmd: command_pb2.ProtoComputeCommand) -> None:
    it = ss.iteration
    kind = cmd.WhichOneof("kind")
    if kind == "create_timely":
        it.timely_sent.add(ss.name)
        if not ctx.replica.timely_config:
            ctx.replica.timely_config = _timely_identity(cmd.create_timely.config)
    elif kind == "create_instance":
        if it.instance_seq is None:
            it.instance_seq = ctx.seq
        if not ctx.replica.instance_config:
            ctx.replica.instance_config = cmd.create_instance.SerializeToString(deterministic=True)
    elif kind == "create_dataflow":
        _create_dataflow(ctx, it, cmd.create_dataflow)
    elif kind == "schedule":
        c = it.collections.get(gid_str(cmd.schedule))
        if c is not None and c.scheduled_seq is None:
            c.scheduled_seq = ctx.seq
            ctx.exercise("DF-2")  # the replica may have kept the dataflow suspended until now
    elif kind == "allow_compaction":
        _compact(ctx, it, cmd.allow_compaction)
    elif kind == "peek":
        _peek(ctx, it, cmd.peek)
    elif kind == "cancel_peek":
        p = it.peeks.get(uuid_str(cmd.cancel_peek))
        if p is not None and p.cancel_seq is None:
            p.cancel_seq = ctx.seq
    elif kind == "initialization_complete":
        if it.init_seq is None:
            it.init_seq = ctx.seq
            it.init_time = ctx.now
    elif kind == "update_configuration":
        it.config.apply(ctx.seq, cmd.update_configuration)
    elif kind == "allow_writes":
        if it.allow_writes_seq is None:
            it.allow_writes_seq = ctx.seq
        if not ctx.replica.writable:
            ctx.replica.writable = True
            ctx.replica.writable_seq = ctx.seq
            ctx.replica.writable_iteration = it.number


def _create_dataflow(ctx: Context, it: Iteration, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
    as_of = _frontier(desc.as_of)
    until = _frontier(desc.until) if desc.HasField("until") else EMPTY
    df = Dataflow(
        desc=desc,
        as_of=as_of,
        until=until,
        exports=[gid_str(e.id) for e in desc.index_exports] + [gid_str(s.id) for s in desc.sink_exports],
        index_imports=[gid_str(i.id) for i in desc.index_imports],
        source_shards=[s.storage_metadata.shard_id for s in desc.source_imports],
        seq=ctx.seq,
    )
    it.dataflows.append(df)
    it.built.update(gid_str(o.id) for o in desc.objects_to_build)
    for e in desc.index_exports:
        gid = gid_str(e.id)
        it.collections[gid] = Collection(
            gid,
            "index",
            df,
            ctx.seq,
            carried_over=gid in ctx.replica.earlier_ids,
            key_columns=tuple(e.key_columns),
        )
    for s in desc.sink_exports:
        gid = gid_str(s.id)
        conn = s.sink_desc.connection
        kind = _SINK_KINDS.get(conn.WhichOneof("kind") or "", "subscribe")
        c = Collection(gid, kind, df, ctx.seq, carried_over=gid in ctx.replica.earlier_ids)
        if kind == "mv":
            c.target_shard = conn.materialized_view.storage_metadata.shard_id
            ctx.replica.mv_targets_ever.add(c.target_shard)
        elif kind == "subscribe":
            c.with_snapshot = s.sink_desc.with_snapshot
            c.up_to = _frontier(s.sink_desc.up_to) if s.sink_desc.HasField("up_to") else EMPTY
        else:
            c.blob_key = conn.copy_to.blob_key
            ctx.replica.copy_to_blobs_ever.add(c.blob_key)
            if len(it.streams) > 1:  # each process writes its own part (spec 15)
                ctx.replica.copy_to_blobs_ever.update(f"{c.blob_key}.part-{i}" for i in range(len(it.streams)))
        it.collections[gid] = c
    it.model.add_dataflow(desc)


def _compact(ctx: Context, it: Iteration, ac: command_pb2.ProtoCompaction) -> None:
    c = it.collections.get(gid_str(ac.id))
    if c is None or not c.live:
        return
    f = _frontier(ac.frontier)
    if f != EMPTY and (c.kind != "index" or f > it.model.input_upper(c.id)):
        ctx.exercise("COMPACT-2")  # beyond the upper, or for a sink: accepted, no visible effect
    c.compaction = max(c.compaction, f)
    c.compactions.append((ctx.seq, c.compaction))
    if f == EMPTY:
        c.dropped_seq = ctx.seq
        c.dropped_time = ctx.now
        it.model.drop(c.id)


def _peek(ctx: Context, it: Iteration, p: command_pb2.ProtoPeek) -> None:
    uuid = uuid_str(p.uuid)
    if uuid in it.peeks:
        return
    if p.WhichOneof("target") == "persist":
        shard = p.persist.metadata.shard_id
        target, since = gid_str(p.persist.id), ctx.shards.since(shard)
    else:
        shard = ""
        target = gid_str(p.index.id)
        c = it.collections.get(target)
        since = c.compaction if c is not None else 0
    it.peeks[uuid] = it.unsettled_peeks[uuid] = Peek(uuid, p, p.timestamp, ctx.seq, ctx.now, target, shard, since)
