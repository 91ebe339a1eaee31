"""Section 7 of docs/spec.md: Compaction."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 7
TITLE = "Compaction"

RULES: tuple[Rule, ...] = (
    Rule(
        id="COMPACT-1",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "For each collection, compaction frontiers never decrease, name a live collection of "
            "this iteration, and nothing names it after `[]`. The suite never sends a non-empty "
            "compaction for a materialized-view sink. Unlike upstream, it may compact an index "
            "beyond the time of a peek that is still pending (PEEK-13). Like upstream's controller, "
            "whose read holds on an index's dependants keep it alive, it never drops an index while a "
            "dataflow importing it has a live export, and at the end of a run it drops importers before "
            "the indexes they read: what a replica owes an importer whose index was dropped is settled "
            "nowhere upstream."
        ),
        upstream=("R45", "R50"),
        observed_by="n/a",
    ),
    Rule(
        id="COMPACT-2",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "A compaction frontier beyond the collection's upper, or a non-empty frontier for a "
            "sink, has no visible effect; the replica must accept it (TRANS-3)."
        ),
        upstream=("R46", "R48"),
        observed_by="the suite accepts both",
    ),
)
