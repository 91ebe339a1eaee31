"""Section 14 of docs/spec.md: Reconnection and reconciliation."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 14
TITLE = "Reconnection and reconciliation"

RULES: tuple[Rule, ...] = (
    Rule(
        id="RECON-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A collection of an earlier iteration that the current iteration did not create is "
            "dropped in silence: no `Frontiers`, `SubscribeResponse`, `CopyToResponse` or "
            "`Status` about it on the new connection."
        ),
        upstream=("R93", "R96", "A8"),
        observed_by="a response naming such an id",
    ),
    Rule(
        id="RECON-2",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "Peeks of earlier iterations are never answered on a later connection, unless the "
            "later iteration sent the same uuid again (then it gets exactly one answer there)."
        ),
        upstream=("R64", "R96"),
        observed_by="a response for a uuid that only an earlier iteration sent",
    ),
    Rule(
        id="RECON-3",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "Every index and view of the new iteration, reused or rebuilt, has its frontiers "
            "reported again from scratch, even if nothing changed since the last connection."
        ),
        upstream=("R94",),
        observed_by="a carried-over collection without reports after the patience budget",
    ),
    Rule(
        id="RECON-4",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "The controller's replay follows the order above, never repeats a `CancelPeek`, "
            "re-sends only peeks it still wants answered, and never lowers an `as_of`."
        ),
        upstream=("R7", "R17", "H1"),
        observed_by="n/a",
    ),
)
