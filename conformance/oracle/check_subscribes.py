"""Section 9 (subscribes): the batch chain, its contents, its end, and its liveness.

Each stream's batches for a subscribe form a chain. Structure (SUB-1..5, 11, 12, 14) is checked
on every batch. Contents (SUB-6) are checked by accumulating the updates and comparing the
accumulation with the model at every time the model says the collection may change, within the
batch's interval; after an error batch contents are no longer comparable and only structure
is checked. SUB-10 (progress) and SUB-13 (`DroppedAt` after a drop) are obligations. On a
multi-process replica each process's chain is checked for structure only: its updates are one
share of the collection's (MULTI-2), which the oracle does not merge.
"""

from __future__ import annotations

from compute_protocol.v1 import common_pb2, response_pb2

from conformance.oracle.bounds import allowed_max, cite, progress_bound
from conformance.oracle.config import classify, exceeds, fits, result_size
from conformance.oracle.context import Context
from conformance.oracle.describe import fmt_interval
from conformance.oracle.multisets import consolidate, explain_difference, fmt_multiset, subtract
from conformance.oracle.state import Chain, Collection, Iteration, StreamState
from conformance.quotes import clip
from conformance.wire import frontiers
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import gid_str
from conformance.wire.rows import Row, fmt_row, row_from_proto


def on_subscribe_response(
    ctx: Context, it: Iteration, ss: StreamState, msg: response_pb2.ProtoSubscribeResponseKind
) -> None:
    gid = gid_str(msg.id)
    c = it.collections.get(gid)
    subject = f"subscribe {gid}"
    ctx.exercise("SUB-14", "RECON-1")
    if c is None or c.kind != "subscribe":
        expected = "SubscribeResponses only for subscribes"
        if c is None:
            never = f"a SubscribeResponse for {gid}, never created in this iteration"
            ctx.flag_not_created(ss, gid, subject, "a SubscribeResponse", "SUB-14", expected, never)
        else:
            what = f"a SubscribeResponse for {gid}, a {c.kind.replace('_', '-')}"
            ctx.flag("SUB-14", ss, subject, [expected], what)
        return
    chain = ss.chain(gid)
    ctx.exercise("SUB-11")
    if chain.finished:
        ctx.flag("SUB-11", ss, subject, ["nothing after the batch with upper []"], _what(msg))
        return
    variant = msg.resp.WhichOneof("kind")
    if variant == "dropped_at":
        _dropped_at(ctx, ss, c, chain, _f(msg.resp.dropped_at))
    elif variant == "batch":
        _batch(ctx, it, ss, c, chain, msg.resp.batch)
    else:
        ctx.flag("SUB-1", ss, subject, ["a batch or DroppedAt"], "a SubscribeResponse with neither")


def _what(msg: response_pb2.ProtoSubscribeResponseKind) -> str:
    if msg.resp.WhichOneof("kind") == "dropped_at":
        return f"DroppedAt({frontiers.fmt(_f(msg.resp.dropped_at))})"
    b = msg.resp.batch
    return f"a batch {fmt_interval(_f(b.lower), _f(b.upper))}"


def _f(a: common_pb2.ProtoU64Antichain) -> Frontier:
    return min(a.elements) if a.elements else EMPTY


def _dropped_at(ctx: Context, ss: StreamState, c: Collection, chain: Chain, f: Frontier) -> None:
    subject = f"subscribe {c.id}"
    ctx.exercise("SUB-12")
    if c.dropped_seq is None:
        ctx.flag(
            "SUB-12",
            ss,
            subject,
            ["DroppedAt only after AllowCompaction(id, [])"],
            f"DroppedAt({frontiers.fmt(f)})",
        )
    elif chain.dropped_at:
        ctx.flag("SUB-12", ss, subject, ["at most one DroppedAt"], f"a second DroppedAt({frontiers.fmt(f)})")
    elif f != chain.upper:
        ctx.flag(
            "SUB-12",
            ss,
            subject,
            [f"DroppedAt({frontiers.fmt(chain.upper)}), the upper of the last batch"],
            f"DroppedAt({frontiers.fmt(f)})",
        )
    chain.dropped_at = True
    ctx.discharged(ctx.obligations.discharge_group(("sub", ss.name, c.id), EMPTY))


def _batch(
    ctx: Context,
    it: Iteration,
    ss: StreamState,
    c: Collection,
    chain: Chain,
    b: response_pb2.ProtoSubscribeBatch,
) -> None:
    subject = f"subscribe {c.id}"
    lower, upper = _f(b.lower), _f(b.upper)
    interval = fmt_interval(lower, upper)
    ctx.exercise("SUB-12")
    if chain.dropped_at:
        ctx.flag("SUB-12", ss, subject, ["nothing after DroppedAt"], f"a batch {interval}")
        return
    ctx.exercise("SUB-1", "SUB-2")
    expected_lower = 0 if chain.batches == 0 else chain.upper
    structural = None
    if lower != expected_lower:
        which = "first batch" if chain.batches == 0 else "next batch"
        structural = (
            "SUB-1",
            [f"the {which} starts at {frontiers.fmt(expected_lower)}"],
            f"a batch {interval}",
        )
    elif lower >= upper:
        structural = ("SUB-2", ["a non-empty interval (lower < upper)"], f"a batch {interval}")
    elif chain.batches == 0:
        ctx.exercise("SUB-3")
        if upper < c.as_of:
            structural = ("SUB-3", [f"a first batch with upper >= as_of [{c.as_of}]"], f"a batch {interval}")
    if structural is not None:
        ctx.flag(structural[0], ss, subject, structural[1], structural[2])
        chain.content_checked = False
    elif b.updates.WhichOneof("kind") == "error":
        _error_batch(ctx, it, ss, c, chain, lower, upper, b.updates.error)
    else:
        ups = [(u.timestamp, row_from_proto(u.row), u.diff) for u in b.updates.updates.updates]
        _updates_batch(ctx, it, ss, c, chain, lower, upper, ups)
    _advance(ctx, ss, c, chain, upper)


def _advance(ctx: Context, ss: StreamState, c: Collection, chain: Chain, upper: Frontier) -> None:
    chain.upper = max(chain.upper, upper)
    chain.batches += 1
    chain.last_seq = ctx.seq
    if upper == EMPTY:
        chain.finished = True
    ctx.discharged(ctx.obligations.discharge_group(("sub", ss.name, c.id), chain.upper))


def _sample_times(
    it: Iteration, c: Collection, lower: Frontier, upper: Frontier, extra: set[int]
) -> list[int]:
    """The times in the batch interval (and at or after as_of, below up_to) where contents may change."""
    lo, hi = max(lower, c.as_of), min(upper, c.up_to)
    if lo >= hi:
        return []
    times = {lo, *it.model.change_times(c.id, lo, hi)}
    times.update(t for t in extra if lo <= t < hi)
    return sorted(times)


def _expected_at(it: Iteration, c: Collection, t: int) -> dict[Row, int]:
    now = it.model.contents(c.id, t).rows
    if c.with_snapshot:
        return dict(now)
    return subtract(now, it.model.contents(c.id, c.as_of).rows)


def _error_time(it: Iteration, c: Collection, times: list[int]) -> int | None:
    """A time at which the collection holds errors (an error batch there is explained)."""
    return next((t for t in times if it.model.contents(c.id, t).holds_errors()), None)


def _error_change_time(it: Iteration, c: Collection, times: list[int]) -> int | None:
    """A time at which the subscribe's error updates are not empty: where the collection's
    errors change, or `as_of` itself when it holds errors there and the subscribe has a
    snapshot. A batch over such a time must carry `error` (SUB-7); without a snapshot the
    errors already held at `as_of` are not updates (upstream drops them with the snapshot)."""
    for t in times:
        now = it.model.contents(c.id, t).errors
        if t <= c.as_of:
            if c.with_snapshot and now:
                return t
        elif now != it.model.contents(c.id, t - 1).errors:
            return t
    return None


def _expected_change_size(it: Iteration, c: Collection, lower: Frontier, times: list[int]) -> int:
    before = _expected_at(it, c, lower - 1) if lower - 1 >= c.as_of else {}
    size = 0
    for t in times:
        now = _expected_at(it, c, t)
        size += result_size(subtract(now, before))
        before = now
    return size


def _config_start(ss: StreamState, c: Collection, chain: Chain) -> int:
    """A batch is produced after the previous one was sent: the replica had processed at least
    the creation and every command proven processed by responses received before that."""
    return max(c.seq, ss.processed_before(chain.last_seq)) if chain.last_seq else c.seq


def _error_batch(
    ctx: Context,
    it: Iteration,
    ss: StreamState,
    c: Collection,
    chain: Chain,
    lower: Frontier,
    upper: Frontier,
    text: str,
) -> None:
    ctx.exercise("SUB-7")
    explained = chain.errored
    times = _sample_times(it, c, lower, upper, set())
    if not explained and _error_time(it, c, times) is None and _error_change_time(it, c, times) is None:
        size = _expected_change_size(it, c, lower, times)
        start = _config_start(ss, c, chain)
        broken = classify(
            lambda w: exceeds(size, w),
            it.config,
            request_seq=c.seq,
            start=start,
            end=ctx.seq,
            otherwise="SUB-7",
        )
        if broken is not None:
            ctx.flag(
                broken,
                ss,
                f"subscribe {c.id}",
                ["updates: the collection holds no errors there and its changes fit max_result_size"],
                f"an error batch {fmt_interval(lower, upper)} ({clip(text)!r})",
            )
    chain.errored = True
    chain.content_checked = False


def _updates_batch(
    ctx: Context,
    it: Iteration,
    ss: StreamState,
    c: Collection,
    chain: Chain,
    lower: Frontier,
    upper: Frontier,
    ups: list[tuple[int, Row, int]],
) -> None:
    subject = f"subscribe {c.id}"
    interval = fmt_interval(lower, upper)
    ctx.exercise("SUB-4", "SUB-5", "SUB-6", "SUB-8")
    if chain.errored:
        ctx.flag(
            "SUB-8",
            ss,
            subject,
            ["an error batch: an earlier batch carried error"],
            f"an updates batch {interval}",
        )
    for t, r, _ in ups:
        if not lower <= t < upper or t < c.as_of:
            ctx.flag(
                "SUB-4",
                ss,
                subject,
                [f"updates at times in {interval} and >= as_of [{c.as_of}]"],
                f"an update ({t}, {fmt_row(r)}) in a batch {interval}",
            )
            chain.content_checked = False
            return
    seen: set[tuple[int, Row]] = set()
    for t, r, d in ups:
        if d == 0 or (t, r) in seen:
            what = "a zero diff" if d == 0 else "a repeated (time, row)"
            ctx.flag("SUB-5", ss, subject, ["consolidated updates"], f"{what}: ({t}, {fmt_row(r)}, {d:+d})")
            chain.content_checked = False
            return
        seen.add((t, r))
    for t, r, _ in ups:
        if t >= c.up_to:
            ctx.flag(
                "SUB-6",
                ss,
                subject,
                [f"nothing at times >= up_to [{c.up_to}]"],
                f"an update ({t}, {fmt_row(r)})",
            )
            chain.content_checked = False
            return
    times = _sample_times(it, c, lower, upper, {t for t, _, _ in ups})
    ctx.exercise("SUB-7")
    # A process of a multi-process replica may hold an error-free share (MULTI-2).
    bad = _error_change_time(it, c, times) if len(it.streams) == 1 else None
    if bad is not None:
        ctx.flag(
            "SUB-7",
            ss,
            subject,
            [f"an error batch: the collection's errors change at t={bad}"],
            f"an updates batch {interval}",
        )
        chain.content_checked = False
        return
    size = result_size(r for _, r, _ in ups)
    start = _config_start(ss, c, chain)
    ctx.exercise("SUB-9")
    broken = classify(
        lambda w: fits(size, w), it.config, request_seq=c.seq, start=start, end=ctx.seq, otherwise="SUB-9"
    )
    if broken is not None:
        ctx.flag(
            broken,
            ss,
            subject,
            [f"an error batch: {size} bytes exceed max_result_size"],
            f"an updates batch of {size} bytes",
        )
        chain.content_checked = False
        return
    if not chain.content_checked or chain.errored or len(it.streams) > 1:
        return
    allowed = allowed_max(it, c, c.up_to)
    if upper > allowed:
        ctx.flag(
            "SUB-6",
            ss,
            subject,
            [f"a batch upper <= {frontiers.fmt(allowed)}: contents beyond the inputs' upper are not final"],
            f"a batch {interval}",
        )
        chain.content_checked = False
        return
    chain.updates.extend(ups)
    for t in times:
        got = consolidate((r, d) for tt, r, d in chain.updates if tt <= t)
        want = _expected_at(it, c, t)
        if got != want:
            basis = "contents" if c.with_snapshot else f"contents minus contents at as_of [{c.as_of}]"
            ctx.flag(
                "SUB-6",
                ss,
                subject,
                [f"accumulated updates at t={t} equal the {basis}: {fmt_multiset(want)}"],
                f"accumulation {fmt_multiset(got)} after a batch {interval}: {explain_difference(want, got)}",
            )
            chain.content_checked = False
            return


def refresh(ctx: Context, it: Iteration) -> None:
    """Owe progress for live subscribes (SUB-10) and `DroppedAt` for dropped ones (SUB-13)."""
    if not it.init_complete:
        return
    for c in it.collections.values():
        if c.kind != "subscribe" or not it.ready(c):
            continue
        for ss in ctx.active_streams(it):
            chain = ss.chains.get(c.id)
            if chain is not None and (chain.finished or chain.dropped_at):
                continue
            upper = chain.upper if chain is not None else 0
            group = ("sub", ss.name, c.id)
            if c.live:
                bound = progress_bound(it, c)
                if bound is None:
                    continue  # nothing owed before the inputs pass as_of
                target = EMPTY if bound >= c.up_to else bound
                if upper >= target:
                    continue
                awaited = (
                    "a batch with upper []" if target == EMPTY else f"batches up to {frontiers.fmt(target)}"
                )
                ctx.owe(
                    cite(ctx, "SUB-10"),
                    ss,
                    ("sub10", ss.name, c.id, target),
                    f"subscribe {c.id}",
                    awaited,
                    group=group,
                    target=target,
                    progress=lambda ss=ss, gid=c.id: _chain_progress(ss, gid),  # type: ignore[misc]
                )
            elif not ctx.obligations.seen(("sub13", ss.name, c.id)):
                ctx.obligations.cancel_where(lambda ob, group=group: ob.group == group)  # type: ignore[misc]
                ctx.owe(
                    cite(ctx, "SUB-13"),
                    ss,
                    ("sub13", ss.name, c.id),
                    f"subscribe {c.id}",
                    "DroppedAt (or a final batch) after AllowCompaction(id, [])",
                    group=group,
                    target=EMPTY,
                    progress=lambda ss=ss, gid=c.id: _chain_progress(ss, gid),  # type: ignore[misc]
                )


def _chain_progress(ss: StreamState, gid: str) -> str:
    chain = ss.chains.get(gid)
    if chain is None or chain.batches == 0:
        return "no batch"
    return f"{chain.batches} batch(es), chain upper {frontiers.fmt(chain.upper)}"
