"""Section 12 of docs/spec.md: Configuration."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 12
TITLE = "Configuration"

RULES: tuple[Rule, ...] = (
    Rule(
        id="CONFIG-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A parameter takes effect as soon as it is received and applies to all state, "
            "including peeks that are pending and subscribes that are live."
        ),
        upstream=("R83", "A4"),
        observed_by=(
            "an answer that only a superseded `max_result_size` explains, for a result that "
            "became answerable after the change"
        ),
    ),
    Rule(
        id="CONFIG-2",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="A parameter left unset keeps its previous value.",
        upstream=("R84",),
        observed_by="an answer that only a reset-to-default explains",
    ),
    Rule(
        id="CONFIG-3",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "Until a connection sets a parameter, the value an earlier connection left may still be "
            "in effect, or the default."
        ),
        upstream=("R83", "R92", "U6"),
        observed_by="the suite accepts answers that either value explains",
    ),
)
