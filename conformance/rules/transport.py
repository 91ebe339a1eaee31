"""Section 2 of docs/spec.md: Transport and connection."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 2
TITLE = "Transport and connection"

RULES: tuple[Rule, ...] = (
    Rule(
        id="TRANS-1",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "The controller opens one `CommandResponseStream` per replica process and raises its "
            "gRPC message-size limits; commands and responses travel only on that stream."
        ),
        upstream=("R1", "R8"),
        observed_by="n/a",
    ),
    Rule(
        id="TRANS-2",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "A replica serves one controller stream at a time: when a new stream opens, the "
            "previous stream ends (a clean end or a gRPC status), and nothing produced for the "
            "old stream is ever sent on the new one."
        ),
        upstream=("R5", "R96"),
        observed_by=("the old stream is still open after the patience budget, once a new stream has started"),
    ),
    Rule(
        id="TRANS-3",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "On a command sequence that keeps every `CTRL` rule, the replica never ends the "
            "stream or fails it with a gRPC status, and its process does not exit: it keeps the "
            "stream open until the controller closes it. This covers every legal edge case (a "
            "huge `LIMIT`, compaction beyond the upper, repeated `AllowWrites`, a `CancelPeek` "
            "for an answered peek)."
        ),
        upstream=("R4", "R6", "R46", "R91"),
        observed_by="the response stream ends or fails while the controller still holds it open",
    ),
    Rule(
        id="TRANS-4",
        level="SHOULD",
        kind="robustness",
        section=SECTION,
        summary=(
            "On a malformed command, or a command that is illegal in the current stage, the "
            "replica ends that stream with `INVALID_ARGUMENT` or `FAILED_PRECONDITION` and a "
            "message naming the command and the problem, and it keeps serving new streams."
        ),
        upstream=("R6",),
        observed_by=(
            "robustness probes (test_robustness): the status code, then a new stream that completes "
            "the creation stage"
        ),
    ),
    Rule(
        id="TRANS-5",
        level="SHOULD",
        kind="robustness",
        section=SECTION,
        summary=(
            "A command naming an id or uuid that the iteration never created is either ignored (a"
            " `CancelPeek`) or ends the stream with `FAILED_PRECONDITION` (any other command); it"
            " never crashes the process nor produces a response about that id."
        ),
        upstream=("R45", "R50", "A9"),
        observed_by="robustness probes (test_robustness): a response about the unknown id, or a dead process",
    ),
    Rule(
        id="TRANS-6",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "Every response is a `ProtoComputeResponse` the controller can decode, within the "
            "controller's bounds: no response larger than it accepts, and no stream carrying more "
            "responses (or bytes) than it holds (the suite's defaults, 16 MiB per response and "
            "20,000 responses or 256 MiB per stream, are far above what its workloads need)."
        ),
        upstream=("R7", "R8"),
        observed_by=(
            "a response that does not decode, or one over the bounds (`--conformance-max-response-bytes`, "
            "`--conformance-max-stream-responses`, `--conformance-max-stream-bytes`): the controller "
            "refuses it and closes the stream"
        ),
    ),
)
