"""Deliberate bugs, for proving that the suite catches them (the mutant zoo).

`python -m reference_replica --inject-fault NAME` (repeatable) turns a fault on. Each fault
breaks exactly one MUST rule of docs/spec.md, or one of the SHOULD robustness rules (TRANS-4,
TRANS-5: the suite fails those only with `--conformance-strict`), named in its entry, and hooks into the replica
at one of its central emission points with a line like

    if faults.on("duplicate-peek-response"):
        ...

The emission points are `server` (the bytes on the wire), `responses.Responder` (every response), `frontier_reports`
(frontier values), the exports (`exports/`: subscribe batches, copy-to answers, the view
sink's writes), the peeks (`peeks/`), the compute state (drops, cancels, reconnections) and
the engine (streams). `on()` is a set lookup, so the checks cost nothing measurable when no
fault is set.

Most faults come from bugs that happened in a real replica (`source`: the entry of the
project's research notes on real bugs, B01..B36); the others break what the spec needs
beyond them. `tests/mutants` runs the conformance suite against each fault and checks that
it fails citing the fault's rule (the kill matrix).

To add a fault: register it below with its rule id, then add its check at the right point.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Fault:
    name: str
    rule: str  # the docs/spec.md rule id it breaks
    description: str
    source: str = ""  # the real bug it reproduces (B01..B36), if any
    also: tuple[str, ...] = ()  # data faults: the same wrong data seen through another output's rule

    def __post_init__(self) -> None:
        object.__setattr__(self, "also", tuple(dict.fromkeys(r for r in self.also if r != self.rule)))

    @property
    def rules(self) -> tuple[str, ...]:
        """The rules a run may cite for this fault: its own, then the other outputs' views of it."""
        return (self.rule, *self.also)


# The rules wrong rows break in each output that shows them (see the data-semantics faults).
_ROWS: Final = ("PEEK-7", "PEEK-8", "SUB-5", "SUB-6", "DF-4", "COPY-4")
# ... and the rules about errors: a peek must be (or must not be) an Error, a batch must carry it.
_ERRORS: Final = ("PEEK-10", "PEEK-11", "SUB-7")
# A peek that matched the wrong rows: wrong rows (thinned or not), or an MFP error on a row it
# should not have matched (or none on one it should have).
_PEEKED: Final = ("PEEK-8", "PEEK-10", "PEEK-11")

REGISTRY: Final[dict[str, Fault]] = {
    fault.name: fault
    for fault in [
        # --- 2. transport -----------------------------------------------------------------
        Fault(
            "keep-old-stream",
            "TRANS-2",
            "a new stream does not end the previous one: the old stream stays open (a zombie)",
            "B32",
        ),
        Fault(
            "panic-on-partial-history",
            "TRANS-3",
            "once a stream has ended before its InitializationComplete, every later CreateInstance fails the stream",
            "B29",
        ),
        Fault(
            "crash-on-huge-limit",
            "TRANS-3",
            "a peek whose offset + limit overflows int64 ends the stream with INTERNAL",
            "B15",
        ),
        Fault(
            "crash-on-illegal-command",
            "TRANS-4",
            "a malformed command, or one illegal in its stage, makes the process exit instead of ending the stream",
        ),
        Fault(
            "crash-on-early-allow-writes",
            "TRANS-4",
            "AllowWrites before InitializationComplete makes the process exit (A1: accept it, or end the stream)",
        ),
        Fault(
            "refuses-unknown-cancel",
            "TRANS-5",
            "a CancelPeek of a uuid never sent on the stream ends it (FAILED_PRECONDITION) instead of being ignored",
        ),
        Fault(
            "truncated-peek-response",
            "TRANS-6",
            "a peek answer with rows goes on the wire one byte short (a framing bug): it does not decode",
        ),
        # --- 3. stages --------------------------------------------------------------------
        Fault(
            "hello-before-instance",
            "STAGE-1",
            "an empty Status (a hello) is sent as soon as CreateTimely arrives, before CreateInstance",
        ),
        Fault(
            "untracked-init-dataflows",
            "STAGE-3",
            "indexes and views created during initialization report no frontiers until dropped",
        ),
        Fault(
            "block-on-overlapping-connect",
            "STAGE-3",
            "once a stream has ended before its InitializationComplete, later streams are never answered",
            "B33",
        ),
        # --- 5. dataflows -----------------------------------------------------------------
        Fault(
            "mv-sink-no-correction",
            "DF-4",
            "the view sink appends only the updates after the shard's upper, never the correction at it",
        ),
        # --- 6. frontiers -----------------------------------------------------------------
        Fault(
            "frontiers-for-sinks",
            "FRONT-1",
            "a dropped subscribe or copy-to also gets a final [] Frontiers",
            "B01",
        ),
        Fault(
            "frontier-after-copy-to",
            "FRONT-1",
            "a copy-to that has answered gets a final [] Frontiers after its answer",
            "B02",
        ),
        Fault(
            "frontiers-for-objects",
            "FRONT-2",
            "each index also reports its frontiers under the id of the object it arranges",
        ),
        Fault(
            "raw-initial-frontier",
            "FRONT-3",
            "the first report of each kind is the operator's initial frontier [0], below as_of",
            "B03",
        ),
        Fault(
            "frontier-regression",
            "FRONT-4",
            "after a write frontier advances, report it once more one time lower",
        ),
        Fault(
            "repeat-empty-kind",
            "FRONT-5",
            "kinds reaching [] together are announced one by one, repeating the ones already []",
            "B04",
        ),
        Fault("silent-drop", "FRONT-6", "a dropped index or view is forgotten without any [] report", "B04"),
        Fault(
            "partial-final-report",
            "FRONT-6",
            "a dropped index or view reports [] for its write frontier only",
            "B04",
        ),
        Fault(
            "frontiers-after-final",
            "FRONT-7",
            "a collection whose three kinds reached [] has its final report sent twice",
            "B04",
        ),
        Fault(
            "stuck-input-frontier",
            "FRONT-9",
            "the input frontier is reported once and never advances (until the drop)",
            "B06",
        ),
        Fault(
            "frontier-ahead-of-input",
            "FRONT-10",
            "an index's write frontier is reported one time beyond what its inputs made final",
        ),
        Fault(
            "leak-dropped-dataflow",
            "FRONT-7",
            "a dropped index or view is not released: after its [] report it reports its frontiers again",
            "B36",
        ),
        Fault(
            "reuse-ignoring-deps",
            "FRONT-9",
            "reconciliation reuses a dataflow whose imported index is rebuilt: it reads the dropped old one",
            "B25",
        ),
        # --- 8. peeks ---------------------------------------------------------------------
        Fault("duplicate-peek-response", "PEEK-1", "answer every peek twice", "B11"),
        Fault(
            "canceled-after-answer",
            "PEEK-1",
            "a CancelPeek for an answered peek is answered Canceled (a second answer)",
            "B17",
        ),
        Fault("ignore-cancel", "PEEK-2", "a cancelled pending peek is forgotten without an answer", "B10"),
        Fault(
            "canceled-to-swapped-uuid",
            "PEEK-3",
            "every Canceled is also sent under the uuid with its halves swapped",
        ),
        Fault(
            "spurious-canceled",
            "PEEK-4",
            "an index peek that cannot be answered at once is answered Canceled",
            "B10",
        ),
        Fault(
            "peek-before-final",
            "PEEK-6",
            "an index peek two or more times beyond the frontier is answered at once with what is there",
        ),
        Fault(
            "peek-reads-before-t",
            "PEEK-7",
            "an index peek reads the contents strictly before t (an off-by-one in time)",
        ),
        Fault(
            "thinning-ignores-offset",
            "PEEK-8",
            "finishing thins to the first `limit` rows, forgetting the `offset` before them",
        ),
        Fault("peek-ignores-since", "PEEK-9", "a peek below the index's since is answered with Rows", "B09"),
        Fault(
            "peek-ignores-errors",
            "PEEK-10",
            "a peek at an index that holds errors at t is answered with its rows",
            "B21",
        ),
        Fault("error-at-since", "PEEK-11", "a peek exactly at its since is answered Error (t <= since)"),
        Fault(
            "peek-ignores-max-result-size",
            "PEEK-12",
            "peek results are never compared with max_result_size",
            "B14",
        ),
        Fault(
            "peek-no-read-hold",
            "PEEK-13",
            "a pending peek checks the since in effect when it is answered, not when it arrived",
            "B13",
        ),
        # --- 9. subscribes ----------------------------------------------------------------
        Fault(
            "subscribe-gap",
            "SUB-1",
            "batches without updates are not sent, leaving gaps in the chain (the final one is kept)",
        ),
        Fault(
            "subscribe-overlap",
            "SUB-1",
            "every batch after the first starts one time before the previous batch's upper",
        ),
        Fault(
            "subscribe-empty-batch",
            "SUB-2",
            "every batch is followed by an empty batch [upper, upper)",
        ),
        Fault(
            "subscribe-raw-initial-upper",
            "SUB-3",
            "a subscribe with as_of > 1 first sends the operator's initial batch [0, 1)",
            "B03",
        ),
        Fault(
            "subscribe-stamps-upper",
            "SUB-4",
            "updates are stamped with their batch's upper instead of their own time",
        ),
        Fault(
            "subscribe-unconsolidated",
            "SUB-5",
            "each update (t, row, d) is sent as two, (t, row, d + 1) and (t, row, -1)",
        ),
        Fault("subscribe-no-snapshot", "SUB-6", "a subscribe with_snapshot leaves out the snapshot at as_of"),
        Fault(
            "subscribe-ignores-errors",
            "SUB-7",
            "a batch over a time where the collection holds errors carries its rows instead",
            "B21",
        ),
        Fault(
            "subscribe-ignores-max-result-size",
            "SUB-9",
            "subscribe batches are never compared with max_result_size",
            "B14",
        ),
        Fault(
            "subscribe-never-ends",
            "SUB-10",
            "the final batch (upper []) is never sent when the subscribe reaches up_to or []",
            "B18",
        ),
        Fault(
            "droppedat-after-final",
            "SUB-11",
            "a subscribe dropped after its final batch still sends DroppedAt",
            "B18",
        ),
        Fault(
            "droppedat-wrong-frontier",
            "SUB-12",
            "DroppedAt carries the lower of the last batch instead of its upper",
        ),
        Fault("no-droppedat", "SUB-13", "drop subscribes silently, without DroppedAt", "B18"),
        Fault(
            "droppedat-for-all",
            "SUB-14",
            "a dropped index or view is also sent DroppedAt, as if it were a subscribe",
            "B02",
        ),
        # --- 10. copy-to ------------------------------------------------------------------
        Fault("copy-to-twice", "COPY-1", "a copy-to answers RowCount twice", "B23"),
        Fault(
            "dropped-for-all-sinks",
            "COPY-2",
            "a dropped subscribe or view is also sent a copy-to's Dropped",
            "B02",
        ),
        Fault(
            "copy-to-never-answers",
            "COPY-3",
            "a copy-to writes its blob but never sends RowCount",
            "B23",
        ),
        Fault(
            "copy-to-off-by-one",
            "COPY-4",
            "a copy-to writes the contents strictly before as_of (t < as_of instead of t <= as_of)",
        ),
        # --- 11. status -------------------------------------------------------------------
        Fault(
            "status-after-finish",
            "STATUS-1",
            "a collection that finished (final [] reports, final batch, copy-to answer) gets one more Status",
            "B27",
        ),
        Fault(
            "status-for-object",
            "STATUS-1",
            "each index also gets a Status under the id of the object it arranges, which is no collection",
        ),
        # --- 12. configuration ------------------------------------------------------------
        Fault(
            "pending-peek-keeps-limit",
            "CONFIG-1",
            "a peek compares its result with the max_result_size in effect when it arrived",
            "B14",
        ),
        Fault(
            "unset-resets-limit",
            "CONFIG-2",
            "an UpdateConfiguration without max_result_size resets it to unlimited",
        ),
        # --- 13. read-only mode -----------------------------------------------------------
        Fault(
            "write-before-allow",
            "RO-1",
            "view sinks write to their target shard before AllowWrites",
            "B34",
        ),
        Fault(
            "allow-writes-forgotten",
            "RO-2",
            "view sinks take AllowWrites as a per-connection permission: later connections never write",
            "B34",
        ),
        Fault(
            "read-only-sink-stays-read-only",
            "RO-3",
            "a view created while read-only never writes, even after AllowWrites",
            "B34",
        ),
        Fault(
            "sink-stuck-if-shard-sealed",
            "RO-3",
            "once another writer moved the target shard past the view's frontier, its write frontier stays at as_of",
            "B07",
        ),
        # --- 14. reconciliation -----------------------------------------------------------
        Fault(
            "loud-reconcile",
            "RECON-1",
            "collections that reconciliation drops are dropped through the normal path, which reports",
            "B20",
        ),
        Fault(
            "replay-old-peeks",
            "RECON-2",
            "pending peeks of the previous iteration are kept and answered on the new stream",
            "B12",
        ),
        Fault(
            "cancel-forgotten-peeks",
            "RECON-2",
            "pending peeks of the previous iteration are answered Canceled on the new stream",
            "B12",
        ),
        Fault(
            "no-rereport-after-reconcile",
            "RECON-3",
            "a reused collection keeps what it reported before, so an idle one is never re-reported",
            "B05",
        ),
        # --- 5.3 data semantics: the plan language's edges (docs/mutant-zoo.md) ---------------
        # Wrong data shows through every output that reads it: a peek (PEEK-7, or PEEK-8 when it
        # thins, PEEK-10/11 when the answer should or should not be an Error), a subscribe
        # (SUB-5/6/7), a view (DF-4) or a copy-to (COPY-4). `rule` is the first a peek sees.
        Fault(
            "nan-rows-never-equal",
            "SUB-5",
            "rows holding NaN are told apart by float equality (NaN != NaN): a NaN row never "
            "consolidates with its copy or its retraction",
            also=(*_ROWS, "PEEK-11"),
        ),
        Fault(
            "negative-zero-distinct",
            "PEEK-7",
            "-0.0 is not made 0.0: rows and keys holding it never meet those holding 0.0",
            also=(*_ROWS, "PEEK-11", "SUB-5"),
        ),
        Fault(
            "kinds-conflated-by-value",
            "PEEK-7",
            "the row encoding is memoised by value (1 == 1.0 == true): a row reuses the encoding of "
            "an equal row of other kinds, and comes back with its kinds",
            also=(*_ROWS, "SUB-5"),
        ),
        Fault("bool-encoded-as-int64", "PEEK-7", "a bool is written as an int64 (bool is an int)", also=_ROWS),
        Fault(
            "ints-through-double",
            "PEEK-7",
            "int64 values are read through a double: beyond 2^53 they are rounded (and saturate at the ends)",
            also=_ROWS,
        ),
        Fault("empty-string-is-null", "PEEK-7", "an empty string is read as null", also=_ROWS),
        Fault(
            "long-strings-truncated",
            "PEEK-7",
            "strings are cut to 255 UTF-8 bytes (a fixed-size buffer)",
            also=_ROWS,
        ),
        Fault(
            "null-equals-null",
            "PEEK-7",
            "comparisons treat null as a value (null = null is true, null sorts first) instead of yielding null",
            also=(*_ROWS, "PEEK-10", "PEEK-11", "SUB-7"),
        ),
        Fault(
            "null-hides-error",
            "PEEK-10",
            "a comparison or arithmetic whose first operand is null yields null without evaluating the "
            "second, so the second's error is lost",
            also=_ERRORS,
        ),
        Fault(
            "eager-and-or",
            "PEEK-11",
            "AND and OR evaluate every argument before deciding: an error in a skipped one is the result",
            also=_ERRORS,
        ),
        Fault("int-overflow-wraps", "PEEK-10", "int64 add, sub and mul wrap around (two's complement)", also=_ERRORS),
        Fault(
            "int-division-floors",
            "PEEK-7",
            "int64 division rounds toward minus infinity (Python's //) instead of toward zero",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "float-division-by-zero-is-inf",
            "PEEK-10",
            "float64 division by zero follows IEEE (an infinity, or NaN) instead of being an error",
            also=_ERRORS,
        ),
        Fault(
            "nan-compares-false",
            "PEEK-7",
            "comparisons with NaN follow IEEE (all false, NOT_EQ true) instead of NaN = NaN above all floats",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "null-predicate-keeps-row",
            "PEEK-7",
            "a predicate that is null keeps the row (only false drops it)",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "erroring-predicate-drops-row",
            "PEEK-10",
            "a predicate that errors drops the row instead of replacing it by the error",
            also=_ERRORS,
        ),
        Fault(
            "projected-away-expressions-skipped",
            "PEEK-10",
            "expressions the projection drops (and no predicate reads) are not evaluated, so their errors are lost",
            also=_ERRORS,
        ),
        Fault(
            "predicates-evaluated-eagerly",
            "PEEK-11",
            "every predicate is evaluated, also after one was false: a later one's error replaces the dropped row",
            also=_ERRORS,
        ),
        Fault(
            "global-reduce-over-empty-row",
            "PEEK-7",
            "a reduce without group key yields a row (count 0, nulls) over an empty input, as SQL does",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "reduce-keeps-emptied-group",
            "PEEK-7",
            "a group whose rows were all retracted keeps its last row",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "reduce-accepts-negative",
            "PEEK-10",
            "a group holding a negative multiplicity is aggregated instead of yielding the error",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault("sum-overflow-wraps", "PEEK-10", "SUM wraps around int64 instead of erroring", also=(*_ROWS, *_ERRORS)),
        Fault(
            "min-max-see-null",
            "PEEK-7",
            "MIN and MAX take null as the smallest value instead of skipping it",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "min-max-skip-nan",
            "PEEK-7",
            "MIN and MAX skip NaN (as pandas does) instead of ranking it above every float",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "count-counts-rows",
            "PEEK-7",
            "COUNT counts distinct rows instead of summing multiplicities",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "reduce-drops-null-keys",
            "PEEK-7",
            "groups whose key holds null are dropped (null never equals null, as in a join)",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "join-matches-null-keys",
            "PEEK-7",
            "join keys that are null on both sides match",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault(
            "negate-negates-errors",
            "PEEK-10",
            "negate negates the multiplicities of errors too, so an error and its negation cancel",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault("threshold-drops-errors", "PEEK-10", "threshold keeps rows only, and drops the errors", also=_ERRORS),
        Fault(
            "literal-matches-row-prefix",
            "PEEK-7",
            "a peek's literal is matched against the row's first columns, not the index's key columns",
            also=_PEEKED,
        ),
        Fault(
            "repeated-literal-counts-twice",
            "PEEK-7",
            "a literal repeated in a peek's key is looked up, and counted, once per occurrence",
            also=_PEEKED,
        ),
        Fault(
            "nulls-flip-with-desc",
            "PEEK-8",
            "finishing puts nulls last when descending (unless nulls_last, then first), as SQL's default does",
        ),
        Fault("nan-sorts-first", "PEEK-8", "finishing orders NaN below every other float"),
        Fault(
            "until-inclusive",
            "PEEK-7",
            "input updates at time until are kept (t <= until instead of t < until)",
            also=(*_ROWS, *_ERRORS),
        ),
        Fault("up-to-inclusive", "SUB-6", "a subscribe also emits the updates at time up_to", also=("SUB-4",)),
        Fault(
            "mv-sink-ignores-target-contents",
            "DF-4",
            "the view sink takes its target to hold nothing below as_of: rows an earlier writer left "
            "there are never corrected",
        ),
    ]
}

_enabled: set[str] = set()


class UnknownFault(ValueError):
    pass


def enable(names: Iterable[str]) -> None:
    """Turn faults on (replacing the current set); raises UnknownFault for a bad name."""
    wanted = set(names)
    unknown = sorted(wanted - REGISTRY.keys())
    if unknown:
        raise UnknownFault(f"unknown fault(s) {', '.join(unknown)}; valid faults:\n{describe()}")
    _enabled.clear()
    _enabled.update(wanted)


def on(name: str) -> bool:
    if name not in REGISTRY:
        raise KeyError(f"fault {name!r} is not registered in reference_replica.faults")
    return name in _enabled


def enabled() -> list[str]:
    return sorted(_enabled)


def describe() -> str:
    return "\n".join(f"  {f.name:34} breaks {f.rule:9} {f.description}" for f in REGISTRY.values())
