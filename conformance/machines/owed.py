"""When is an answer owed? Decided from what the controller sent, never from what arrived.

The state machines generate a wait only when the spec obliges the replica to answer, so a
wait that times out is a liveness verdict, never a guess. Every function here reads only
the catalog (commands sent, uppers the suite wrote, facts established by earlier
successful waits), which keeps rule selection deterministic under replay (design rule:
preconditions depend only on what the controller sent).
"""

from __future__ import annotations

from conformance.steps.catalog import Catalog, Collection, Peek
from conformance.wire.frontiers import EMPTY, Frontier


def _ready(cat: Catalog, c: Collection) -> bool:
    return cat.initialized and cat.fully_scheduled(c.dataflow)


def progress_bound(cat: Catalog, c: Collection) -> Frontier | None:
    """FRONT-9 / SUB-10: the input upper, capped at until; None while it is not beyond as_of
    (a replica may hold every report back until then)."""
    df = cat.dataflows[c.dataflow]
    upper = cat.input_upper(c.dataflow)
    return None if upper <= df.as_of else min(upper, df.until)


def final_at(cat: Catalog, c: Collection, t: int) -> bool:
    """Contents at t are final once the input upper is beyond min(t, until - 1) (spec 0)."""
    df = cat.dataflows[c.dataflow]
    return cat.input_upper(c.dataflow) > min(t, df.until - 1)


def peek_owed(cat: Catalog, p: Peek) -> bool:
    """PEEK-2: cancelled, below its since, or final (scheduled, initialization complete)."""
    if p.iteration != cat.iteration or p.answered or not cat.initialized:
        return False  # before InitializationComplete a replica may defer every answer (STAGE-2)
    if p.cancelled or p.time < p.since:
        return True
    if p.target_kind == "persist":
        return cat.shards[p.target].upper > p.time
    c = cat.collections[p.target]
    return _ready(cat, c) and final_at(cat, c, p.time)


def frontier_wait(cat: Catalog, c: Collection, writable: bool) -> tuple[tuple[str, ...], Frontier] | None:
    """The kinds and the frontier they must eventually reach (FRONT-9, RO-3), or None."""
    if not c.live or c.kind not in ("index", "materialized_view") or not _ready(cat, c):
        return None
    bound = progress_bound(cat, c)
    if bound is None:
        return None  # nothing owed before the inputs pass as_of
    if c.kind == "index" or writable:
        return ("write", "input", "output"), bound
    return ("input", "output"), bound  # read-only MV: its write frontier follows the target shard (RO-3)


def subscribe_wait(cat: Catalog, c: Collection) -> Frontier | None:
    """SUB-10: batches reach the progress bound; the final batch (upper []) once it reaches up_to."""
    if not c.live or c.kind != "subscribe" or not _ready(cat, c):
        return None
    bound = progress_bound(cat, c)
    if bound is None:
        return None
    return EMPTY if bound >= _up_to(cat, c) else bound


def copy_to_owed(cat: Catalog, c: Collection, writable: bool) -> bool:
    """COPY-3: once dropped, or once writable and the contents at as_of are final."""
    if c.kind != "copy_to" or c.answered or c.iteration != cat.iteration:
        return False
    if not c.live:
        return cat.initialized
    return writable and _ready(cat, c) and final_at(cat, c, cat.dataflows[c.dataflow].as_of)


def _up_to(cat: Catalog, c: Collection) -> Frontier:
    df = cat.dataflows[c.dataflow]
    sink = next(s for s in df.step.get("sinks", []) if s["name"] == c.name)
    up_to = sink.get("up_to")
    return EMPTY if not up_to else int(up_to[0])
