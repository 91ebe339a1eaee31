"""How far the inputs let a collection go: the bounds behind FRONT-9/10, SUB-10, PEEK-6 ...

All bounds come from the suite-known storage state (the oracle's `ShardBook`, which the model
reads): a write by the suite is recorded before the replica can observe it, so a replica can
never legitimately be ahead of these values.

Two readings of "how far the inputs got" (they differ only for an index imported from a
dataflow with an `until`): the safety bounds (what a report or an answer may claim) use what
storage made *final*, where such an import counts as `[]` once its inputs reached the until;
the liveness bounds (what the replica owes) use what the inputs are *guaranteed* to reach,
where such an import counts only up to its until (the exporting dataflow owes no more).
"""

from __future__ import annotations

from conformance.oracle.context import Context
from conformance.oracle.state import Collection, Iteration, Peek
from conformance.wire.frontiers import EMPTY, Frontier


def input_upper(it: Iteration, c: Collection) -> Frontier:
    return it.model.input_upper(c.id)


def progress_bound(it: Iteration, c: Collection) -> Frontier | None:
    """FRONT-9 / SUB-10: the input upper, capped at `until`; None while the input upper is not
    beyond `as_of`.

    A replica may hold every report back until its inputs pass `as_of` (upstream suppresses a
    dataflow's early progress, `render.rs` `suppress_early_progress`, and reports nothing below
    `as_of`), so no progress is owed before that; once it is owed, it is at least `as_of + 1`.
    """
    upper = it.model.owed_upper(c.id)
    if upper <= c.as_of:
        return None
    return min(upper, c.until)


def allowed_max(it: Iteration, c: Collection, up_to: Frontier = EMPTY) -> Frontier:
    """FRONT-10: the furthest a report may claim; anything once the inputs reach `until` (or `up_to`)."""
    upper = input_upper(it, c)
    if upper >= min(c.until, up_to):
        return EMPTY
    return max(c.as_of, upper)


def final_at(it: Iteration, c: Collection, t: int) -> bool:
    """Spec 0: the contents at `t` are final once the input upper is beyond `min(t, until - 1)`
    (the safety reading: a replica may answer from then on)."""
    return input_upper(it, c) > min(t, c.until - 1)


def owed_final_at(it: Iteration, c: Collection, t: int) -> bool:
    """The liveness reading of `final_at`: from then on an answer about `t` is owed."""
    return it.model.owed_upper(c.id) > min(t, c.until - 1)


def peek_final(ctx: Context, it: Iteration, p: Peek) -> bool:
    if p.persist_shard:
        return ctx.shards.upper(p.persist_shard) > p.t
    c = it.collections.get(p.target)
    return c is not None and final_at(it, c, p.t)


def peek_owed_final(ctx: Context, it: Iteration, p: Peek) -> bool:
    if p.persist_shard:
        return ctx.shards.upper(p.persist_shard) > p.t
    c = it.collections.get(p.target)
    return c is not None and owed_final_at(it, c, p.t)


def cite(
    ctx: Context,
    base: str,
    *,
    carried_first_report: bool = False,
    write_from_earlier: bool = False,
) -> str:
    """The rule a newly due obligation cites (precedence: RECON-3, RO-2, STAGE-3, the base rule).

    An obligation that became due at `InitializationComplete` is one that the replica owed for
    commands of the initialization stage (STAGE-3); a first report of a collection carried over
    from an earlier iteration is RECON-3; a view's write progress owed only because an earlier
    iteration sent `AllowWrites` is RO-2.
    """
    if carried_first_report:
        return "RECON-3"
    if write_from_earlier:
        return "RO-2"
    if ctx.at_init_complete:
        return "STAGE-3"
    return base
