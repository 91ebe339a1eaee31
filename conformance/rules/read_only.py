"""Section 13 of docs/spec.md: Read-only mode and AllowWrites."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 13
TITLE = "Read-only mode and AllowWrites"

NEEDS_FRESH_REPLICA: tuple[str, ...] = ("RO-1", "RO-3")
"""Rules only a replica that never received `AllowWrites` can exercise (it is permanent, RO-2)."""

RULES: tuple[Rule, ...] = (
    Rule(
        id="RO-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "Until it is writable, the replica changes nothing in storage: no `CompareAndAppend`, and"
            " no `PutBlob` but a copy-to's (RO-5)."
        ),
        upstream=("R88",),
        observed_by="a write by the replica while no connection has sent `AllowWrites`",
    ),
    Rule(
        id="RO-2",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "`AllowWrites` is permanent: once writable, the replica keeps its materialized views "
            "written, also on later connections that never send `AllowWrites`."
        ),
        upstream=("R89",),
        observed_by=(
            "on such a connection, a view's write frontier stays below its inputs after the patience budget"
        ),
    ),
    Rule(
        id="RO-3",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "Read-only dataflows still compute and report: a view's output and input frontiers "
            "follow its inputs (FRONT-9), and its write frontier follows its target shard's upper"
            " while not writable (and its inputs once writable)."
        ),
        upstream=("R90",),
        observed_by="the write frontier stays below the bound after the patience budget",
    ),
    Rule(
        id="RO-4",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "`AllowWrites` is sent only after `InitializationComplete`, and at most once per "
            "connection in normal operation; the suite also sends it twice to probe idempotence, "
            "which the replica must survive (TRANS-3)."
        ),
        upstream=("R91", "A1"),
        observed_by="n/a",
    ),
    Rule(
        id="RO-5",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "A copy-to may write its blob and answer while the replica is read-only, or wait for "
            "`AllowWrites` (or its drop)."
        ),
        upstream=("R88", "U8"),
        observed_by="the suite owes an answer only once the replica is writable (COPY-3), and accepts an earlier one",
    ),
)
