"""Section 4 of docs/spec.md: Creation, epochs and the instance."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 4
TITLE = "Creation, epochs and the instance"

RULES: tuple[Rule, ...] = (
    Rule(
        id="CREATE-1",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "Each connection to a replica carries an epoch strictly greater than every epoch sent"
            " to that replica before. The suite uses `envd` = milliseconds since the Unix epoch "
            "at session start and `replica` = 1, 2, ... per connection."
        ),
        upstream=("R17",),
        observed_by="n/a",
    ),
    Rule(
        id="CREATE-2",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "The replica may ignore the epoch. It does not fence connections by epoch: the newest"
            " connection always wins (TRANS-2)."
        ),
        upstream=("R20", "A2"),
        observed_by="the suite never sends a lower epoch and never expects a rejection",
    ),
    Rule(
        id="CREATE-3",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "Every connection to a replica carries the same `ProtoTimelyConfig` and the same "
            "`ProtoInstanceConfig`; the logging config is empty (`enable_logging` false) and "
            "`expiration_offset` is unset."
        ),
        upstream=("R18", "R19", "R22", "R23"),
        observed_by="n/a",
    ),
    Rule(
        id="CREATE-4",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "On a connection whose timely or instance config differs from the one the replica's "
            "state was created with, the replica either starts afresh with the new config, as a "
            "freshly started replica would (all earlier state dropped in silence, read-only until "
            "`AllowWrites`), or ends the stream with `FAILED_PRECONDITION`; a replica that refuses "
            "keeps serving connections that bring its own config."
        ),
        upstream=("R19", "R22"),
        observed_by=(
            "a deliberate probe (test_robustness) sends another timely config: the suite accepts the "
            "stream served or ended with `FAILED_PRECONDITION`, and then wants the next connection served"
        ),
    ),
)
