"""Section 5 of docs/spec.md: Dataflows."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 5
TITLE = "Dataflows"

RULES: tuple[Rule, ...] = (
    Rule(
        id="DF-1",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "A description is valid: `as_of` is present and not empty; `until`, when set, is "
            "beyond `as_of`; every source shard has `since <= as_of`; index imports name live "
            "indexes of this iteration whose compaction frontier is `<= as_of`; export ids are "
            "unique within the iteration and never reused; objects are in dependency order; every"
            " plan is well typed (section 5.3) and every `Get` names an import or an earlier "
            "object. A materialized view or copy-to reads only collections that never hold errors"
            " (5.3), and a materialized view's target shard has `upper >= as_of` and is written "
            "by no other writer while the sink is live."
        ),
        upstream=("R24..R27", "A22"),
        observed_by="n/a",
    ),
    Rule(
        id="DF-2",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "The replica may keep a dataflow suspended until `Schedule` has arrived for its "
            "exports. The suite schedules every export and opens no obligation for a dataflow "
            "until all its exports (and the dataflows it imports from) are scheduled."
        ),
        upstream=("R31",),
        observed_by="n/a",
    ),
    Rule(
        id="DF-3",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "The controller eventually sends `Schedule` for every export it created, and only for"
            " live exports."
        ),
        upstream=("R31", "R32"),
        observed_by="n/a",
    ),
    Rule(
        id="DF-4",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A materialized-view sink writes only to its own target shard, and after each of its "
            "writes the shard's contents at every time `t` in `[max(as_of, lower), new upper)` "
            "equal the view's contents at `t` (the sink corrects whatever the shard held)."
        ),
        upstream=("R88..R90 (upstream self-correcting persist sink)",),
        observed_by=(
            "a `CompareAndAppend` by the replica to another shard, or one after which the "
            "shard's contents at some time differ from the model"
        ),
    ),
)
