"""Section 6 (frontiers), with RECON-3 and the view write frontier of RO-2/RO-3.

Safety: every `Frontiers` message is checked on arrival (FRONT-1..5, 7, 8, 10, RECON-1).
Liveness: each kind of each live, scheduled index or view carries "milestones", one per bound
the inputs made reachable (FRONT-9), and a dropped collection owes `[]` for every kind
(FRONT-6). A report discharges every milestone it reaches.
"""

from __future__ import annotations

from typing import Literal

from compute_protocol.v1 import response_pb2

from conformance.oracle.bounds import allowed_max, cite, progress_bound
from conformance.oracle.context import Context
from conformance.oracle.state import FRONTIER_KINDS, Collection, FrontierKind, Iteration, StreamState
from conformance.wire import frontiers
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import gid_str

_FIELDS: dict[FrontierKind, Literal["write_frontier", "input_frontier", "output_frontier"]] = {
    "write": "write_frontier",
    "input": "input_frontier",
    "output": "output_frontier",
}


def _read(msg: response_pb2.ProtoFrontiersResponse, kind: FrontierKind) -> Frontier | None:
    name = _FIELDS[kind]
    if not msg.HasField(name):
        return None
    elements = list(getattr(msg, name).elements)
    # More than one element is malformed (spec 1.2); like upstream's decoder, read the minimum.
    return min(elements) if elements else EMPTY


def write_bound(ctx: Context, it: Iteration, c: Collection) -> tuple[Frontier | None, str]:
    """Where a view's write frontier must get to (None: nowhere yet), and the rule that says so
    (RO-2/RO-3)."""
    if not ctx.replica.writable:
        return min(max(c.as_of, ctx.shards.upper(c.target_shard)), c.until), "RO-3"
    from_earlier = ctx.replica.writable_iteration is None or ctx.replica.writable_iteration < it.number
    return progress_bound(it, c), "RO-2" if from_earlier else "RO-3"


def on_frontiers(ctx: Context, it: Iteration, ss: StreamState, msg: response_pb2.ProtoFrontiersKind) -> None:
    gid = gid_str(msg.id)
    c = it.collections.get(gid)
    ctx.exercise("FRONT-2", "RECON-1")
    if c is None:
        expected = "Frontiers only for index exports and views this iteration created"
        never = f"Frontiers for {gid}, never exported in this iteration"
        ctx.flag_not_created(ss, gid, f"Frontiers for {gid}", "Frontiers", "FRONT-2", expected, never)
        return
    ctx.exercise("FRONT-1")
    if c.kind in ("subscribe", "copy_to"):
        ctx.flag(
            "FRONT-1",
            ss,
            f"Frontiers for {gid}",
            [f"no Frontiers for a {c.kind.replace('_', '-')}"],
            f"Frontiers for {c.kind.replace('_', '-')} {gid}",
        )
        return
    ctx.exercise("FRONT-7")
    if ss.finished(c):
        ctx.flag(
            "FRONT-7",
            ss,
            f"Frontiers for {gid}",
            [f"nothing more for {gid}: all three kinds were reported []"],
            "another Frontiers message",
        )
        return
    values = {kind: _read(msg.resp, kind) for kind in FRONTIER_KINDS}
    ctx.exercise("FRONT-8")
    if all(v is None for v in values.values()):
        ctx.flag(
            "FRONT-8", ss, f"Frontiers for {gid}", ["at least one frontier kind"], "all three kinds absent"
        )
        return
    for kind, value in values.items():
        if value is not None:
            _check_kind(ctx, it, ss, c, kind, value)


def _check_kind(
    ctx: Context, it: Iteration, ss: StreamState, c: Collection, kind: FrontierKind, value: Frontier
) -> None:
    subject = f"{c.id} {kind} frontier"
    prev = ss.frontiers.get((c.id, kind))
    shown = frontiers.fmt(value)
    ctx.exercise("FRONT-3" if prev is None else "FRONT-4", "FRONT-5", "FRONT-10")
    if prev == EMPTY:
        ctx.flag("FRONT-5", ss, subject, [f"{kind} absent: it was already reported []"], f"{kind}={shown}")
        return
    if prev is None and value < c.as_of:
        ctx.flag("FRONT-3", ss, subject, [f"a first report >= as_of [{c.as_of}]"], f"{kind}={shown}")
    elif prev is not None and value < prev:
        ctx.flag(
            "FRONT-4", ss, subject, [f"a report >= the last one, {frontiers.fmt(prev)}"], f"{kind}={shown}"
        )
        return
    elif prev is not None and value == prev:
        ctx.exercise("FRONT-11")
    if c.kind == "mv" and kind == "write":
        allowed = ctx.shards.upper(c.target_shard)
        why = f"the target shard {c.target_shard}'s upper {frontiers.fmt(allowed)}"
    else:
        allowed = allowed_max(it, c)
        why = f"max(as_of, input upper) = {frontiers.fmt(allowed)}"
    dropped_to_empty = value == EMPTY and not c.live
    if value > allowed and not dropped_to_empty:
        ctx.flag(
            "FRONT-10", ss, subject, [f"{kind} <= {why}"], f"{kind}={shown}, ahead of what storage made final"
        )
    ss.frontiers[(c.id, kind)] = value if prev is None else max(prev, value)
    ctx.discharged(ctx.obligations.discharge_group(("front", ss.name, c.id, kind), value))


def refresh(ctx: Context, it: Iteration) -> None:
    """Open the frontier obligations that the current state makes due."""
    if not it.init_complete:
        return
    for c in it.collections.values():
        if c.kind not in ("index", "mv") or not it.ready(c):
            continue
        for ss in ctx.active_streams(it):
            if c.live:
                _owe_progress(ctx, it, ss, c)
            else:
                _owe_drop(ctx, ss, c)


def _progress(ss: StreamState, gid: str, kind: FrontierKind) -> str:
    v = ss.frontiers.get((gid, kind))
    return "no report of this kind" if v is None else f"last report {frontiers.fmt(v)}"


def _owe_progress(ctx: Context, it: Iteration, ss: StreamState, c: Collection) -> None:
    for kind in FRONTIER_KINDS:
        if c.kind == "mv" and kind == "write":
            bound, base = write_bound(ctx, it, c)
        else:
            bound, base = progress_bound(it, c), "FRONT-9"
        reported = ss.frontiers.get((c.id, kind))
        if bound is None or (reported is not None and reported >= bound):
            continue
        rule_id = cite(
            ctx,
            base,
            carried_first_report=c.carried_over and reported is None,
            write_from_earlier=base == "RO-2",
        )
        ctx.owe(
            rule_id,
            ss,
            ("front9", ss.name, c.id, kind, bound),
            f"{c.id} {kind} frontier",
            f"a report >= {frontiers.fmt(bound)}",
            group=("front", ss.name, c.id, kind),
            target=bound,
            progress=lambda ss=ss, gid=c.id, kind=kind: _progress(ss, gid, kind),  # type: ignore[misc]
        )


def _owe_drop(ctx: Context, ss: StreamState, c: Collection) -> None:
    for kind in FRONTIER_KINDS:
        key = ("front6", ss.name, c.id, kind)
        if ss.frontiers.get((c.id, kind)) == EMPTY or ctx.obligations.seen(key):
            continue
        ctx.obligations.cancel_where(
            lambda ob, ss=ss, kind=kind: ob.group == ("front", ss.name, c.id, kind) and ob.target != EMPTY  # type: ignore[misc]
        )
        ctx.owe(
            cite(ctx, "FRONT-6"),
            ss,
            key,
            f"{c.id} {kind} frontier",
            "[] after AllowCompaction(id, [])",
            group=("front", ss.name, c.id, kind),
            target=EMPTY,
            progress=lambda ss=ss, gid=c.id, kind=kind: _progress(ss, gid, kind),  # type: ignore[misc]
        )
