"""Section 2, robustness: how the replica takes a command that breaks a CTRL rule on purpose.

A robustness probe is a command sent with a `probe` label (`Stream.send(..., probe=...)`,
recorded in its `Command` event) that names the rule it tests first, e.g. `"TRANS-4: a second
CreateInstance"`. One probe per stream; the oracle then judges, instead of TRANS-3:

- TRANS-4 (a malformed command, or one illegal in its stage): the replica owes the end of the
  stream, with `INVALID_ARGUMENT` or `FAILED_PRECONDITION` and a non-empty message. A label
  `"TRANS-4 (or accepted): ..."` marks a command that a replica may also accept (A1:
  `AllowWrites` before `InitializationComplete`): nothing is owed then, the stream may stay
  open, and an end is judged as above; a refused `AllowWrites` leaves the replica read-only.
- TRANS-5 (a command naming an id or uuid the iteration never created): a `CancelPeek` must be
  ignored (the stream stays open until the controller closes it); any other command is ignored
  or ends the stream with `FAILED_PRECONDITION`; no response may name that id.
- both: the replica keeps serving. The next iteration's streams must get an answer before the
  replica ends them (a dead process ends them at once, with `UNAVAILABLE`).

A third kind of probe exercises a permission instead: `"CREATE-4: ..."`, a connection whose
creation config differs from the first one the replica saw. The replica may serve it or end it
with `FAILED_PRECONDITION` (CREATE-4); any other end is judged as TRANS-4 (a command the
replica refuses ends the stream with a status and a message), and the next connection must be
served either way.

Both rules are SHOULD: `Context.flag` files their verdicts as warnings. A label that names no
robustness rule only suspends TRANS-3 on its stream (the replica may end it as it likes).
"""

from __future__ import annotations

import re

from compute_protocol.v1 import command_pb2, response_pb2

from conformance.history import StreamEnd
from conformance.oracle.context import Context
from conformance.oracle.state import StreamState
from conformance.quotes import clip
from conformance.wire.ids import gid_str, uuid_str

RULES = ("TRANS-4", "TRANS-5")
REJECTIONS = ("INVALID_ARGUMENT", "FAILED_PRECONDITION")
_LABEL = re.compile(r"\s*(TRANS-[45]|CREATE-4)\b")
_ACCEPTABLE = re.compile(r"\s*TRANS-4\s*\(or accepted\)")


def probe_rule(label: str) -> str:
    """The rule a probe label names first: a robustness rule, or CREATE-4 (`""` if none)."""
    m = _LABEL.match(label)
    return m.group(1) if m else ""


def on_probe(ctx: Context, ss: StreamState, cmd: command_pb2.ProtoComputeCommand, label: str) -> None:
    rule = probe_rule(label)
    if not rule:
        return
    kind = cmd.WhichOneof("kind") or "no kind"
    ss.probe_rule, ss.probe_kind = rule, kind
    if rule == "TRANS-4" and _ACCEPTABLE.match(label):
        ss.probe_acceptable = True
        r = ctx.replica
        ss.writable_before_probe = (r.writable, r.writable_seq, r.writable_iteration)
    elif rule == "TRANS-4":
        ctx.owe(
            "TRANS-4",
            ss,
            ("probe", ss.name),
            f"stream {ss.name}",
            f"its end with {' or '.join(REJECTIONS)} after the probe ({label})",
        )
    else:
        named = _named_by(cmd)
        if named:
            ss.probe_ids.add(named)


def on_end(ctx: Context, ss: StreamState, ev: StreamEnd) -> bool:
    """Judge the end of a probed stream, or of the first stream after one; True if judged here
    (then TRANS-3 does not apply: the end is about the probe)."""
    if ss.probe_rule == "CREATE-4":
        ctx.replica.after_probe = "TRANS-4"  # served or refused, the next connection must be served
        if ev.by_controller or ss.superseded:
            ctx.exercise("CREATE-4")  # served: the replica took the other config
            # ... and started afresh with it (spec 4): read-only until the next AllowWrites. The
            # next standard connection brings yet another config, so it starts afresh again.
            ctx.replica.writable, ctx.replica.writable_seq, ctx.replica.writable_iteration = False, None, None
        elif ev.code == "FAILED_PRECONDITION" and ev.details.strip():
            ctx.exercise("CREATE-4", "TRANS-4")  # refused, as CREATE-4 permits
        else:
            ctx.flag(
                "TRANS-4",
                ss,
                f"stream {ss.name}, probed with another creation config",
                ["the stream served", "the stream ends with FAILED_PRECONDITION and a message (CREATE-4)"],
                f"it ended with {_status(ev)}",
            )
        return True
    if ss.probe_rule:
        ctx.replica.after_probe = ss.probe_rule
        done = ctx.obligations.discharge(("probe", ss.name))
        if ev.by_controller or ss.superseded:
            if ev.by_controller and (ss.probe_rule == "TRANS-5" or ss.probe_acceptable):
                ctx.exercise(ss.probe_rule)  # ignored or accepted: open until the controller ended it
            return True
        if ss.writable_before_probe is not None:  # refused: the command did not take effect
            r = ctx.replica
            r.writable, r.writable_seq, r.writable_iteration = ss.writable_before_probe
        _judge_end(ctx, ss, ev, done is not None or ss.probe_acceptable)
        return True
    if ss.after_probe and not ev.by_controller and not ss.superseded:
        ctx.flag(
            ss.after_probe,
            ss,
            f"stream {ss.name}, the first after a {ss.after_probe} probe",
            ["the replica keeps serving new streams after a probe"],
            f"the replica ended it ({_status(ev)}) before it answered anything on it",
        )
        return True
    return False


def _judge_end(ctx: Context, ss: StreamState, ev: StreamEnd, owed: bool) -> None:
    rule, kind = ss.probe_rule, ss.probe_kind
    subject = f"stream {ss.name}, probed with {kind}"
    if rule == "TRANS-4":
        expected = [f"the stream ends with {' or '.join(REJECTIONS)} and a message"]
        if ev.code not in REJECTIONS:
            ctx.flag(rule, ss, subject, expected, f"it ended with {_status(ev)}")
        elif not ev.details.strip():
            ctx.flag(rule, ss, subject, expected, f"it ended with {ev.code} and no message")
        elif owed:
            ctx.exercise(rule)
        return
    if kind == "cancel_peek":
        ctx.flag(
            rule,
            ss,
            subject,
            ["a CancelPeek for an unknown uuid is ignored: the stream stays open"],
            f"the replica ended the stream ({_status(ev)})",
        )
    elif ev.code != "FAILED_PRECONDITION":
        ctx.flag(
            rule,
            ss,
            subject,
            ["the command is ignored", "the stream ends with FAILED_PRECONDITION"],
            f"the replica ended the stream ({_status(ev)})",
        )
    else:
        ctx.exercise(rule)


def on_response(ctx: Context, ss: StreamState, resp: response_pb2.ProtoComputeResponse) -> None:
    if ss.after_probe:
        ctx.exercise(ss.after_probe)  # the first answer after the probe: the replica still serves
        ss.after_probe = ctx.replica.after_probe = ""
    if ss.probe_ids:
        named = _named_in(resp)
        if named in ss.probe_ids:
            ctx.flag(
                "TRANS-5",
                ss,
                f"{named}, named only by a probe",
                ["no response about an id or uuid the iteration never created"],
                f"a {resp.WhichOneof('kind')} about it",
            )


def on_open(ctx: Context, ss: StreamState) -> None:
    """A stream opened after a probe's stream ended must show that the replica still serves."""
    ss.after_probe = ctx.replica.after_probe


def _status(ev: StreamEnd) -> str:
    return ev.code + (f" {clip(ev.details)!r}" if ev.details else "")


def _named_by(cmd: command_pb2.ProtoComputeCommand) -> str:
    kind = cmd.WhichOneof("kind")
    if kind == "cancel_peek":
        return uuid_str(cmd.cancel_peek)
    if kind == "allow_compaction":
        return gid_str(cmd.allow_compaction.id)
    if kind == "schedule":
        return gid_str(cmd.schedule)
    return ""


def _named_in(resp: response_pb2.ProtoComputeResponse) -> str:
    kind = resp.WhichOneof("kind")
    if kind == "frontiers":
        return gid_str(resp.frontiers.id)
    if kind == "peek_response":
        return uuid_str(resp.peek_response.id)
    if kind == "subscribe_response":
        return gid_str(resp.subscribe_response.id)
    if kind == "copy_to_response":
        return gid_str(resp.copy_to_response.id)
    if kind == "status":
        return gid_str(resp.status.operator_hydration.collection_id)
    return ""
