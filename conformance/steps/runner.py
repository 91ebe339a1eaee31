"""The StepRunner: executes steps against a replica and records exactly what it executed.

Scenario files, the Hypothesis state machines and replays all run through here, so a
failure found by any of them is written down the same way: the list of steps this runner
executed (`executed`), which is a scenario that replays the failure.

After every step the runner asks the oracle for new findings: a MUST violation stops the
run with `ConformanceViolation` (rule id first); SHOULD-level warnings are only collected.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.quotes import clip
from conformance.steps import actions as A
from conformance.steps.backend import Backend, CopyToAnswer, Finding, PeekAnswer
from conformance.steps.catalog import Catalog
from conformance.steps.schema import check_step
from conformance.steps.values import decode_row
from conformance.wire.rows import fmt_row, report_key

Json = Any


# A max_result_size no result of the suite comes close to (spec 1.5): "no limit" in practice.
NO_LIMIT = 1 << 40
RESET_LIMIT: Json = {"op": "update_configuration", "max_result_size": NO_LIMIT}
TAIL_SECONDS = 0.05
"""How long the teardown waits for quiet after settling. Settling returns once every obligation
is discharged, but a replica can still be sending (a repeated final report, a response about a
dropped collection): closing at once would leave such a trailing violation to chance. The
scenarios and replays, whose verdicts must reproduce, wait this long; the state machines,
which run hundreds of short examples, do not (`StepRunner.tail`)."""


class ConformanceViolation(AssertionError):
    """The replica broke a MUST rule; the message is the oracle's explanation (rule id first)."""

    def __init__(self, findings: list[Finding], step_index: int, step: Json) -> None:
        self.findings = findings
        self.step_index = step_index
        self.step = step
        head = f"{findings[0].rule_id} violated after step {step_index} ({step.get('op')})"
        more = "" if len(findings) == 1 else f" (and {len(findings) - 1} more)"
        body = "\n\n".join(f.text for f in findings)
        super().__init__(f"{head}{more}:\n{body}")

    @property
    def rule_ids(self) -> list[str]:
        return list(dict.fromkeys(f.rule_id for f in self.findings))


class ExpectationFailed(AssertionError):
    """A scenario's own expectation did not hold although the oracle found no violation."""


@dataclass
class StepRunner:
    backend: Backend
    catalog: Catalog
    executed: list[Json] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    violations: list[Finding] = field(default_factory=list)
    exercised: Counter[str] = field(default_factory=Counter)
    tail: float = TAIL_SECONDS  # quiet seconds awaited at the end of the teardown (0: none)

    def run(self, step: Json) -> None:
        check_step(step)
        planned = self.catalog.plan(step)
        index = len(self.executed)
        self.executed.append(planned.recorded)
        try:
            for action in planned.actions:
                self._perform(action, step)
        finally:
            self._collect(index, planned.recorded)

    def run_all(self, steps: list[Json]) -> None:
        for step in steps:
            self.run(step)

    def check(self) -> None:
        """Pull the oracle's findings now (e.g. from an invariant), raising on a MUST violation."""
        self._collect(len(self.executed) - 1, self.executed[-1] if self.executed else {"op": "none"})

    def teardown_steps(self) -> list[Json]:
        """The steps that settle every obligation: finish initialization, cancel what is still
        wanted, drop every live collection, then wait for the oracle's obligations."""
        if self.catalog.iteration == 0:
            return []
        steps: list[Json] = []
        if not self.catalog.initialized:
            steps.append({"op": "initialization_complete"})
        for p in self.catalog.peeks.values():
            if p.iteration == self.catalog.iteration and not p.cancelled and not p.answered:
                steps.append({"op": "cancel_peek", "peek": p.name})
        for c in self.catalog.live():
            steps.append({"op": "drop", "id": c.name})
        if self.limit_left_behind():
            steps.append(RESET_LIMIT)
        steps.append({"op": "settle"})
        if self.tail > 0:
            steps.append({"op": "wait_quiet", "seconds": self.tail})
        return steps

    def limit_left_behind(self) -> bool:
        """Leave the replica as found: whether a parameter outlives its connection is left to the
        replica (CONFIG-3, the configuration-per-connection scenario), so no generated sequence
        may depend on the answer, and no limit set here may leak into the next test."""
        return self.catalog.last_max_result_size not in (None, NO_LIMIT)

    def reset_after_failure(self) -> None:
        """Best effort, after a failed run, not recorded: lift a result-size limit it set."""
        if not self.limit_left_behind() or self.catalog.iteration == 0:
            return
        with contextlib.suppress(Exception):
            for action in self.catalog.plan(dict(RESET_LIMIT)).actions:
                self._perform(action, RESET_LIMIT)
            # Give the replica a moment to read it before the stream is closed (closing cancels).
            self._perform(A.WaitQuiet(0.1), RESET_LIMIT)

    def teardown(self) -> None:
        for step in self.teardown_steps():
            self.run(step)

    # ---- performing actions ----

    def _perform(self, action: A.Action, step: Json) -> None:
        b = self.backend
        match action:
            case A.Send(command=cmd):
                b.send(cmd)
            case A.Connect(replay=replay, pause=pause):
                b.connect(replay, pause)
            case A.CreateShard(shard_id=sid, columns=cols, upper=upper):
                b.create_shard(sid, cols, upper)
            case A.Append(shard_id=sid, updates=updates, upper=upper):
                b.append(sid, updates, upper)
            case A.AdvanceSince(shard_id=sid, since=since):
                b.advance_since(sid, since)
            case A.WaitPeek(uuid=uuid, name=name, expect=expect):
                answer = b.wait_peek(uuid, name)
                self.catalog.note_answered(name)
                if expect is not None:
                    _check_peek(name, answer, expect)
            case A.WaitFrontier(gid=gid, name=name, kinds=kinds, at_least=at_least):
                b.wait_frontier(gid, name, kinds, at_least)
            case A.WaitSubscribe(gid=gid, name=name, at_least=at_least):
                b.wait_subscribe(gid, name, at_least)
            case A.WaitCopyTo(gid=gid, name=name, expect=expect):
                copy = b.wait_copy_to(gid, name)
                self.catalog.note_answered(name)
                if expect is not None:
                    _check_copy(name, copy, expect)
            case A.WaitShard(shard_id=sid, name=name, at_least=at_least):
                b.wait_shard(sid, name, at_least)
            case A.WaitQuiet(seconds=seconds):
                b.wait_quiet(seconds)
            case A.Settle():
                b.settle()

    def _collect(self, index: int, step: Json) -> None:
        self.exercised.update(self.backend.exercised())
        must = []
        for f in self.backend.findings():
            if f.level == "MUST":
                must.append(f)
                self.violations.append(f)
            else:
                self.warnings.append(f)
        if must:
            raise ConformanceViolation(must, index, step)


def _check_peek(name: str, answer: PeekAnswer, expect: Json) -> None:
    want = expect["answer"]
    allowed = {"rows_or_error": ("rows", "error"), "any": ("rows", "error", "canceled")}.get(want, (want,))
    if answer.kind not in allowed:
        detail = f": {clip(answer.error)}" if answer.error else ""
        raise ExpectationFailed(f"peek {name}: expected {' or '.join(allowed)}, got {answer.kind}{detail}")
    if answer.kind == "rows" and "rows" in expect:
        expected: Counter[Any] = Counter()
        for i, (raw, count) in enumerate(expect["rows"]):
            expected[decode_row(raw, f"expect.rows[{i}]")] += count
        got: Counter[Any] = Counter()
        for row, count in answer.rows:
            got[row] += count
        if got != expected:
            raise ExpectationFailed(f"peek {name}: expected rows {_fmt_rows(expected)}, got {_fmt_rows(got)}")


def _check_copy(name: str, answer: CopyToAnswer, expect: Json) -> None:
    want = expect["answer"]
    if want != "any" and answer.kind != want:
        raise ExpectationFailed(f"copy-to {name}: expected {want}, got {answer.kind} {clip(answer.error)}".rstrip())
    if answer.kind == "rows" and "count" in expect and answer.count != expect["count"]:
        raise ExpectationFailed(f"copy-to {name}: expected a row count of {expect['count']}, got {answer.count}")


def _fmt_rows(rows: Counter[Any]) -> str:
    items = sorted(rows.items(), key=lambda kv: report_key(kv[0]))
    return "{" + ", ".join(f"{fmt_row(r)} x{n}" for r, n in items) + "}" if items else "{}"
