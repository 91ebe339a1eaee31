"""Section 10 of docs/spec.md: Copy-to."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 10
TITLE = "Copy-to"

RULES: tuple[Rule, ...] = (
    Rule(
        id="COPY-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="At most one `CopyToResponse` per copy-to in an iteration.",
        upstream=("R77", "R78"),
        observed_by="a second response",
    ),
    Rule(
        id="COPY-2",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="No `CopyToResponse` for an id that is not a copy-to of the current iteration.",
        upstream=("R78",),
        observed_by="a response for any other id (ids of earlier iterations: RECON-1)",
    ),
    Rule(
        id="COPY-3",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "A copy-to is eventually answered: once dropped, or once the replica is writable and "
            "the contents at `as_of` are final."
        ),
        upstream=("R30", "R77"),
        observed_by="no answer within the patience budget",
    ),
    Rule(
        id="COPY-4",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "`RowCount(n)` only after the blob was written, holding exactly the contents at "
            "`as_of` with `n` their total multiplicity; `Error` only if the collection holds "
            "errors or a negative multiplicity at `as_of`, or the blob could not be written; "
            "`Dropped` only after `AllowCompaction(id, [])`."
        ),
        upstream=("R77",),
        observed_by="an answer that the blob or the model contradicts",
    ),
)
