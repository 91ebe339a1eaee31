"""What a state machine example needs from the test that runs it, and what it leaves behind.

The harness binds one `MachineEnv` to the machine class for a test run. Each example asks it
for a fresh StepRunner (new backend: new stream, higher epoch; new catalog: fresh names), runs
its steps and invariant checks through it, and hands the runner back at the end, when the env
settles obligations, folds the oracle's counts into the worker's results and remembers the
failing examples, whose executed steps become the replay file.

Two things keep Hypothesis's replays of an example faithful to the first run:

- **The draws never depend on the replica.** An asynchronous replica's violation can be
  noticed one step earlier or later from one run to the next; if the example stopped there,
  a replay would draw fewer or more choices than the run it replays (Hypothesis calls that
  FlakyStrategyDefinition, and the suite would have called a perfectly reproducible failure
  intermittent). So a failure does not stop the example: its runner (`ExampleRunner`)
  records it and goes on with a dry backend (steps are planned, so the catalog and the draws
  evolve exactly as in a passing run, but nothing is sent), and the env raises
  `ExampleFailed` when the example ends.
- **Nothing found under a shortened patience is evidence.** When the failure being shrunk
  breaks a liveness rule, the candidates run with `shrink_patience`, so that each costs half
  a second instead of a whole patience budget. Such a candidate is only a hint: the suite
  reports only failures observed with the profile's full patience (the first one found, or
  Hypothesis's final replay of the minimal example; `ExampleRecord.full_patience`), and
  the harness replays a hint itself when Hypothesis's own replay did not fail. A failure of
  safety rules alone is shrunk with the full patience: a replica that is slow but correct
  then cannot lead the shrinker astray with failures that only the short patience produces.
  (A candidate that fails otherwise than the failure being shrunk cannot simply be set aside
  either: Hypothesis requires the same choices to give the same outcome every time it runs
  them, in whichever phase.)
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis.control import current_build_context

from conformance.report.results import RunResults
from conformance.rules import RULES
from conformance.session.capabilities import Capabilities
from conformance.steps.backend import Backend, Finding, NullBackend
from conformance.steps.catalog import Catalog, Ids
from conformance.steps.runner import ConformanceViolation, StepRunner

Json = Any


@dataclass
class ExampleRecord:
    """One failing example as it ran: the steps up to the failure, every MUST violation the
    oracle found on the example's streams (those found while its streams were being closed
    included), and the example's wire history, which therefore holds every event they name."""

    machine: str
    steps: list[Json]
    violations: list[Finding]
    history: list[str]  # JSON lines
    error: str = ""  # a failure that is not an oracle finding (a wait, a stream that ended...)
    full_patience: bool = True  # False: a shrink candidate, run with the short patience (a hint only)

    @property
    def rules(self) -> set[str]:
        return {f.rule_id for f in self.violations}


class ShrinkBudgetSpent(BaseException):
    """Ends a Hypothesis search whose shrinking ran out of time, once a candidate has drawn all
    its data (Hypothesis requires a choice sequence to draw the same data every time it runs).
    A BaseException, so that Hypothesis lets it through instead of taking it for a failure."""


class ExampleFailed(AssertionError):
    """Raised when a failing example ends (the failure itself was recorded when it happened)."""

    def __init__(self, record: ExampleRecord) -> None:
        self.record = record
        head = ", ".join(sorted(record.rules)) or (record.error.splitlines() or ["no verdict"])[0]
        super().__init__(f"the example failed: {head}")


@dataclass
class ExampleRunner(StepRunner):
    """The StepRunner of one example: a failure (a MUST violation, a wait that failed, a stream
    that ended...) is recorded instead of raised, and from then on steps are only planned, on
    a dry backend, so that Hypothesis draws the same data however late the failure was noticed.
    `real` keeps the example's backend, for closing it and for its history."""

    real: Backend = field(default_factory=NullBackend)
    mode: str = ""  # see MachineEnv._shrinking
    failed_at: int | None = None  # index of the step during or after which the example failed
    error: str = ""  # the failure, when it is not an oracle finding

    def run(self, step: Json) -> None:
        if self.failed_at is not None:
            with contextlib.suppress(Exception):  # planned on the dry backend: only the draws matter now
                super().run(step)
            return
        try:
            super().run(step)
        except Exception as e:
            self._stop(e, step)

    def check(self) -> None:
        if self.failed_at is None:
            try:
                super().check()
            except Exception as e:
                self._stop(e, None)

    def _stop(self, exc: Exception, step: Json | None) -> None:
        self.failed_at = max(len(self.executed) - 1, 0)
        if not isinstance(exc, ConformanceViolation):
            self.error = f"{type(exc).__name__}: {exc}"
        if step is not None and step.get("op") in ("wait_peek", "wait_copy_to"):
            # What the wait would have established had it succeeded, so that the steps planned
            # from here on are those of a run in which it did (the draws must not differ).
            self.catalog.note_answered(str(step.get("peek") or step.get("id")))
        self.backend = NullBackend()


@dataclass
class MachineEnv:
    new_backend: Callable[[float | None], Backend]  # patience override (None: the profile's)
    storage_address: str
    ids: Ids
    results: RunResults
    test_id: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    shrink_budget: float = 60.0  # seconds of shrinking after the first failure
    shrink_patience: float = 0.5  # patience of candidates shrinking a liveness failure (a local replica answers in ms)
    examples: int = 0
    first_failure: ExampleRecord | None = None  # found while generating, with the full patience
    last_failure: ExampleRecord | None = None  # the latest with the full patience (after shrinking: the final replay)
    first_failure_at: float | None = None
    best_candidate: ExampleRecord | None = None  # the shortest shrink candidate like the first failure (a hint)
    on_example_end: Callable[[StepRunner], None] | None = None  # counts for the progress line and statistics

    def start_example(self, machine: str) -> StepRunner:
        """A fresh runner. While shrinking, candidates get a short patience; past the shrink
        budget, the search stops (see `_shrinking`)."""
        self.examples += 1
        mode = self._shrinking()
        if mode == "over":
            backend: Backend = NullBackend()
        else:
            backend = self.new_backend(self.shrink_patience if mode == "short" else None)
        catalog = Catalog(ids=self.ids, storage_address=self.storage_address)
        return ExampleRunner(backend, catalog, tail=0.0, real=backend, mode=mode)

    def _shrinking(self) -> str:
        """ "": not shrinking, or the final replay of the minimal example (full patience).
        "shrink": shrinking a failure of safety rules alone, with the full patience. "short":
        shrinking a liveness failure, so that a candidate that fails for want of an answer costs
        `shrink_patience`, not a whole patience budget. "over": past the shrink budget; the next
        candidate is planned on a dry backend (so that Hypothesis sees it draw all its data) and
        ends the search with `ShrinkBudgetSpent`; the harness then replays the best candidate
        itself with the full patience, as Hypothesis's final replay would."""
        if self.first_failure_at is None:
            return ""
        try:
            if current_build_context().is_final:
                return ""
        except Exception:
            return ""
        if time.monotonic() - self.first_failure_at > self.shrink_budget:
            return "over"
        return "short" if self._shrinks_liveness() else "shrink"

    def _shrinks_liveness(self) -> bool:
        """Whether the failure being shrunk breaks a liveness rule (or none: a wait that failed)."""
        first = self.first_failure
        return first is not None and (not first.rules or any(_liveness(r) for r in first.rules))

    def end_example(self, runner: StepRunner, failed: bool = False, error: str = "") -> None:
        """Tear the example down, close its streams, judge what arrived meanwhile, record a failure.

        Raises `ExampleFailed` for a failing example (Hypothesis's verdict), whatever it broke:
        the record says under which patience. An exception already on its way out of the
        machine (Hypothesis's own control flow, e.g. an exhausted replay) is left alone.
        (`failed` and `error`: what the machine saw raised, which an ExampleRunner never does.)
        """
        assert isinstance(runner, ExampleRunner)
        backend = runner.real
        interrupted = sys.exc_info()[1] is not None
        if runner.mode == "over":
            if interrupted:
                return
            raise ShrinkBudgetSpent(f"shrinking stopped after {self.shrink_budget:g} s (the profile's shrink budget)")
        if failed and runner.failed_at is None:
            runner.failed_at, runner.error = max(len(runner.executed) - 1, 0), error
        if runner.failed_at is None and not interrupted:
            runner.teardown()
        runner.backend = backend
        if runner.failed_at is not None:
            runner.reset_after_failure()
        backend.close()
        with contextlib.suppress(ConformanceViolation):
            StepRunner.check(runner)  # what the oracle judged since the failure, or while closing
        if runner.violations and runner.failed_at is None:
            runner.failed_at = max(len(runner.executed) - 1, 0)
        if self.on_example_end is not None:
            self.on_example_end(runner)
        self._fold(runner, runner.mode)
        self.results.add_unjudged(_unjudged(backend))
        if runner.failed_at is None:
            return
        record = ExampleRecord(
            "",
            list(runner.executed[: runner.failed_at + 1]),
            list(runner.violations),
            _history_of(backend),
            runner.error,
            full_patience=runner.mode != "short",
        )
        if record.full_patience:
            if self.first_failure is None:
                self.first_failure_at = time.monotonic()
                self.first_failure = record
            self.last_failure = record
        if interrupted:
            return
        best = self.best_candidate
        if self._resembles_first(record) and (best is None or len(record.steps) <= len(best.steps)):
            self.best_candidate = record
        raise ExampleFailed(record)

    def _resembles_first(self, record: ExampleRecord) -> bool:
        """A shrink candidate worth replaying if Hypothesis's final replay does not fail: it
        breaks a rule of the first failure (or, when that one broke none, fails without a
        verdict too). One that failed only for want of patience, or with another bug, is not."""
        first = self.first_failure
        if first is None or record is first:
            return False
        if first.rules:
            return bool(first.rules & record.rules)
        return not record.rules

    def _fold(self, runner: StepRunner, mode: str) -> None:
        self.results.add_exercised(runner.exercised)
        runner.exercised.clear()
        if mode != "short":  # warnings found under the short patience are not evidence either
            for f in runner.warnings:
                self.results.add_warning(f.rule_id, f.text, self.test_id)
        runner.warnings.clear()


def _unjudged(backend: Backend) -> list[str]:
    notes = getattr(backend, "unjudged", None)
    return list(notes()) if callable(notes) else []


def _history_of(backend: Backend) -> list[str]:
    lines = getattr(backend, "history_lines", None)
    return list(lines()) if callable(lines) else []


def _liveness(rule_id: str) -> bool:
    rule = RULES.get(rule_id)
    return rule is not None and rule.kind == "liveness"
