"""Section 8 of docs/spec.md: Peeks and cancels."""

from __future__ import annotations

from conformance.rules.rule import Rule

SECTION = 8
TITLE = "Peeks and cancels"

RULES: tuple[Rule, ...] = (
    Rule(
        id="PEEK-1",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "At most one `PeekResponse` per peek in an iteration. A `CancelPeek` for an answered "
            "or already cancelled peek produces nothing."
        ),
        upstream=("R51", "R55"),
        observed_by="a second response for the same uuid",
    ),
    Rule(
        id="PEEK-2",
        level="MUST",
        kind="liveness",
        section=SECTION,
        summary=(
            "Every peek is eventually answered: once it is cancelled, once `t` is below its "
            "since, or once the target's contents at `t` are final (and the dataflow is scheduled"
            " and initialization is complete)."
        ),
        upstream=("R51", "R58"),
        observed_by="an obligation still open after the patience budget",
    ),
    Rule(
        id="PEEK-3",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="No `PeekResponse` for a uuid that the current iteration did not send as a `Peek`.",
        upstream=("R52",),
        observed_by="a response for an unknown uuid (uuids of earlier iterations: RECON-2)",
    ),
    Rule(
        id="PEEK-4",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="`Canceled` only for a peek whose `CancelPeek` was sent before the response.",
        upstream=("R53",),
        observed_by="`Canceled` for a peek never cancelled",
    ),
    Rule(
        id="PEEK-5",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "After `CancelPeek` for a pending peek, the one answer may be `Rows`, `Error` or "
            "`Canceled`, under the rules for each."
        ),
        upstream=("R4", "R54"),
        observed_by="the suite accepts all three",
    ),
    Rule(
        id="PEEK-6",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="No `Rows` before the target's contents at `t` are final.",
        upstream=("R58",),
        observed_by="`Rows` while the suite has not yet made the inputs final at `t`",
    ),
    Rule(
        id="PEEK-7",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "`Rows` hold exactly the MFP outputs of the matching rows of the contents at `t`, "
            "each with its multiplicity (when `finishing` has no limit)."
        ),
        upstream=("R57", "R60"),
        observed_by="a row missing, extra, or with the wrong count",
    ),
    Rule(
        id="PEEK-8",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "When `finishing` has a limit, `Rows` are a sub-multiset of the full answer that "
            "still holds every row that sorts before the `(offset + limit)`-th row (ties aside), "
            "and at least `min(offset + limit, size of the full answer)` rows that sort at or "
            "before that row."
        ),
        upstream=("R61", "A10"),
        observed_by="a thinned answer from which the finishing cannot be computed",
    ),
    Rule(
        id="PEEK-9",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="A peek at a time below its since is answered `Error`.",
        upstream=("R49", "R56", "A3", "A24"),
        observed_by="`Rows` for such a peek",
    ),
    Rule(
        id="PEEK-10",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A peek whose target holds errors at `t`, whose MFP errors on a matching row, or whose "
            "MFP output holds a negative multiplicity at `t`, is answered `Error` (unless PEEK-15 "
            "lets a persist peek stop before that row)."
        ),
        upstream=("R57", "R59"),
        observed_by="`Rows` for such a peek",
    ),
    Rule(
        id="PEEK-11",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "`Error` only when a condition of 8.2 holds, or one that 8.2 lists as also permitting "
            "`Error`."
        ),
        upstream=("R57",),
        observed_by="`Error` for a peek with none of the conditions",
    ),
    Rule(
        id="PEEK-12",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary="A result whose size exceeds `max_result_size` is answered `Error`.",
        upstream=("R62",),
        observed_by=("`Rows` larger than every `max_result_size` in effect while the peek was answerable"),
    ),
    Rule(
        id="PEEK-13",
        level="MUST",
        kind="safety",
        section=SECTION,
        summary=(
            "A peek keeps its own read access: compaction sent after the `Peek` does not change "
            "its answer (the since of 8.2 is the one in effect when the `Peek` arrived)."
        ),
        upstream=("R63", "B13"),
        observed_by="`Error` for a peek whose only cause is a compaction sent after it",
    ),
    Rule(
        id="PEEK-14",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "An index peek may evaluate its MFP on every row the index holds at any time before it "
            "weighs the row's multiplicity at `t`: an MFP error on a row that exists only at another "
            "time may then answer `Error`."
        ),
        upstream=("R57", "U2"),
        observed_by="the suite accepts `Error` for such a peek, and `Rows`",
    ),
    Rule(
        id="PEEK-15",
        level="MAY",
        kind="permission",
        section=SECTION,
        summary=(
            "A persist peek with a limit may stop reading after `offset + limit` output rows, taken "
            "in any order (PEEK-16): the rows it did not read need not make the answer `Error` (MFP "
            "errors, negative multiplicities)."
        ),
        upstream=("R61", "A10", "U7"),
        observed_by="the suite accepts `Rows` and `Error` for such a peek",
    ),
    Rule(
        id="PEEK-16",
        level="CTRL",
        kind="controller",
        section=SECTION,
        summary=(
            "A persist peek with a limit carries no `order_by` (upstream's controller sends a limit "
            "to a persist target only on its fast path for unordered limits)."
        ),
        upstream=("R61", "A10"),
        observed_by="n/a",
    ),
)
