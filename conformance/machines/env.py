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

from conformance.report.results import RunResults
from conformance.session.capabilities import Capabilities
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
    new_backend: Callable[[float | None], Backend]  # patience override (None: the profile's)
    storage_address: str
    ids: Ids
    results: RunResults
    test_id: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    shrink_budget: float = 60.0  # seconds of shrinking after the first failure
    shrink_patience: float = 0.5  # liveness patience of shrink candidates (a local replica answers in ms)
    examples: int = 0
    first_failure: ExampleRecord | None = None  # found while generating, with the full patience
    last_failure: ExampleRecord | None = None  # the latest (after shrinking: the minimal example)
    first_failure_at: float | None = None
    _backends: dict[int, Backend] = field(default_factory=dict)

    def start_example(self, machine: str) -> StepRunner:
        """A fresh runner. While shrinking, candidates get a short patience, and past the shrink
        budget a dry backend (see `_shrinking`)."""
        self.examples += 1
        mode = self._shrinking()
        if mode == "dry":
            backend: Backend = NullBackend()
        elif mode == "short":
            backend = self.new_backend(self.shrink_patience)
        else:
            backend = self.new_backend(None)
        runner = StepRunner(backend, Catalog(ids=self.ids, storage_address=self.storage_address), tail=0.0)
        self._backends[id(runner)] = backend
        return runner

    def _shrinking(self) -> str:
        """ "": not shrinking (or the final replay of the minimal example, which always runs for
        real with the full patience). "short": shrinking, so a liveness failure of a candidate costs
        `shrink_patience`, not a whole patience budget; a candidate that fails only for want of
        patience is caught by the final replay (Hypothesis then reports it as flaky and the suite
        reports the first failure, found with the full patience). "dry": past the shrink budget,
        candidates are planned (so Hypothesis draws exactly the same data) but nothing is sent: they
        pass at once and the shrinker gives up."""
        if self.first_failure_at is None:
            return ""
        try:
            if current_build_context().is_final:
                return ""
        except Exception:
            return ""
        return "dry" if time.monotonic() - self.first_failure_at > self.shrink_budget else "short"

    def end_example(self, runner: StepRunner, failed: bool, error: str = "") -> None:
        backend = self._backends.pop(id(runner))
        try:
            if not failed:
                runner.teardown()
        except BaseException as e:
            failed, error = True, f"{type(e).__name__}: {e}"
            raise
        finally:
            self._fold(runner)
            self.results.add_unjudged(_unjudged(backend))
            if (failed or runner.violations) and not isinstance(backend, NullBackend):
                history = _history_of(backend)  # rendered only for a failure: JSON of every event costs
                record = ExampleRecord("", list(runner.executed), list(runner.violations), history, error)
                runner.reset_after_failure()
                if self.first_failure is None:
                    self.first_failure_at = time.monotonic()
                    self.first_failure = record
                self.last_failure = record
            backend.close()

    def _fold(self, runner: StepRunner) -> None:
        self.results.add_exercised(runner.exercised)
        runner.exercised.clear()
        for f in runner.warnings:
            self.results.add_warning(f.rule_id, f.text, self.test_id)
        runner.warnings.clear()


def _unjudged(backend: Backend) -> list[str]:
    notes = getattr(backend, "unjudged", None)
    return list(notes()) if callable(notes) else []


def _history_of(backend: Backend) -> list[str]:
    lines = getattr(backend, "history_lines", None)
    return list(lines()) if callable(lines) else []
