"""What one state machine test did, counted as it runs: for the progress line, for
`--hypothesis-show-statistics` and for the report's timings.

A machine test runs silently for seconds to minutes, and Hypothesis's own statistics do not
see it (the machine runs inside an ordinary test function), so the suite counts for itself:
examples run (generated, and shrink candidates apart), steps executed and which ops they were
(the rules Hypothesis drew), the rules of the registry whose checks ran, the examples that
broke a MUST rule, and where the time went: in the driver (sending and waiting for the
replica), in Hypothesis's data generation (from Hypothesis's own statistics, when it delivers
them), and the rest (the oracle, planning, Hypothesis's engine).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis.errors import StopTest, UnsatisfiedAssumption

from conformance.steps.backend import Backend, CopyToAnswer, Finding, PeekAnswer
from conformance.steps.runner import StepRunner
from conformance.wire.frontiers import Frontier

Listener = Callable[["MachineStats"], None]


@dataclass
class MachineStats:
    test_id: str
    planned: int  # examples Hypothesis generates at most (the profile's max_examples)
    examples: int = 0  # examples run to their end while generating
    shrinks: int = 0  # shrink candidates run to their end
    invalid: int = 0  # examples Hypothesis abandoned (it counts them apart, as invalid)
    steps: int = 0  # steps executed, in every example (teardowns included)
    ops: Counter[str] = field(default_factory=Counter)  # those steps by op: the rules Hypothesis drew
    rules: set[str] = field(default_factory=set)  # registry rules whose checks ran
    failing: int = 0  # examples that broke a MUST rule (with the full patience)
    violated: set[str] = field(default_factory=set)
    waiting: float = 0.0  # seconds in the driver: sending, and waiting for the replica
    generating: float | None = None  # seconds Hypothesis spent drawing data (None: it did not say)
    hypothesis: str = ""  # Hypothesis's own description of its phases
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    listeners: list[Listener] = field(default_factory=list, repr=False)

    # ---- counting ----

    def example_ended(self, runner: StepRunner) -> None:
        """Called by the env when an example ends, before its counts are folded into the run's."""
        mode = str(getattr(runner, "mode", ""))
        if isinstance(sys.exc_info()[1], StopTest | UnsatisfiedAssumption):
            self.invalid += 1  # Hypothesis gave up on it (an unsatisfiable draw): not one of the N
        elif mode in ("shrink", "short"):
            self.shrinks += 1
        else:
            self.examples += 1
        self.steps += len(runner.executed)
        self.ops.update(str(step.get("op", "?")) for step in runner.executed)
        self.rules.update(rule for rule, n in runner.exercised.items() if n)
        must = {f.rule_id for f in runner.violations if f.level == "MUST"}
        if must and mode != "short":  # what the short patience finds is only a hint
            self.failing += 1
            self.violated |= must
        for listener in self.listeners:
            listener(self)

    def timed(self, factory: Callable[[float | None], Backend]) -> Callable[[float | None], Backend]:
        """`factory`, whose backends add the time spent in them to `waiting`."""

        def make(patience: float | None = None) -> Backend:
            return TimedBackend(factory(patience), self)

        return make

    def note_hypothesis(self, stats: Any) -> None:
        """Hypothesis's statistics of the run (`hypothesis.statistics.collector`: a StatisticsDict)."""
        from hypothesis.statistics import describe_statistics

        cases = [c for key, phase in stats.items() if key.endswith("-phase") for c in phase.get("test-cases", [])]
        self.generating = sum(float(c.get("drawtime", 0.0)) for c in cases)
        self.hypothesis = _without_events(describe_statistics(stats))

    def finish(self) -> None:
        if self.ended is None:
            self.ended = time.monotonic()

    # ---- showing ----

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def name(self) -> str:
        return self.test_id.rpartition("::")[2] or self.test_id

    def line(self, width: int = 0) -> str:
        """The progress line: examples done of N, steps, rules exercised, violations so far; in
        terser words when the full ones would not fit in `width` columns (0: any width)."""
        violated = ", ".join(sorted(self.violated))
        full = [f"{self.examples}/{self.planned} examples", f"{self.steps} steps", f"{len(self.rules)} rules exercised"]
        full.append(f"violations: {violated} in {_n(self.failing, 'example')}" if self.failing else "no violation")
        if self.shrinks:
            full.append(_n(self.shrinks, "shrink candidate"))
        text = f"{self.name}: {', '.join(full)}, {self.elapsed:.1f} s"
        if not width or len(text) <= width:
            return text
        short = [f"{self.examples}/{self.planned} ex", f"{self.steps} steps", f"{len(self.rules)} rules"]
        short.append(f"FAIL {violated}" if self.failing else "ok")
        if self.shrinks:
            short.append(f"{self.shrinks} shrinks")
        return f"{self.name}: {' '.join(short)} {self.elapsed:.1f}s"

    def describe(self) -> str:
        """The machine's statistics, as `--hypothesis-show-statistics` prints them."""
        total = self.elapsed
        per = self.steps / max(self.examples + self.shrinks + self.invalid, 1)
        lines = [
            f"{self.test_id}:",
            "",
            f"  - {self.examples} of {self.planned} examples generated ({self.invalid} invalid), "
            f"{_n(self.shrinks, 'shrink candidate')}; {self.steps} steps ({per:.1f} per example)",
        ]
        if self.generating is None:
            split = f"{self.waiting:.2f} s waiting for the replica (data generation: not reported by Hypothesis)"
        else:
            rest = max(total - self.waiting - self.generating, 0.0)
            split = (
                f"{self.generating:.2f} s generating data, {self.waiting:.2f} s waiting for the replica, "
                f"{rest:.2f} s in the suite (oracle, planning, Hypothesis's engine)"
            )
        lines.append(f"  - {total:.2f} s in all: {split}")
        drawn = ", ".join(f"{op} {n}" for op, n in sorted(self.ops.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"  - rules drawn (steps by op): {drawn or 'none'}")
        lines.append(f"  - registry rules exercised: {len(self.rules)}")
        if self.failing:
            lines.append(f"  - violations: {', '.join(sorted(self.violated))} in {_n(self.failing, 'example')}")
        else:
            lines.append("  - violations: none")
        if self.hypothesis:
            lines += ["", "  Hypothesis:", *("  " + x for x in self.hypothesis.splitlines())]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test_id,
            "examples": self.examples,
            "planned": self.planned,
            "shrinks": self.shrinks,
            "invalid": self.invalid,
            "steps": self.steps,
            "rules_exercised": len(self.rules),
            "failing_examples": self.failing,
            "violated": sorted(self.violated),
            "seconds": round(self.elapsed, 2),
            "waiting_s": round(self.waiting, 2),
            "generating_s": None if self.generating is None else round(self.generating, 2),
        }


def _without_events(text: str) -> str:
    """Hypothesis's description without its "Events" lists: for a state machine they are the
    reprs of every rule's precondition filter, hundreds of characters each."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.strip() == "- Events:":
            skipping = True
            continue
        if skipping and line.lstrip().startswith("* "):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class TimedBackend:
    """A Backend that adds the time spent in each of its calls to a MachineStats' `waiting`
    (everything else, e.g. `history_lines`, passes through untimed)."""

    def __init__(self, inner: Backend, stats: MachineStats) -> None:
        self._inner = inner
        self._stats = stats

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _timed(self, call: Callable[..., Any], *args: Any) -> Any:
        started = time.monotonic()
        try:
            return call(*args)
        finally:
            self._stats.waiting += time.monotonic() - started

    def connect(self, replay: Sequence[Any], pause: float = 0.0) -> None:
        self._timed(self._inner.connect, replay, pause)

    def send(self, cmd: Any) -> None:
        self._timed(self._inner.send, cmd)

    def create_shard(self, shard_id: str, columns: Sequence[Any], upper: Frontier) -> None:
        self._timed(self._inner.create_shard, shard_id, columns, upper)

    def append(self, shard_id: str, updates: Sequence[tuple[Any, int, int]], upper: Frontier) -> None:
        self._timed(self._inner.append, shard_id, updates, upper)

    def advance_since(self, shard_id: str, since: int) -> None:
        self._timed(self._inner.advance_since, shard_id, since)

    def wait_peek(self, uuid: str, name: str) -> PeekAnswer:
        answer: PeekAnswer = self._timed(self._inner.wait_peek, uuid, name)
        return answer

    def wait_frontier(self, gid: str, name: str, kinds: Sequence[str], at_least: Frontier) -> None:
        self._timed(self._inner.wait_frontier, gid, name, kinds, at_least)

    def wait_subscribe(self, gid: str, name: str, at_least: Frontier) -> None:
        self._timed(self._inner.wait_subscribe, gid, name, at_least)

    def wait_copy_to(self, gid: str, name: str) -> CopyToAnswer:
        answer: CopyToAnswer = self._timed(self._inner.wait_copy_to, gid, name)
        return answer

    def wait_shard(self, shard_id: str, name: str, at_least: Frontier) -> None:
        self._timed(self._inner.wait_shard, shard_id, name, at_least)

    def wait_quiet(self, seconds: float) -> None:
        self._timed(self._inner.wait_quiet, seconds)

    def settle(self) -> None:
        self._timed(self._inner.settle)

    def findings(self) -> list[Finding]:
        return self._inner.findings()

    def exercised(self) -> Counter[str]:
        return self._inner.exercised()

    def close(self) -> None:
        self._timed(self._inner.close)
