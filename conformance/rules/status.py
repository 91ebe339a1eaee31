"""Section 11 of docs/spec.md: Status."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 11
TITLE = "Status"

RULES: tuple[Rule, ...] = (
    Rule(
        id="STATUS-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A `Status` names a collection (an export) that the current iteration created and that "
            "has not *finished*: an index or view finishes when all three kinds were reported `[]`, a"
            " subscribe with its final batch or `DroppedAt`, a copy-to with its answer."
        ),
        upstream=("R81", "A13"),
        observed_by="a status for an unknown or finished collection",
    ),
    Rule(
        id="STATUS-2",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary="`Status` is optional and informational; it may be sent per worker, unmerged.",
        upstream=("R80", "R82"),
        observed_by="the suite never waits for it",
    ),
    Rule(
        id="STATUS-3",
        level="SHOULD",
        kind="safety",
        section=SECTION,
        summary=(
            "For each `(collection, lir_id, worker_id)`, `hydrated` never goes from true back to false."
        ),
        upstream=("R82",),
        observed_by="a false after a true",
    ),
)
