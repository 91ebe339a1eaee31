"""The CTRL rules, enforced on every command before it is sent.

The replica may assume every CTRL rule, so a command that breaks one would make any later
verdict meaningless; the driver therefore refuses to send it and raises `ControllerError`,
which is always a bug in the suite or a scenario. Robustness probes break rules on purpose and
are sent with a `probe` label that skips this check.
"""

from __future__ import annotations

from collections.abc import Iterator

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2, plan_pb2

from conformance.oracle.context import Context
from conformance.oracle.describe import short_uuid
from conformance.oracle.state import Iteration, StreamState
from conformance.oracle.violation import ControllerError
from conformance.wire import frontiers
from conformance.wire.frontiers import EMPTY
from conformance.wire.ids import GlobalId, gid_str, uuid_str

BROADCAST = ("create_timely", "update_configuration")

_CHECKED_BY_KIND: dict[str, tuple[str, ...]] = {
    "create_timely": ("CREATE-1", "CREATE-3", "MULTI-1"),
    "create_instance": ("CREATE-3", "MULTI-1"),
    "create_dataflow": ("DF-1", "MULTI-1"),
    "schedule": ("DF-3", "STAGE-5", "MULTI-1"),
    "allow_compaction": ("COMPACT-1", "STAGE-5", "MULTI-1"),
    "peek": ("STAGE-5", "PEEK-16", "MULTI-1"),
    "cancel_peek": ("MULTI-1",),
    "initialization_complete": ("MULTI-1",),
    "allow_writes": ("RO-4", "MULTI-1"),
}
"""The CTRL rules each command kind is checked against (counted for the coverage report)."""


def plan_gets(plan: plan_pb2.ProtoPlan) -> Iterator[GlobalId]:
    """Every id a plan reads with `Get`."""
    kind = plan.WhichOneof("kind")
    if kind == "get":
        yield gid_str(plan.get.id)
    elif kind in ("mfp", "negate", "threshold", "reduce"):
        yield from plan_gets(getattr(plan, kind).input)
    elif kind == "union":
        for p in plan.union.inputs:
            yield from plan_gets(p)
    elif kind == "join":
        yield from plan_gets(plan.join.left)
        yield from plan_gets(plan.join.right)


def sink_from(sink: dataflow_pb2.ProtoSinkExport) -> GlobalId:
    """The collection a sink reads (`from` is a Python keyword, hence getattr)."""
    return gid_str(getattr(sink.sink_desc, "from"))


def _frontier(a: common_pb2.ProtoU64Antichain, what: str, fail: _Fail) -> int:
    try:
        return frontiers.from_proto(a)
    except frontiers.MalformedFrontier as exc:
        raise fail("STAGE-5", f"{what}: {exc}") from None


class _Fail:
    def __init__(self, stream: str) -> None:
        self.stream = stream

    def __call__(self, rule_id: str, message: str) -> ControllerError:
        return ControllerError(rule_id, self.stream, message)


def _timely_identity(config: common_pb2.ProtoTimelyConfig) -> bytes:
    """The timely config without the per-process index, which differs by design (MULTI-1)."""
    c = common_pb2.ProtoTimelyConfig()
    c.CopyFrom(config)
    c.process = 0
    return c.SerializeToString(deterministic=True)


def validate(ctx: Context, ss: StreamState, cmd: command_pb2.ProtoComputeCommand) -> None:
    """Raise `ControllerError` if sending `cmd` on `ss` would break a CTRL rule."""
    fail = _Fail(ss.name)
    it = ss.iteration
    kind = cmd.WhichOneof("kind")
    if kind is None:
        raise fail("STAGE-4", "a command with no kind is malformed (send it as a robustness probe)")
    if ss.ended is not None:
        raise fail("TRANS-1", f"the stream already ended ({ss.ended.code}); open a new one")
    if ss.superseded:
        raise fail("TRANS-1", "a newer iteration replaced this stream; commands go to the new stream only")
    ctx.exercise("TRANS-1", "STAGE-4", *_CHECKED_BY_KIND.get(kind, ()))
    if it.number > 1 and kind == "create_dataflow":
        ctx.exercise("RECON-4")
    first = ss.name not in it.timely_sent
    if first != (kind == "create_timely"):
        raise fail(
            "STAGE-4",
            "the first command of a connection is CreateTimely"
            if first
            else "CreateTimely is sent once per connection",
        )
    if kind == "create_timely":
        _validate_timely(ctx, ss, cmd.create_timely, fail)
        return
    if kind != "update_configuration" and ss.process != 0:
        raise fail(
            "MULTI-1", f"{kind} goes to process 0 only; process {ss.process} gets CreateTimely and config"
        )
    if kind == "create_instance":
        _validate_instance(ctx, it, cmd.create_instance, fail)
        return
    if it.instance_seq is None:
        raise fail("STAGE-4", "the second command of a connection is CreateInstance")
    if kind == "initialization_complete" and it.init_complete:
        raise fail("STAGE-4", "InitializationComplete is sent once per connection")
    if kind == "allow_writes" and not it.init_complete:
        raise fail("RO-4", "AllowWrites is sent only after InitializationComplete")
    if kind == "create_dataflow":
        _validate_dataflow(ctx, it, cmd.create_dataflow, fail)
    elif kind == "schedule":
        gid = gid_str(cmd.schedule)
        c = it.collections.get(gid)
        if c is None or not c.live:
            raise fail("DF-3", f"Schedule({gid}) names no live export of this iteration")
    elif kind == "allow_compaction":
        _validate_compaction(it, cmd.allow_compaction, fail)
    elif kind == "peek":
        _validate_peek(ctx, it, cmd.peek, fail)
    elif kind == "cancel_peek":
        uuid = uuid_str(cmd.cancel_peek)
        if uuid not in it.peeks:
            raise fail(
                "TRANS-5",
                f"CancelPeek({short_uuid(uuid)}) names a uuid this iteration never sent (a robustness probe)",
            )


def _validate_timely(ctx: Context, ss: StreamState, ct: command_pb2.ProtoCreateTimely, fail: _Fail) -> None:
    if not ct.HasField("config") or not ct.HasField("epoch"):
        raise fail("STAGE-4", "CreateTimely needs config and epoch")
    epoch = (ct.epoch.envd, ct.epoch.replica)
    if epoch != ss.iteration.epoch:
        raise fail(
            "CREATE-1", f"CreateTimely carries epoch {epoch}, the stream was opened as {ss.iteration.epoch}"
        )
    if ct.config.process != ss.process:
        raise fail("MULTI-1", f"process {ss.process} must get process={ss.process}, not {ct.config.process}")
    identity = _timely_identity(ct.config)
    if ctx.replica.timely_config and identity != ctx.replica.timely_config:
        raise fail("CREATE-3", "every connection carries the same ProtoTimelyConfig")


def _validate_instance(ctx: Context, it: Iteration, ic: command_pb2.ProtoInstanceConfig, fail: _Fail) -> None:
    if it.instance_seq is not None:
        raise fail("STAGE-4", "CreateInstance is sent once per connection")
    if not ic.HasField("logging"):
        raise fail("STAGE-4", "CreateInstance needs a logging config")
    if ic.logging != command_pb2.ProtoLoggingConfig() or ic.HasField("expiration_offset"):
        raise fail("CREATE-3", "the logging config is empty and expiration_offset is unset")
    identity = ic.SerializeToString(deterministic=True)
    if ctx.replica.instance_config and identity != ctx.replica.instance_config:
        raise fail("CREATE-3", "every connection carries the same ProtoInstanceConfig")


def _validate_dataflow(
    ctx: Context, it: Iteration, df: dataflow_pb2.ProtoDataflowDescription, fail: _Fail
) -> None:
    if not df.HasField("as_of") or not df.as_of.elements:
        raise fail("DF-1", "as_of is required and not empty")
    as_of = _frontier(df.as_of, "as_of", fail)
    until = _frontier(df.until, "until", fail) if df.HasField("until") else EMPTY
    if until <= as_of:
        raise fail("DF-1", f"until {frontiers.fmt(until)} is not beyond as_of [{as_of}]")
    known: set[GlobalId] = set()
    for src in df.source_imports:
        gid = gid_str(src.id)
        shard = src.storage_metadata.shard_id
        if ctx.shards.known(shard) and ctx.shards.since(shard) > as_of:
            raise fail(
                "DF-1", f"source {gid} (shard {shard}) has since {ctx.shards.since(shard)} > as_of [{as_of}]"
            )
        known.add(gid)
    for imp in df.index_imports:
        gid = gid_str(imp.id)
        c = it.collections.get(gid)
        if c is None or c.kind != "index" or not c.live:
            raise fail("DF-1", f"index import {gid} names no live index of this iteration")
        if c.compaction > as_of:
            raise fail(
                "DF-1", f"index import {gid} is compacted to {frontiers.fmt(c.compaction)} > as_of [{as_of}]"
            )
        known.add(gid)
    exports = [gid_str(e.id) for e in df.index_exports] + [gid_str(s.id) for s in df.sink_exports]
    for gid in exports:
        if gid in it.collections:
            raise fail("DF-1", f"export id {gid} is already used in this iteration")
    objects = [gid_str(o.id) for o in df.objects_to_build]
    if len(set(exports)) != len(exports) or len(set(objects)) != len(objects):
        raise fail("DF-1", f"ids repeat within the dataflow: exports {exports}, objects {objects}")
    for obj in df.objects_to_build:
        gid = gid_str(obj.id)
        if not obj.HasField("plan"):
            raise fail("DF-1", f"object {gid} has no plan")
        for read in plan_gets(obj.plan):
            if read not in known:
                raise fail("DF-1", f"object {gid} reads {read}, which is no import or earlier object")
        known.add(gid)
    for e in df.index_exports:
        if gid_str(e.on_id) not in known:
            raise fail(
                "DF-1", f"index {gid_str(e.id)} is on {gid_str(e.on_id)}, which the dataflow does not have"
            )
    for s in df.sink_exports:
        sid = gid_str(s.id)
        if sink_from(s) not in known:
            raise fail("DF-1", f"sink {sid} reads an object the dataflow does not have")
        conn = s.sink_desc.connection
        if conn.WhichOneof("kind") == "materialized_view":
            shard = conn.materialized_view.storage_metadata.shard_id
            if ctx.shards.known(shard) and ctx.shards.upper(shard) < as_of:
                raise fail("DF-1", f"view {sid}'s target shard {shard} has upper below as_of [{as_of}]")
            for other in it.collections.values():
                if other.kind == "mv" and other.live and other.target_shard == shard:
                    raise fail(
                        "DF-1", f"view {sid}'s target shard {shard} already has a live writer ({other.id})"
                    )
        elif conn.WhichOneof("kind") is None:
            raise fail("DF-1", f"sink {sid} has no connection")
    # RECON-4: a replayed dataflow never lowers its as_of.
    if it.number > 1:
        prev = ctx.iterations[-2] if len(ctx.iterations) >= 2 else None
        for gid in exports:
            old = prev.collections.get(gid) if prev is not None else None
            if old is not None and old.live and as_of < old.as_of:
                raise fail("RECON-4", f"the replay lowers {gid}'s as_of from [{old.as_of}] to [{as_of}]")


def _validate_compaction(it: Iteration, ac: command_pb2.ProtoCompaction, fail: _Fail) -> None:
    gid = gid_str(ac.id)
    if not ac.HasField("frontier"):
        raise fail("STAGE-4", f"AllowCompaction({gid}) needs a frontier")
    f = _frontier(ac.frontier, "compaction frontier", fail)
    c = it.collections.get(gid)
    if c is None:
        raise fail("COMPACT-1", f"AllowCompaction names {gid}, which is no export of this iteration")
    if not c.live:
        raise fail("COMPACT-1", f"AllowCompaction names {gid} after it was dropped")
    if f < c.compaction:
        raise fail(
            "COMPACT-1",
            f"compaction of {gid} goes back from {frontiers.fmt(c.compaction)} to {frontiers.fmt(f)}",
        )
    if c.kind == "mv" and f != EMPTY:
        raise fail("COMPACT-1", f"the suite sends no non-empty compaction for a materialized view ({gid})")


def _validate_peek(ctx: Context, it: Iteration, p: command_pb2.ProtoPeek, fail: _Fail) -> None:
    uuid = uuid_str(p.uuid)
    if not p.HasField("uuid") or not p.HasField("finishing") or not p.HasField("map_filter_project"):
        raise fail("STAGE-4", "Peek needs uuid, finishing and map_filter_project (else it is malformed)")
    if uuid in it.peeks:
        raise fail("STAGE-5", f"peek uuid {short_uuid(uuid)} is already used in this iteration")
    target = p.WhichOneof("target")
    if target == "index":
        gid = gid_str(p.index.id)
        c = it.collections.get(gid)
        if c is None or c.kind != "index" or not c.live:
            raise fail(
                "STAGE-5", f"Peek({short_uuid(uuid)}) targets {gid}, which is no live index of this iteration"
            )
        if p.timestamp < c.as_of:
            raise fail("DF-1", f"Peek at t={p.timestamp} is below {gid}'s as_of [{c.as_of}] (spec 16, A3)")
        arity = len(c.key_columns)
        for lit in p.key:
            if len(lit.datums) != arity:
                raise fail(
                    "STAGE-5",
                    f"a key literal has {len(lit.datums)} datums, index {gid} has {arity} key columns",
                )
    elif target == "persist":
        if len(p.key) > 1:
            raise fail("STAGE-5", "a persist peek takes at most one key literal (spec 8.1, A11)")
        shard = p.persist.metadata.shard_id
        if not shard:
            raise fail("STAGE-5", "a persist peek names a shard")
        if p.finishing.HasField("limit") and p.finishing.order_by:
            raise fail("PEEK-16", "a persist peek with a limit carries no order_by (spec 8.1, A10)")
    else:
        raise fail("STAGE-4", "Peek needs a target")
