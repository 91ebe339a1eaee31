"""Legal variants of the reference replica, for proving that the suite accepts them.

The mutant zoo (`faults`) shows that every check can fail; this registry shows the other
direction: `python -m reference_replica --variant NAME` (repeatable) switches the replica to
another behaviour the protocol allows, and the conformance suite must still pass it, with
no warning. Each variant takes a branch the reference replica does not take by default:

- a MAY rule of docs/spec.md taken the other way (`permissions` names it; a MAY rule counts as
  *proven* once a variant that names it passed the suite, see `tests/variants`);
- a behaviour of upstream's replica at the pinned commit that the spec admits (`upstream`
  names it in docs/upstream.md);
- a freedom the spec leaves implicit: the order of independent answers, batching, timing,
  which kinds a report carries, the worker count.

Each variant hooks into the replica at the point it changes, with a line like

    if variants.on("repeat-frontier-reports"):
        ...

`on()` is a set lookup, so a replica without variants pays nothing measurable. A variant may
declare the variants it `conflicts` with (they change the same behaviour two ways); the
others compose, and `tests/variants` runs them in a few groups as well as one by one.

A variant the suite fails is a bug in the suite or an error in the spec, never in the
variant: fix the one at fault.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Variant:
    name: str
    exercises: str  # the rule or freedom it exercises, for the matrix's table
    description: str  # what the replica does differently
    legal: str  # why that is legal
    permissions: tuple[str, ...] = ()  # MAY rules of docs/spec.md whose other branch it takes
    upstream: str = ""  # the upstream behaviour it reproduces (docs/upstream.md), if any
    conflicts: tuple[str, ...] = ()  # variants that change the same behaviour another way


REGISTRY: Final[dict[str, Variant]] = {
    v.name: v
    for v in [
        # --- MAY rules taken the other way --------------------------------------------------
        Variant(
            "answer-during-initialization",
            "STAGE-2",
            "on a connection with nothing to reconcile, initialization commands are applied and "
            "answered at once instead of at InitializationComplete",
            "STAGE-2 lets a replica answer during initialization or defer every answer",
            permissions=("STAGE-2",),
            upstream="R12, A23",
        ),
        Variant(
            "fence-stale-epochs",
            "CREATE-2",
            "a CreateTimely whose epoch is not above every epoch seen before ends the stream with "
            "FAILED_PRECONDITION",
            "CREATE-2 lets a replica ignore the epoch; fencing is its other branch, and a controller "
            "that keeps CREATE-1 never sends a stale epoch",
            permissions=("CREATE-2",),
            upstream="R20, A2 (the replica at commit O fenced by epoch)",
        ),
        Variant(
            "refuse-other-config",
            "CREATE-4",
            "a connection whose timely or instance config differs from the replica's ends with "
            "FAILED_PRECONDITION, where the reference replica starts afresh with the new config",
            "CREATE-4 permits either; refusing locks out later controllers until a restart, which is "
            "why it is not the default",
            permissions=("CREATE-4",),
            upstream="R19, R22 (upstream halts and is restarted: the effect of starting afresh)",
        ),
        Variant(
            "suspend-until-scheduled",
            "DF-2",
            "a dataflow starts only once every one of its exports was scheduled, and the "
            "dataflows it imports from have started",
            "DF-2: upstream keeps a dataflow suspended until all its exports are scheduled",
            permissions=("DF-2",),
            upstream="R31 (compute_state.rs handle_schedule)",
        ),
        Variant(
            "repeat-frontier-reports",
            "FRONT-11",
            "every Frontiers report is followed by one repeating every kind not yet [] at its "
            "last value",
            "FRONT-11 allows equal repeats; kinds already [] are never repeated (FRONT-5, FRONT-7)",
            permissions=("FRONT-11",),
        ),
        Variant(
            "cancel-answers-if-ready",
            "PEEK-5",
            "a CancelPeek for a pending peek that is answerable right now is answered with its "
            "Rows or Error instead of Canceled",
            "PEEK-5: after CancelPeek the one answer may be Rows, Error or Canceled",
            permissions=("PEEK-5",),
            conflicts=("slow-cancel",),
        ),
        Variant(
            "slow-cancel",
            "PEEK-5",
            "a cancelled pending peek stays pending for 0.2 s: answered Rows or Error if it "
            "becomes answerable meanwhile, Canceled otherwise",
            "PEEK-5 (any of the three answers) and PEEK-2 (answered within the patience budget)",
            permissions=("PEEK-5",),
            conflicts=("cancel-answers-if-ready",),
        ),
        Variant(
            "no-status",
            "STATUS-2",
            "no Status is ever sent",
            "STATUS-2: Status is optional and informational",
            permissions=("STATUS-2",),
            conflicts=("status-hello",),
        ),
        Variant(
            "lazy-compaction",
            "COMPACT-2",
            "AllowCompaction only moves an index's logical since; the arrangement keeps all its "
            "history",
            "COMPACT-2: compaction has no visible effect beyond the since of a later peek (PEEK-9)",
            permissions=("COMPACT-2",),
        ),
        # --- upstream's own behaviours --------------------------------------------------------
        Variant(
            "suppress-early-progress",
            "FRONT-12",
            "no frontier report and no subscribe batch while a dataflow's inputs have not passed "
            "its as_of (a view's write frontier still follows its shard)",
            "FRONT-12: nothing is owed before the inputs pass as_of",
            permissions=("FRONT-12",),
            upstream="U1",
        ),
        Variant(
            "mfp-over-whole-arrangement",
            "PEEK-14",
            "an index peek evaluates its MFP on every row the index holds at any time, and checks "
            "negative multiplicities per row before consolidating the MFP output",
            "PEEK-14, and 8.2: a negative multiplicity before the MFP permits Error",
            permissions=("PEEK-14",),
            upstream="U2",
        ),
        Variant(
            "no-snapshot-skips-errors",
            "SUB-15",
            "a subscribe's error batches come only from its error updates: without with_snapshot "
            "the errors held at as_of are left out",
            "SUB-7 and SUB-15: only error updates require an error batch",
            permissions=("SUB-15",),
            upstream="U3",
        ),
        Variant(
            "until-closes-dataflow",
            "FRONT-13",
            "once a dataflow's inputs reach its until, it stops reading and its frontiers go to [] "
            "(importers follow)",
            "FRONT-13; the contents never change after until (5.2)",
            permissions=("FRONT-13",),
            upstream="U5",
        ),
        Variant(
            "config-survives-reconnect",
            "CONFIG-3",
            "parameters are kept across connections instead of starting from the defaults",
            "CONFIG-3: upstream's compute state survives reconciliation",
            permissions=("CONFIG-3",),
            upstream="U6",
        ),
        Variant(
            "persist-peek-stops-at-limit",
            "PEEK-15",
            "a persist peek with a limit reads the shard in its own order and stops after "
            "offset + limit output rows",
            "PEEK-15 and PEEK-16 (no order_by with a limit)",
            permissions=("PEEK-15",),
            upstream="U7",
            conflicts=("no-thinning",),
        ),
        Variant(
            "copy-to-ignores-read-only",
            "RO-5",
            "a copy-to writes its blob and answers without waiting for AllowWrites",
            "RO-5: upstream's copy-to does not look at the read-only mode",
            permissions=("RO-5",),
            upstream="U8",
        ),
        # --- freedoms the spec leaves implicit ------------------------------------------------
        Variant(
            "reverse-peek-order",
            "1.1, A18: order of answers",
            "pending peeks that become answerable together are answered newest first",
            "independent responses have no prescribed order (spec 1.1, A18)",
        ),
        Variant(
            "split-subscribe-batches",
            "SUB-1: batching",
            "every subscribe batch is split into one batch per update time",
            "SUB-1 and SUB-2 ask only for a contiguous chain of non-empty intervals",
            conflicts=("merge-subscribe-batches",),
        ),
        Variant(
            "merge-subscribe-batches",
            "SUB-1: batching",
            "subscribe progress is held for 0.1 s and sent as one batch",
            "SUB-1 and SUB-10: fewer, larger batches, still within the patience budget",
            conflicts=("split-subscribe-batches",),
        ),
        Variant(
            "frontier-kinds-one-by-one",
            "6: report shape",
            "each frontier kind goes out in a Frontiers message of its own",
            "FRONT-6 allows [] in one or more messages; no rule ties the kinds together (A14)",
            conflicts=("frontier-kinds-together",),
        ),
        Variant(
            "frontier-kinds-together",
            "6: report shape",
            "every Frontiers message carries all three kinds (those not yet [])",
            "FRONT-11 allows equal repeats of the kinds that did not advance",
            conflicts=("frontier-kinds-one-by-one",),
        ),
        Variant(
            "output-frontier-lags",
            "6, A14: kinds unrelated",
            "an index's output frontier is reported one step behind its write frontier",
            "no relation between the kinds is required (A14); the output still keeps up (FRONT-9)",
        ),
        Variant(
            "delayed-responses",
            "1.1: timing",
            "every response leaves 5 to 25 ms after it was produced, in order",
            "no rule bounds latency below the patience budget",
            conflicts=("bunched-responses",),
        ),
        Variant(
            "bunched-responses",
            "1.1: timing",
            "responses are held and sent in bunches every 50 ms",
            "no rule bounds latency below the patience budget",
            conflicts=("delayed-responses",),
        ),
        Variant(
            "status-hello",
            "STATUS-2: hellos",
            "an empty Status (a hello) is sent right after CreateInstance",
            "STAGE-1 allows responses after CreateInstance, and an empty Status names nothing",
            conflicts=("no-status",),
        ),
        Variant(
            "four-workers",
            "--workers 4",
            "four logical workers: data partitioned four ways, Status per worker",
            "the worker count is the replica's business; STATUS-2 allows per-worker status",
        ),
        Variant(
            "no-thinning",
            "8.1: finishing is advisory",
            "peek results are never thinned by the finishing's limit",
            "8.1 lets a replica thin, never requires it (PEEK-8)",
            conflicts=("persist-peek-stops-at-limit",),
        ),
        Variant(
            "split-peek-rows",
            "8.2: answer shape",
            "a row with multiplicity n is answered as up to n entries, in reverse order",
            "Rows are a multiset: upstream's answer concatenates per-worker runs",
        ),
        Variant(
            "rebuild-on-reconnect",
            "14: reconciliation",
            "reconciliation never reuses a dataflow: everything is rebuilt",
            "spec 14: a replica may reuse compatible dataflows; reusing none is the simplest",
        ),
    ]
}

_enabled: set[str] = set()


class UnknownVariant(ValueError):
    pass


class ConflictingVariants(ValueError):
    pass


def enable(names: Iterable[str]) -> None:
    """Turn variants on (replacing the current set); raises for an unknown name or a conflict."""
    wanted = set(names)
    unknown = sorted(wanted - REGISTRY.keys())
    if unknown:
        raise UnknownVariant(f"unknown variant(s) {', '.join(unknown)}; valid variants:\n{describe()}")
    clashes = sorted({f"{a} and {b}" for a in wanted for b in REGISTRY[a].conflicts if b in wanted and a < b})
    if clashes:
        raise ConflictingVariants(f"conflicting variants: {'; '.join(clashes)}")
    _enabled.clear()
    _enabled.update(wanted)


def on(name: str) -> bool:
    if name not in REGISTRY:
        raise KeyError(f"variant {name!r} is not registered in reference_replica.variants")
    return name in _enabled


def enabled() -> list[str]:
    return sorted(_enabled)


def compatible(names: Iterable[str]) -> bool:
    chosen = set(names)
    return not any(b in chosen for a in chosen for b in REGISTRY[a].conflicts)


def describe() -> str:
    return "\n".join(f"  {v.name:30} {v.exercises:28} {v.description}" for v in REGISTRY.values())
