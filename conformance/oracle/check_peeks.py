"""Section 8 (peeks and cancels), RECON-2 and the configuration rules as peeks see them.

Every answer is judged against the conditions of spec 8.2, evaluated with the model on the
storage the suite wrote. Legal asynchrony is accepted by construction: an answer after
`CancelPeek` is judged like any other (PEEK-5), and a `CancelPeek` after the answer changes
nothing. A process of a multi-process replica holds only its share (MULTI-2): its answer is
checked on its own for everything but errors and contents, which are judged on the merged
answer once every process has answered with `Rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from compute_protocol.v1 import response_pb2

from conformance.oracle.bounds import cite, peek_final, peek_owed_final
from conformance.oracle.config import classify, describe_window, exceeds, fits, result_size
from conformance.oracle.context import Context
from conformance.oracle.describe import short_uuid
from conformance.oracle.model_api import PeekExpectationLike
from conformance.oracle.multisets import explain_difference, fmt_multiset
from conformance.oracle.state import Iteration, Peek, StreamState
from conformance.quotes import clip
from conformance.wire import frontiers
from conformance.wire.ids import uuid_str
from conformance.wire.rows import Row, entries_from_proto


def on_peek_response(
    ctx: Context, it: Iteration, ss: StreamState, msg: response_pb2.ProtoPeekResponseKind
) -> None:
    uuid = uuid_str(msg.id)
    subject = f"peek {short_uuid(uuid)}"
    p = it.peeks.get(uuid)
    ctx.exercise("PEEK-3", "RECON-2")
    if p is None:
        if uuid in ctx.replica.earlier_uuids:
            ctx.flag(
                "RECON-2",
                ss,
                subject,
                ["no answer: only an earlier iteration sent this peek, and this one did not re-send it"],
                "a PeekResponse on the new connection",
            )
        else:
            ctx.flag(
                "PEEK-3", ss, subject, ["no answer for a uuid this iteration never sent"], "a PeekResponse"
            )
        return
    ctx.exercise("PEEK-1")
    if uuid in ss.peek_answers:
        first, _ = ss.peek_answers[uuid]
        ctx.flag(
            "PEEK-1",
            ss,
            subject,
            ["nothing: the peek was already answered"],
            f"a second answer (first: {first})",
        )
        return
    variant = msg.resp.WhichOneof("kind") or "none"
    ss.peek_answers[uuid] = (variant, ctx.seq)
    ctx.discharged(ctx.obligations.discharge_group(("peek", ss.name, uuid)))
    if p.cancel_seq is not None:
        ctx.exercise("PEEK-5")
    ctx.exercise("PEEK-4")
    if variant == "canceled":
        if p.cancel_seq is None:
            ctx.flag(
                "PEEK-4", ss, subject, _alternatives(p, "Canceled"), "Canceled, but no CancelPeek was sent"
            )
        return
    if p.since <= p.t < _since_now(ctx, it, p):
        ctx.exercise("PEEK-13")  # compaction sent after the Peek passed t: the answer must ignore it
    if variant == "rows":
        _judge_rows(ctx, it, ss, p, subject, entries_from_proto(msg.resp.rows))
    elif variant == "error":
        _judge_error(ctx, it, ss, p, subject, msg.resp.error)
    else:
        ctx.flag("PEEK-7", ss, subject, _alternatives(p, ""), "a PeekResponse with no answer kind")


def _alternatives(p: Peek, excluding: str) -> list[str]:
    options = ["Rows (the contents at t)", "Error (when a condition of spec 8.2 holds)"]
    if p.cancel_seq is not None:
        options.append("Canceled (a CancelPeek was sent)")
    return [o for o in options if not excluding or not o.startswith(excluding)]


def _expected(it: Iteration, p: Peek) -> PeekExpectationLike:
    return it.model.expected_peek(p.cmd, p.since)


def _judge_rows(
    ctx: Context, it: Iteration, ss: StreamState, p: Peek, subject: str, entries: Sequence[tuple[Row, int]]
) -> None:
    ctx.exercise("PEEK-9", "PEEK-6")
    if p.t < p.since:
        ctx.flag(
            "PEEK-9",
            ss,
            subject,
            [f"Error: t={p.t} is below the peek's since {frontiers.fmt(p.since)}"],
            f"Rows ({len(entries)} entries)",
        )
        return
    if not peek_final(ctx, it, p):
        ctx.flag(
            "PEEK-6",
            ss,
            subject,
            [f"no Rows before the contents at t={p.t} are final"],
            f"Rows while {_finality(ctx, it, p)}",
        )
        return
    if min(map(itemgetter(1), entries), default=1) <= 0:
        ctx.flag("PEEK-7", ss, subject, ["every count at least 1"], "an entry with count 0")
        return
    single = len(it.streams) == 1
    expected = _expected(it, p)
    if single and _required_error(ctx, ss, p, subject, expected, f"Rows ({len(entries)} entries)"):
        return
    size = result_size(list(map(itemgetter(0), entries)))
    start = config_start(ss, p, p.final_seq or p.seq)
    ctx.exercise("PEEK-12", "CONFIG-1", "CONFIG-2")
    broken = classify(
        lambda w: fits(size, w), it.config, request_seq=p.seq, start=start, end=ctx.seq, otherwise="PEEK-12"
    )
    if broken is not None:
        window = it.config.window(start, ctx.seq)
        ctx.flag(
            broken,
            ss,
            subject,
            [
                f"Error: a result of {size} bytes exceeds max_result_size "
                f"(values in effect: {describe_window(window)})"
            ],
            f"Rows of {size} bytes",
        )
        return
    got: dict[Row, int] = dict(entries)  # in C; a row sent twice is summed below
    if len(got) != len(entries):
        got = {}
        for r, m in entries:
            got[r] = got.get(r, 0) + m
    if single:
        _judge_content(ctx, it, ss, p, subject, got, expected)
        return
    # A process holds only its share (MULTI-2): errors and contents are judged on the merge,
    # once every process answered with Rows (any other answer makes the merge an Error).
    ss.peek_rows[p.uuid] = got
    if all(s.peek_answers.get(p.uuid, ("",))[0] == "rows" for s in it.streams):
        merged: dict[Row, int] = {}
        for s in it.streams:
            for r, m in s.peek_rows[p.uuid].items():
                merged[r] = merged.get(r, 0) + m
        merged_subject = f"{subject}, merged over {len(it.streams)} processes"
        if not _required_error(ctx, ss, p, merged_subject, expected, "Rows from every process"):
            _judge_content(ctx, it, ss, p, merged_subject, merged, expected)


def _required_error(
    ctx: Context, ss: StreamState, p: Peek, subject: str, expected: PeekExpectationLike, actual: str
) -> bool:
    ctx.exercise("PEEK-10")
    if not expected.error_required:
        return False
    ctx.flag("PEEK-10", ss, subject, [f"Error: {why}" for why in expected.must_error], actual)
    return True


def _judge_content(
    ctx: Context,
    it: Iteration,
    ss: StreamState,
    p: Peek,
    subject: str,
    got: dict[Row, int],
    expected: PeekExpectationLike,
) -> None:
    limited = p.cmd.finishing.HasField("limit")
    ctx.exercise("PEEK-8" if limited else "PEEK-7")
    reason = it.model.check_finishing(got, expected.rows, p.cmd.finishing)
    if reason is None:
        return
    if limited:
        ctx.flag(
            "PEEK-8",
            ss,
            subject,
            [f"a thinning of {fmt_multiset(expected.rows)} from which the finishing can be computed"],
            f"Rows {fmt_multiset(got)}: {reason}",
        )
    else:
        ctx.flag(
            "PEEK-7",
            ss,
            subject,
            [f"Rows {fmt_multiset(expected.rows)}"],
            f"Rows {fmt_multiset(got)}: {explain_difference(expected.rows, got)}",
        )


def _judge_error(ctx: Context, it: Iteration, ss: StreamState, p: Peek, subject: str, text: str) -> None:
    ctx.exercise("PEEK-11")
    if p.t < p.since:
        ctx.exercise("PEEK-9")
        return
    final = peek_final(ctx, it, p)
    expected = _expected(it, p)
    if expected.error_permitted:
        ctx.exercise("PEEK-10")
        return
    size = expected.size()
    start = config_start(ss, p, (p.final_seq or p.seq) if final else ctx.seq)
    if exceeds(size, it.config.window(start, ctx.seq)):
        ctx.exercise("PEEK-12")
        return
    since_now = _since_now(ctx, it, p)
    if p.t < since_now:
        ctx.flag(
            "PEEK-13",
            ss,
            subject,
            [
                *_alternatives(p, "Error"),
                "Error for a cause other than a compaction sent after the Peek",
            ],
            f"Error({clip(text)!r}), while only a compaction sent after the Peek "
            f"(to {frontiers.fmt(since_now)}) explains it",
        )
        return
    broken = classify(
        lambda w: exceeds(size, w),
        it.config,
        request_seq=p.seq,
        start=start,
        end=ctx.seq,
        otherwise="PEEK-11",
    )
    assert broken is not None
    if not final:
        situation = f"while {_finality(ctx, it, p)}"
    else:
        situation = f"for a final, error-free result of {size} bytes ({fmt_multiset(expected.rows)})"
    ctx.flag(
        broken,
        ss,
        subject,
        _alternatives(p, "Error"),
        f"Error({clip(text)!r}) {situation}; "
        f"max_result_size in effect: {describe_window(it.config.window(start, ctx.seq))}",
    )


def config_start(ss: StreamState, p: Peek, final_seq: int) -> int:
    """Where the acceptable configuration window of an answer to `p` starts (spec 12).

    The replica computes the answer once it knows the contents are final, which is after the
    suite's write at `final_seq`; the configuration it uses then reflects at least the Peek
    and every command that responses received before that write prove processed. A command
    sent earlier but not yet proven processed may still be in flight, so its predecessor
    value stays acceptable (storage and commands travel on different streams).
    """
    return max(p.seq, ss.processed_before(final_seq))


def _since_now(ctx: Context, it: Iteration, p: Peek) -> int:
    """The since of the peek's target now, which compaction sent after the Peek may have raised."""
    if p.persist_shard:
        return ctx.shards.since(p.persist_shard)
    c = it.collections.get(p.target)
    return c.compaction if c is not None else 0


def _finality(ctx: Context, it: Iteration, p: Peek) -> str:
    if p.persist_shard:
        upper = frontiers.fmt(ctx.shards.upper(p.persist_shard))
        return f"shard {p.persist_shard}'s upper {upper} is not beyond t={p.t}"
    c = it.collections.get(p.target)
    if c is None:
        return "the target is unknown"
    bound = min(p.t, c.until - 1)
    return f"{c.id}'s input upper {frontiers.fmt(it.model.input_upper(c.id))} is not beyond {bound}"


def refresh(ctx: Context, it: Iteration) -> None:
    """Note when pending peeks became final, and owe an answer once one is due (PEEK-2).

    It runs after every event, so it visits only the peeks that can still change: a peek whose
    contents are final and that every active stream answered stays so (an iteration never gains
    streams), and leaves the work list."""
    active = ctx.active_streams(it)
    for p in list(it.unsettled_peeks.values()):
        if p.final_seq is None and peek_final(ctx, it, p):
            p.final_seq = ctx.seq
        streams = [ss for ss in active if p.uuid not in ss.peek_answers]
        if not streams and p.final_seq is not None:
            del it.unsettled_peeks[p.uuid]
            continue
        if not it.init_complete:
            continue
        if not streams or not _owed(ctx, it, p):
            continue
        for ss in streams:
            if ctx.obligations.seen(("peek", ss.name, p.uuid)):
                continue  # owed already (no subject to format again)
            ctx.owe(
                cite(ctx, "PEEK-2"),
                ss,
                ("peek", ss.name, p.uuid),
                f"peek {short_uuid(p.uuid)}",
                "an answer (Rows, Error or Canceled)",
                group=("peek", ss.name, p.uuid),
            )


def _owed(ctx: Context, it: Iteration, p: Peek) -> bool:
    if p.cancel_seq is not None or p.t < p.since:
        return True
    if p.final_seq is None or not peek_owed_final(ctx, it, p):
        return False
    if p.persist_shard:
        return True
    c = it.collections.get(p.target)
    return c is not None and it.dataflow_scheduled(c.dataflow) is not None
