"""Section 6 of docs/spec.md: Frontiers."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 6
TITLE = "Frontiers"

RULES: tuple[Rule, ...] = (
    Rule(
        id="FRONT-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "`Frontiers` are sent only for index exports and materialized-view sinks, never for "
            "subscribes or copy-tos."
        ),
        upstream=("R34", "R75", "R78"),
        observed_by="a `Frontiers` whose id is a subscribe or copy-to of the iteration",
    ),
    Rule(
        id="FRONT-2",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="No `Frontiers` for an id that the current iteration did not create.",
        upstream=("R35",),
        observed_by=(
            "a `Frontiers` for an id never exported in this iteration (ids of earlier iterations: RECON-1)"
        ),
    ),
    Rule(
        id="FRONT-3",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "The first reported value of each kind is `>=` the collection's `as_of` in the current iteration."
        ),
        upstream=("R36", "R94"),
        observed_by="a first report of some kind below `as_of`",
    ),
    Rule(
        id="FRONT-4",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "Frontiers never regress: each report of a kind is `>=` every earlier report of that "
            "kind for the collection (equal values are allowed)."
        ),
        upstream=("R37",),
        observed_by="a report below an earlier one of the same kind",
    ),
    Rule(
        id="FRONT-5",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "Once a kind has been reported as `[]`, later `Frontiers` for the collection leave "
            "that kind absent."
        ),
        upstream=("R38",),
        observed_by="a value for a kind already reported `[]`",
    ),
    Rule(
        id="FRONT-6",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "After `AllowCompaction(id, [])`, the replica eventually reports `[]` for every kind "
            "of `id` not already reported `[]`, in one or more messages."
        ),
        upstream=("R39",),
        observed_by="some kind of a dropped collection is not `[]` after the patience budget",
    ),
    Rule(
        id="FRONT-7",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "Once all three kinds of a collection have been reported `[]`, the replica sends no "
            "further `Frontiers` for it."
        ),
        upstream=("R39",),
        observed_by="any `Frontiers` for a collection whose three kinds are all `[]`",
    ),
    Rule(
        id="FRONT-8",
        level="SHOULD",
        kind="safety",
        section=SECTION,
        summary="A `Frontiers` message carries at least one kind.",
        upstream=("R43", "A15"),
        observed_by="a message with all three kinds absent",
    ),
    Rule(
        id="FRONT-9",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "The frontiers of a live, scheduled collection keep up with its inputs: once "
            "initialization is complete and the owed upper is beyond `as_of`, each kind eventually "
            "reaches at least the owed upper (capped at `until` when `until` is set), and `[]` when "
            "that is `[]`. For a materialized view the write frontier follows RO-3 instead."
        ),
        upstream=("R29", "R30", "R44"),
        observed_by="some kind stays below that bound after the patience budget",
    ),
    Rule(
        id="FRONT-10",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "No kind runs ahead of the inputs: a reported index frontier is `<= max(as_of, input "
            "upper)` unless `until` is set and the input upper has reached `until`; a "
            "materialized view's write frontier is `<=` its target shard's upper."
        ),
        upstream=("R40", "R41"),
        observed_by="a report above what the inputs (or the shard) made final",
    ),
    Rule(
        id="FRONT-11",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary="A report may repeat a value already reported.",
        upstream=("R37", "A15"),
        observed_by="the suite accepts equal reports",
    ),
    Rule(
        id="FRONT-12",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "While a collection's input upper is not beyond its `as_of`, the replica may report "
            "nothing for it (and send no subscribe batch for it), or report `as_of`."
        ),
        upstream=("R36", "U1"),
        observed_by="nothing is owed before the inputs pass `as_of` (FRONT-9, SUB-10)",
    ),
    Rule(
        id="FRONT-13",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "Once a dataflow's inputs have reached its `until`, its frontiers may advance to `[]`; a "
            "dataflow importing its index may follow it to `[]`, and answer peeks at any later time."
        ),
        upstream=("R33", "U5"),
        observed_by="the input upper counts such an import as `[]` (section 0)",
    ),
)
