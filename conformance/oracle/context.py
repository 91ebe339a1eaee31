"""The checkers' shared workspace: the clock, the verdicts, the obligations and the knowledge.

Every checker module is a set of plain functions that read the state and call `flag`, `owe`
and `exercise` here; none of them keeps state of its own, which is what lets the offline check
replay a history into a fresh context and reach the same verdicts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from conformance import quotes
from conformance.oracle.obligations import Obligation, ObligationBook
from conformance.oracle.shards import ShardBook
from conformance.oracle.state import Iteration, ReplicaKnowledge, StreamState
from conformance.oracle.violation import Violation
from conformance.quotes import clip
from conformance.rules import rule
from conformance.wire.frontiers import EMPTY

MAX_SAME_VERDICT = 3
"""Safety verdicts with the same rule, stream and subject kept in full; more are only counted."""


@dataclass
class Context:
    patience_override: float | None = None
    default_patience: float = 5.0
    now: float = 0.0
    seq: int = 0
    at_init_complete: bool = False
    violations: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)
    suppressed: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    exercised: Counter[str] = field(default_factory=Counter)
    obligations: ObligationBook = field(default_factory=ObligationBook)
    replica: ReplicaKnowledge = field(default_factory=ReplicaKnowledge)
    shards: ShardBook = field(default_factory=ShardBook)
    iterations: list[Iteration] = field(default_factory=list)
    streams: dict[str, StreamState] = field(default_factory=dict)
    stream_patience: dict[str, float] = field(default_factory=dict)
    failed_groups: set[tuple[str, str, Hashable]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # situations the oracle could not judge, and why

    # --- time and scope ---------------------------------------------------------------

    @property
    def current(self) -> Iteration | None:
        return self.iterations[-1] if self.iterations else None

    def patience(self, stream: str) -> float:
        if self.patience_override is not None:
            return self.patience_override
        return self.stream_patience.get(stream) or self.default_patience

    def active_streams(self, it: Iteration) -> list[StreamState]:
        """Streams of `it` that can still owe something: open and not replaced by a newer iteration."""
        return [ss for ss in it.streams if ss.ended is None and not ss.superseded]

    # --- verdicts ---------------------------------------------------------------------

    def exercise(self, *rule_ids: str) -> None:
        for rid in rule_ids:
            self.exercised[rid] += 1

    def flag(
        self,
        rule_id: str,
        stream: StreamState | str,
        subject: str,
        expected: Iterable[str],
        actual: str,
    ) -> Violation | None:
        """Record a verdict: MUST rules go to `violations`, SHOULD rules to `warnings`."""
        r = rule(rule_id)
        name = stream if isinstance(stream, str) else stream.name
        recent = () if isinstance(stream, str) else tuple(str(m) for m in stream.recent)
        self.exercised[rule_id] += 1
        key = (rule_id, name, subject)
        self.suppressed[key] += 1
        if self.suppressed[key] > MAX_SAME_VERDICT:
            return None
        # A safety net under every check's own quoting: no verdict copies a message whole.
        actual = clip(actual, 4 * quotes.limit())
        v = Violation(rule_id, name, self.now, self.seq, subject, tuple(expected), actual, recent)
        if r.level == "SHOULD":
            self.warnings.append(v)
        else:
            self.violations.append(v)
        return v

    def flag_not_created(
        self, ss: StreamState, gid: str, subject: str, response: str, rule_id: str, expected: str, actual: str
    ) -> None:
        """A `response` about `gid`, which this iteration never created: RECON-1 when an earlier
        iteration did (its state outlived the reconnect), else the response kind's own rule."""
        if gid in self.replica.earlier_ids:
            recon = "nothing about a collection of an earlier iteration that this one did not create"
            self.flag("RECON-1", ss, subject, [recon], f"{response} on the new connection")
        else:
            self.flag(rule_id, ss, subject, [expected], actual)

    # --- obligations ------------------------------------------------------------------

    def owe(
        self,
        rule_id: str,
        stream: StreamState,
        key: Hashable,
        subject: str,
        awaited: str,
        *,
        group: Hashable = None,
        target: int = EMPTY,
        progress: Callable[[], str] | None = None,
    ) -> None:
        """Open an obligation due now on `stream` (a no-op if it is already open)."""
        if self.obligations.seen(key):  # the refreshes re-owe on every event: skip building it again
            return
        self.obligations.open(
            Obligation(
                key=key,
                rule=rule_id,
                stream=stream.name,
                subject=subject,
                awaited=awaited,
                due=self.now,
                patience=self.patience(stream.name),
                group=group,
                target=target,
                progress=progress,
                baseline=Counter(stream.received),
            )
        )

    def discharged(self, obs: Iterable[Obligation]) -> None:
        for ob in obs:
            self.exercised[ob.rule] += 1

    def expire(self, now: float) -> list[Violation]:
        """Turn every obligation whose deadline passed before `now` into a liveness verdict."""
        out: list[Violation] = []
        for ob in self.obligations.expire(now):
            group = (ob.rule, ob.stream, ob.group if ob.group is not None else ob.key)
            self.exercised[ob.rule] += 1
            if group in self.failed_groups:
                continue  # one verdict per thing awaited; later milestones of it add nothing
            self.failed_groups.add(group)
            ss = self.streams.get(ob.stream)
            recent = tuple(str(m) for m in ss.recent) if ss is not None else ()
            v = Violation(
                ob.rule,
                ob.stream,
                now,
                self.seq,
                ob.subject,
                (ob.awaited,),
                f"nothing within {ob.patience:g} s (due since t={ob.due:.3f}); "
                f"arrived instead: {ob.arrived(ss.received if ss is not None else None)}",
                recent,
            )
            (self.warnings if rule(ob.rule).level == "SHOULD" else self.violations).append(v)
            out.append(v)
        return out
