"""Section 11 (status): hydration reports name live collections and never un-hydrate."""

from __future__ import annotations

from compute_protocol.v1 import response_pb2

from conformance.oracle.context import Context
from conformance.oracle.state import Iteration, StreamState
from conformance.wire.ids import gid_str


def on_status(ctx: Context, it: Iteration, ss: StreamState, msg: response_pb2.ProtoStatusResponse) -> None:
    ctx.exercise("STATUS-2")
    if msg.WhichOneof("kind") != "operator_hydration":
        return  # no other kind exists; an empty Status carries no claim
    h = msg.operator_hydration
    gid = gid_str(h.collection_id)
    subject = f"status of {gid}"
    c = it.collections.get(gid)
    ctx.exercise("STATUS-1", "RECON-1")
    if c is None:
        # Only exports are collections: an object a dataflow builds has no lifecycle of its own
        # (upstream reports hydration per export id, `report_operator_hydration`).
        expected = "Status only for collections (exports) this iteration created"
        what = f"a Status for {gid}, " + ("an object, not an export" if gid in it.built else "never created")
        ctx.flag_not_created(ss, gid, subject, "a Status", "STATUS-1", expected, what)
        return
    if ss.finished(c):
        ctx.flag(
            "STATUS-1",
            ss,
            subject,
            [f"no Status once {gid} has finished (spec 11, STATUS-1)"],
            f"a Status for finished {c.kind.replace('_', '-')} {gid}",
        )
        return
    key = (gid, h.lir_id, h.worker_id)
    before = ss.hydration.get(key)
    ctx.exercise("STATUS-3")
    if before and not h.hydrated:
        ctx.flag(
            "STATUS-3",
            ss,
            f"hydration of {gid} lir {h.lir_id} worker {h.worker_id}",
            ["hydrated stays true once reported true"],
            "hydrated=false after hydrated=true",
        )
    ss.hydration[key] = bool(before) or h.hydrated
