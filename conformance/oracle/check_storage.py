"""Storage writes by the replica: read-only mode (RO-1, RO-5) and the view sink's contract (DF-4).

Storage events are not on a stream; verdicts about them are attributed to the first stream of
the current iteration, whose recent messages are the best context there is.
"""

from __future__ import annotations

from conformance.oracle.bounds import allowed_max
from conformance.oracle.context import Context
from conformance.oracle.describe import fmt_interval
from conformance.oracle.multisets import explain_difference, fmt_multiset
from conformance.oracle.state import Collection, Iteration, StreamState
from conformance.storage import StorageEvent
from conformance.wire import frontiers


def on_storage(ctx: Context, it: Iteration | None, ev: StorageEvent) -> None:
    """Judge `ev`, which the shard book has already applied."""
    if not ev.is_replica_write():
        return
    where: StreamState | str = it.streams[0] if it is not None and it.streams else "storage"
    target = ev.shard_id or f"blob {ev.key}"
    if not ctx.replica.writable and ev.kind == "blob_put" and ev.key in ctx.replica.copy_to_blobs_ever:
        # A copy-to (of this iteration, or of an earlier one whose write is still in flight) may
        # write its blob while read-only: upstream's does (RO-5).
        ctx.exercise("RO-5")
        return
    ctx.exercise("RO-1")
    if not ctx.replica.writable:
        ctx.flag(
            "RO-1",
            where,
            f"write to {target}",
            ["no storage write before AllowWrites was sent to the replica"],
            f"{ev.kind} by {ev.writer_id} ({len(ev.updates) or len(ev.rows)} rows) while read-only",
        )
        return
    if ev.kind != "append":
        return
    ctx.exercise("DF-4")
    view = _view_writing(it, ev.shard_id)
    if view is None:
        if ev.shard_id in ctx.replica.mv_targets_ever:
            return  # a view of an earlier iteration, or one just dropped: its last writes may be in flight
        ctx.flag(
            "DF-4",
            where,
            f"write to {ev.shard_id}",
            ["CompareAndAppend only to the target shard of a materialized view"],
            f"a CompareAndAppend by {ev.writer_id} to {ev.shard_id}, which is no view's target",
        )
        return
    assert it is not None
    _check_view_write(ctx, it, where, view, ev)


def _view_writing(it: Iteration | None, shard_id: str) -> Collection | None:
    if it is None:
        return None
    views = [c for c in it.collections.values() if c.kind == "mv" and c.target_shard == shard_id]
    live = [c for c in views if c.live]
    chosen = live or views
    return chosen[-1] if chosen else None


def _check_view_write(
    ctx: Context, it: Iteration, where: StreamState | str, c: Collection, ev: StorageEvent
) -> None:
    subject = f"view {c.id} -> {ev.shard_id}"
    allowed = allowed_max(it, c)
    if ev.upper > allowed:
        ctx.flag(
            "DF-4",
            where,
            subject,
            [f"a new upper <= {frontiers.fmt(allowed)}: the view's contents beyond it are not final"],
            f"a write advancing the shard to {frontiers.fmt(ev.upper)}",
        )
        return
    lo, hi = max(c.as_of, ev.lower), ev.upper
    if lo >= hi:
        return
    times = {lo, *it.model.change_times(c.id, lo, hi)}
    times.update(t for t in ctx.shards.update_times(ev.shard_id) if lo <= t < hi)
    for t in sorted(times):
        got = ctx.shards.contents_at(ev.shard_id, t)
        want = it.model.contents(c.id, t).rows
        if got != want:
            ctx.flag(
                "DF-4",
                where,
                subject,
                [f"shard contents at t={t} equal the view's: {fmt_multiset(want)}"],
                f"after a write {fmt_interval(ev.lower, ev.upper)} the shard holds "
                f"{fmt_multiset(got)}: {explain_difference(want, got)}",
            )
            return
