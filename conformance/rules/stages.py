"""Section 3 of docs/spec.md: Stages."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 3
TITLE = "Stages"

RULES: tuple[Rule, ...] = (
    Rule(
        id="STAGE-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=("The replica sends no response on a connection before that connection's `CreateInstance`."),
        upstream=("R10",),
        observed_by="any response that arrives while `CreateInstance` has not been sent on the stream",
    ),
    Rule(
        id="STAGE-2",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "During initialization the replica may answer commands at once, or defer every answer"
            " until `InitializationComplete`."
        ),
        upstream=("R12", "A23"),
        observed_by=(
            "the suite waits for nothing before `InitializationComplete`, and accepts answers"
            " that arrive before it"
        ),
    ),
    Rule(
        id="STAGE-3",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "After `InitializationComplete`, the replica sends every answer it owes for commands "
            "received during initialization (peek answers, frontiers, subscribe batches, copy-to "
            "answers), under the same rules as for later commands."
        ),
        upstream=("R13",),
        observed_by=(
            "an obligation opened by a command sent during initialization is still open after"
            " the patience budget"
        ),
    ),
    Rule(
        id="STAGE-4",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "The first command of every connection is `CreateTimely` and the second "
            "`CreateInstance`; `InitializationComplete` follows exactly once; none of the three "
            "is repeated on a connection; `AllowWrites` is sent only after "
            "`InitializationComplete`."
        ),
        upstream=("R9", "R11", "R15", "A1"),
        observed_by="n/a",
    ),
    Rule(
        id="STAGE-5",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "A command names only collections of the current iteration: `CreateDataflow` comes "
            "before any `Schedule`, `AllowCompaction` or `Peek` that names its exports, and "
            "nothing names a collection after it was dropped."
        ),
        upstream=("R14", "R32", "R45"),
        observed_by="n/a",
    ),
)
