"""Section 9 of docs/spec.md: Subscribes."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 9
TITLE = "Subscribes"

RULES: tuple[Rule, ...] = (
    Rule(
        id="SUB-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A subscribe's batches form one contiguous chain: the first `lower` is `[0]`, and "
            "each later `lower` equals the previous `upper`."
        ),
        upstream=("R66", "R76"),
        observed_by="a gap or an overlap",
    ),
    Rule(
        id="SUB-2",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="Every batch interval is non-empty: `lower < upper`.",
        upstream=("R66", "A15"),
        observed_by="a batch with `lower = upper`",
    ),
    Rule(
        id="SUB-3",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="The first batch's `upper` is `>=` the subscribe's `as_of` in the current iteration.",
        upstream=("R67",),
        observed_by="a first batch ending below `as_of`",
    ),
    Rule(
        id="SUB-4",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="Every update lies in its batch's interval and at a time `>= as_of`.",
        upstream=("R68",),
        observed_by="an update outside `[lower, upper)` or below `as_of`",
    ),
    Rule(
        id="SUB-5",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="Batches are consolidated: diffs are non-zero and no two updates share `(time, row)`.",
        upstream=("R68",),
        observed_by="a zero diff or a repeated `(time, row)`",
    ),
    Rule(
        id="SUB-6",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "The accumulated updates match the collection: with `with_snapshot`, the sum of all "
            "updates at times `<= t` equals the contents at `t` for every `t` in `[as_of, "
            "upper)`; without, it equals contents at `t` minus contents at `as_of`; and nothing "
            "is emitted at times `>= up_to`."
        ),
        upstream=("R69",),
        observed_by="a batch after which the accumulation differs from the model",
    ),
    Rule(
        id="SUB-7",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A batch whose interval contains a time at which the subscribe's error updates are not "
            "empty carries `error` instead of updates: a time at which the collection's errors "
            "change, or `as_of` when the collection holds errors there and the subscribe has "
            "`with_snapshot`. An `error` batch needs such a time, a time at which the collection "
            "holds errors, a size over `max_result_size`, or an earlier `error` batch of the same "
            "subscribe (SUB-8)."
        ),
        upstream=("R73", "B21"),
        observed_by="an `updates` batch over error updates, or an unexplained `error` batch",
    ),
    Rule(
        id="SUB-8",
        level="SHOULD",
        kind="safety",
        section=SECTION,
        summary="Once a subscribe has sent an `error` batch, every later batch carries `error`.",
        upstream=("R73",),
        observed_by="an `updates` batch after an `error` batch",
    ),
    Rule(
        id="SUB-9",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="A batch whose updates exceed `max_result_size` carries `error` instead.",
        upstream=("R74",),
        observed_by=(
            "an `updates` batch larger than every `max_result_size` in effect while it could be produced"
        ),
    ),
    Rule(
        id="SUB-10",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "A live subscribe keeps up with its inputs: once the owed upper is beyond `as_of`, "
            "batches eventually cover every time below it (capped at `until` when set), and once that"
            " bound reaches `up_to` (or `[]`) a batch with `upper = []` ends it."
        ),
        upstream=("R30", "R70"),
        observed_by="the chain's upper stays below the bound after the patience budget",
    ),
    Rule(
        id="SUB-11",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "After a batch with `upper = []`, nothing more is sent for the subscribe, not even `DroppedAt`."
        ),
        upstream=("R70",),
        observed_by="any response for the subscribe after its final batch",
    ),
    Rule(
        id="SUB-12",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "`DroppedAt(f)` is sent only after `AllowCompaction(id, [])`, at most once, with `f` "
            "equal to the `upper` of the last batch sent (`[0]` if none), and nothing follows it."
        ),
        upstream=("R71", "A6"),
        observed_by=(
            "a `DroppedAt` without a drop, a second one, one with another frontier, or a batch after it"
        ),
    ),
    Rule(
        id="SUB-13",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "After `AllowCompaction(id, [])` of a subscribe that has not sent its final batch, "
            "`DroppedAt` eventually arrives."
        ),
        upstream=("R71",),
        observed_by="no `DroppedAt` within the patience budget",
    ),
    Rule(
        id="SUB-14",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="No `SubscribeResponse` for an id that is not a subscribe of the current iteration.",
        upstream=("R72",),
        observed_by="a response for any other id (ids of earlier iterations: RECON-1)",
    ),
    Rule(
        id="SUB-15",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "Without `with_snapshot`, errors the collection already holds at `as_of` may be left out:"
            " the subscribe may send `updates` batches until its errors change, or carry `error` at "
            "once."
        ),
        upstream=("R69", "R73", "U3"),
        observed_by="the suite accepts both (SUB-7)",
    ),
)
