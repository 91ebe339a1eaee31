"""Sections 2 and 3: streams opening, ending and being replaced; responses before creation.

A new epoch starts a new protocol iteration and replaces every stream of the previous one: what
the old streams still owed is withdrawn (it can no longer be delivered, RECON-2), and each old
stream now owes its own end (TRANS-2). A stream that the replica ends while the controller
still holds it is TRANS-3, and the verdict lists everything that was outstanding.
"""

from __future__ import annotations

from conformance.history import Rejected, StreamEnd, StreamOpen
from conformance.oracle import check_probes
from conformance.oracle.context import Context
from conformance.oracle.model_api import ModelFactory
from conformance.oracle.state import Iteration, StreamState
from conformance.oracle.violation import ControllerError
from conformance.quotes import clip


def on_stream_open(ctx: Context, ev: StreamOpen, model_factory: ModelFactory) -> StreamState:
    if ev.stream in ctx.streams:
        raise ControllerError("TRANS-1", ev.stream, "a stream name is used once per history")
    if ev.patience:
        ctx.stream_patience[ev.stream] = ev.patience
    cur = ctx.current
    if cur is not None and ev.epoch == cur.epoch:
        it = cur  # one more process of a multi-process iteration
    else:
        if cur is not None and ev.epoch < cur.epoch:
            raise ControllerError(
                "CREATE-1", ev.stream, f"epoch {ev.epoch} is not above the last one, {cur.epoch}"
            )
        if cur is not None:  # earlier iterations were added when cur began
            ctx.replica.earlier_ids.update(cur.collections)
            ctx.replica.earlier_uuids.update(cur.peeks)
        ctx.exercise("CREATE-2")
        it = Iteration(ev.epoch, len(ctx.iterations) + 1, model_factory(ctx.shards))
        if cur is not None:
            it.config.carried = cur.config.final() - {None}  # CONFIG-3: parameters may survive
        if cur is not None:
            _supersede(ctx, cur, ev.stream)
        ctx.iterations.append(it)
    ss = StreamState(ev.stream, it, ev.address, opened=ev.time, process=len(it.streams))
    it.streams.append(ss)
    ctx.streams[ev.stream] = ss
    check_probes.on_open(ctx, ss)
    if len(it.streams) > 1:
        ctx.exercise("MULTI-2")
    return ss


def _supersede(ctx: Context, old: Iteration, by: str) -> None:
    for ss in old.streams:
        if ss.ended is not None:
            continue
        ss.superseded = True
        ctx.obligations.cancel_where(lambda ob, name=ss.name: ob.stream == name)  # type: ignore[misc]
        ctx.owe(
            "TRANS-2",
            ss,
            ("trans2", ss.name),
            f"stream {ss.name}",
            f"its end (a clean end or a gRPC status), since {by} opened",
        )


def on_stream_end(ctx: Context, ev: StreamEnd) -> None:
    ss = ctx.streams.get(ev.stream)
    if ss is None or ss.ended is not None:
        return
    outstanding = [
        ob.describe(ctx.now) for ob in ctx.obligations if ob.stream == ss.name and ob.rule != "TRANS-2"
    ]
    ss.ended = ev
    done = ctx.obligations.discharge(("trans2", ss.name))
    if done is not None:
        ctx.discharged([done])
    about_probe = check_probes.on_end(ctx, ss, ev)  # TRANS-4/5 instead of TRANS-3 (robustness probes)
    ctx.obligations.cancel_where(lambda ob: ob.stream == ss.name)
    if ev.gone:
        # The process died (or vanished): that is the run's verdict ("replica died"), with the exit
        # status and the log, not a decision of the replica to end the stream.
        ctx.notes.append(f"{ss.name} ended ({ev.code}) because the replica is gone: {ev.gone}")
        return
    ctx.exercise("TRANS-3")
    if ev.by_controller or ss.superseded or ss.probed or about_probe:
        return
    older = [o for o in ctx.streams.values() if o.address == ss.address and o.superseded and o.ended is None]
    if older:
        # Two streams were open at once: gRPC does not order their arrival at the replica, which
        # may have taken the older one for the newer and ended this one. Neither is judged.
        for o in older:
            ctx.obligations.discharge(("trans2", o.name))
        names = ", ".join(o.name for o in older)
        ctx.notes.append(
            f"{ss.name} ended ({ev.code}) while the older {names} was still open: the replica may have "
            f"received the streams in the other order, so neither TRANS-2 nor TRANS-3 is judged for them; "
            "open a new connection only once the previous one has ended or answered"
        )
        return
    status = ev.code + (f" {clip(ev.details)!r}" if ev.details else "")
    pending = "; ".join(outstanding) if outstanding else "nothing was outstanding"
    ctx.flag(
        "TRANS-3",
        ss,
        f"stream {ss.name}",
        ["the stream stays open until the controller closes it"],
        f"the replica ended the stream ({status}); outstanding: {pending}",
    )


_REJECTED = {
    "undecodable": "a response the controller cannot decode",
    "oversized": "a response larger than the controller accepts",
    "too_many": "more responses on one stream than the controller holds",
}


def on_rejected(ctx: Context, ev: Rejected) -> None:
    """TRANS-6: the controller refused a response (it then closes the stream itself)."""
    ss = ctx.streams.get(ev.stream)
    if ss is None:
        raise ControllerError("TRANS-1", ev.stream, "an event names a stream that was never opened")
    ident = f"{ev.size} bytes" + (f", sha256 {ev.sha256[:16]}" if ev.sha256 else "")
    quote = f", starting (hex) {ev.quote}" if ev.quote else ""
    ctx.flag(
        "TRANS-6",
        ss,
        f"stream {ss.name}",
        ["every response a ProtoComputeResponse within the controller's bounds"],
        f"{_REJECTED.get(ev.reason, ev.reason)} ({ident}{quote}): {ev.detail}",
    )
