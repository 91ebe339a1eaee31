"""What a state machine example needs from the test that runs it, and what it leaves behind.

The harness binds one `MachineEnv` to the machine class for a test run. Each example asks it
for a fresh StepRunner (new backend: new stream, higher epoch; new catalog: fresh names) and
hands the runner back at the end, when the env settles obligations, folds the oracle's
counts into the worker's results and remembers the last failing example, whose executed
steps become the replay file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis.control import current_build_context

from conformance.capabilities import Capabilities
from conformance.report.results import RunResults
from conformance.steps.backend import Backend, Finding, NullBackend
from conformance.steps.catalog import Catalog, Ids
from conformance.steps.runner import StepRunner

Json = Any


@dataclass
class ExampleRecord:
    """One example as it ran: the steps it executed, the findings, and the wire history."""

    machine: str
    steps: list[Json]
    violations: list[Finding]
    history: list[str]  # JSON lines
    error: str = ""


@dataclass
class MachineEnv:
    new_backend: Callable[[], Backend]
    storage_address: str
    ids: Ids
    results: RunResults
    test_id: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    shrink_budget: float = 60.0  # seconds of shrinking after the first failure
    examples: int = 0
    first_failure: ExampleRecord | None = None  # found while generating, with the full patience
    last_failure: ExampleRecord | None = None  # the latest (after shrinking: the minimal example)
    first_failure_at: float | None = None
    _backends: dict[int, Backend] = field(default_factory=dict)

    def start_example(self, machine: str) -> StepRunner:
        """A fresh runner; while shrinking past the budget, a dry one (see `_dry`)."""
        self.examples += 1
        backend = self.new_backend() if not self._dry() else NullBackend()
        runner = StepRunner(backend, Catalog(ids=self.ids, storage_address=self.storage_address))
        self._backends[id(runner)] = backend
        return runner

    def _dry(self) -> bool:
        """Past the shrink budget, candidates run dry: steps are planned (so Hypothesis draws exactly
        the same data) but nothing is sent, so the candidate passes at once and the shrinker moves
        on. Shrinking a liveness failure would otherwise cost a whole patience budget per candidate.
        The final replay of the minimal example always runs for real."""
        if self.first_failure_at is None or time.monotonic() - self.first_failure_at <= self.shrink_budget:
            return False
        try:
            return not current_build_context().is_final
        except Exception:
            return False

    def end_example(self, runner: StepRunner, failed: bool) -> None:
        backend = self._backends.pop(id(runner))
        error = ""
        try:
            if not failed:
                runner.teardown()
        except BaseException as e:
            failed, error = True, f"{type(e).__name__}: {e}"
            raise
        finally:
            self._fold(runner)
            history = _history_of(backend)
            backend.close()
            if (failed or runner.violations) and not isinstance(backend, NullBackend):
                record = ExampleRecord("", list(runner.executed), list(runner.violations), history, error)
                if self.first_failure is None:
                    self.first_failure_at = time.monotonic()
                    self.first_failure = record
                self.last_failure = record

    def _fold(self, runner: StepRunner) -> None:
        self.results.add_exercised(runner.exercised)
        runner.exercised.clear()
        for f in runner.warnings:
            self.results.add_warning(f.rule_id, f.text, self.test_id)
        runner.warnings.clear()


def _history_of(backend: Backend) -> list[str]:
    lines = getattr(backend, "history_lines", None)
    return list(lines()) if callable(lines) else []
