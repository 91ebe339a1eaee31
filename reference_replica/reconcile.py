"""Reconciliation on reconnect (spec section 14; upstream section 3.1).

When a new stream has sent everything up to `InitializationComplete`, the replica compares
the dataflows it is still running with the `CreateDataflow` commands of the new iteration.
An old dataflow is *reused* only when that is indistinguishable from building it anew:

- it exports exactly the same ids, and its description is structurally equal to the new
  one, apart from `as_of`, `debug_name` and the source imports' (advisory) `upper`s;
  `until` must be equal too (A17: results must be those of the new commands);
- the new as_of is not below the old one, and no export was compacted beyond the new
  as_of (the arrangement can still answer from the new as_of on);
- it has no subscribe (subscribes restart from `[0]`, SUB-1) and no copy-to (a copy-to
  answers again in the new iteration, COPY-3), and none of its exports was dropped;
- every index it imports belongs to a dataflow that was itself reused.

Everything else of the old iteration is dropped in silence (RECON-1): no frontiers, no
DroppedAt, no Dropped. Pending peeks are forgotten (RECON-2) and reused collections report
their frontiers from scratch (RECON-3); `ComputeState` does both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compute_protocol.v1 import command_pb2, dataflow_pb2

from reference_replica import faults, frontier, ids, variants
from reference_replica.dataflow.dataflow import Dataflow
from reference_replica.exports.index import IndexExport


@dataclass
class Plan:
    reuse: dict[int, Dataflow] = field(default_factory=dict)  # command position -> old dataflow
    drop: list[Dataflow] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # old dataflow -> why rebuilt


def _export_ids(desc: dataflow_pb2.ProtoDataflowDescription) -> frozenset[str]:
    return frozenset([ids.gid(e.id) for e in desc.index_exports] + [ids.gid(s.id) for s in desc.sink_exports])


def _structure(desc: dataflow_pb2.ProtoDataflowDescription) -> dataflow_pb2.ProtoDataflowDescription:
    """The description without the parts that do not change what it computes."""
    out = dataflow_pb2.ProtoDataflowDescription()
    out.CopyFrom(desc)
    out.ClearField("as_of")
    out.ClearField("debug_name")
    for source in out.source_imports:
        source.ClearField("upper")
    return out


def incompatibility(
    old: Dataflow, new: dataflow_pb2.ProtoDataflowDescription, reused_exports: set[str]
) -> str | None:
    """Why `old` cannot serve as `new` (None: it can)."""
    kinds = {e.kind for e in old.exports.values()}
    if "subscribe" in kinds or "copy_to" in kinds:
        return "it exports a subscribe or copy-to"
    if any(e.dropped for e in old.exports.values()):
        return "some of its exports were dropped"
    if _structure(old.description) != _structure(new):
        return "its description differs"
    new_as_of = frontier.from_proto(new.as_of)
    if new_as_of < old.as_of:
        return "the new as_of is earlier"
    for export in old.exports.values():
        if isinstance(export, IndexExport) and export.since > new_as_of:
            return f"{export.collection} was compacted beyond the new as_of"
    for gid in (ids.gid(i.id) for i in new.index_imports):
        if gid not in reused_exports and not faults.on("reuse-ignoring-deps"):  # FAULT: breaks FRONT-9
            return f"it imports {gid}, which is rebuilt"
    return None


def reconcile(running: list[Dataflow], commands: list[command_pb2.ProtoComputeCommand]) -> Plan:
    plan = Plan()
    if variants.on("rebuild-on-reconnect"):  # VARIANT: reuse nothing, rebuild everything
        plan.drop = list(running)
        return plan
    by_exports = {frozenset(d.exports): d for d in running}
    reused_exports: set[str] = set()
    for position, cmd in enumerate(commands):
        if cmd.WhichOneof("kind") != "create_dataflow":
            continue
        desc = cmd.create_dataflow
        old = by_exports.get(_export_ids(desc))
        if old is None or old in plan.reuse.values():
            continue
        reason = incompatibility(old, desc, reused_exports)
        if reason is None:
            plan.reuse[position] = old
            reused_exports.update(old.exports)
        else:
            plan.reasons[repr(old)] = reason
    reused = list(plan.reuse.values())
    plan.drop = [d for d in running if d not in reused]
    return plan
