"""Section 15 of docs/spec.md: Multi-process replicas."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 15
TITLE = "Multi-process replicas"

RULES: tuple[Rule, ...] = (
    Rule(
        id="MULTI-1",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary="The controller fans commands out as above and reconnects all processes together.",
        upstream=("R97", "R99"),
        observed_by="n/a",
    ),
    Rule(
        id="MULTI-2",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "Each process stream answers as one shard of the replica: every per-stream rule of "
            "sections 2 to 14 applies to each stream on its own (a process with no share of a "
            "result answers with empty `Rows`), and the controller merges."
        ),
        upstream=("R98", "A6"),
        observed_by="every stream on its own, and contents on the merge (below)",
    ),
)
