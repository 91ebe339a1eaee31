"""A pytest plugin that the kill matrix loads into the suite's own run (`-p tests.mutants.probe`).

It does two things, neither of which changes a verdict:

- It runs the scenarios first, then the robustness probes, then the read-only machine, then
  the protocol machines. Most
  faults break a rule that some scenario pins down, so a run that stops at its first failure
  (`-x`) then dies in seconds, deterministically, instead of after a Hypothesis search and a
  bounded shrink.
- With `MUTANTS_PROBE_STOP` set to rule ids (comma-separated), it ends the session at the first
  violation that cites one of them (as Ctrl-C would), and records it as `stopped_at`: the
  matrix's runs of the state machines alone need only to know whether they catch a fault with
  its rule.
- It records when the first violation happened: seconds since the session started and the
  number of steps the suite had executed (over every scenario and example) until the step
  after which the oracle reported it. It writes them, with the rule ids of that violation and
  the test that found it, as JSON to the file named by `MUTANTS_PROBE_OUT`.

The step count comes from wrapping `StepRunner.run`, the one place through which scenarios,
state machines and replays execute steps. Steps planned by dry shrink candidates are not
counted (they run after the first violation anyway).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.steps.runner import ConformanceViolation, StepRunner

OUT_VARIABLE = "MUTANTS_PROBE_OUT"
STOP_VARIABLE = "MUTANTS_PROBE_STOP"  # rule ids: end the session at the first violation citing one

_ORDER = ("test_scenario", "test_probe", "test_read_only_machine", "test_protocol_machine")


class Probe:
    def __init__(self, out: Path | None, stop: frozenset[str] = frozenset()) -> None:
        self.out = out
        self.stop = stop
        self.started = time.monotonic()
        self.steps = 0
        self.test = ""
        self.first: dict[str, Any] | None = None
        self.stopped_at: dict[str, Any] | None = None

    def step_ran(self, runner: StepRunner) -> None:
        if type(runner.backend).__name__ != "NullBackend":  # a dry shrink candidate sends nothing
            self.steps += 1

    def violation(self, error: ConformanceViolation) -> None:
        seen = {
            "seconds": round(time.monotonic() - self.started, 3),
            "steps": self.steps,
            "rules": error.rule_ids,
            "test": self.test,
        }
        if self.first is None:
            self.first = seen
            self.write()
        if self.stop & set(error.rule_ids) and self.stopped_at is None:
            self.stopped_at = seen
            self.write()
            # As a user's Ctrl-C: Hypothesis neither shrinks nor saves it, and pytest still tears
            # down (the suite stops its replicas). Raised on the main thread, from the step's check.
            raise KeyboardInterrupt("the kill matrix needs only this violation")

    def write(self) -> None:
        if self.out is not None:
            data = {"first_violation": self.first, "stopped_at": self.stopped_at, "steps": self.steps}
            self.out.write_text(json.dumps(data) + "\n")


_probe = Probe(None)


def pytest_configure(config: pytest.Config) -> None:
    global _probe
    out = os.environ.get(OUT_VARIABLE)
    stop = frozenset(r for r in os.environ.get(STOP_VARIABLE, "").split(",") if r)
    _probe = Probe(Path(out) if out else None, stop=stop)
    run, collect = StepRunner.run, StepRunner._collect

    def counted_run(self: StepRunner, step: Any) -> None:
        _probe.step_ran(self)  # counted before it runs: the step that reveals a violation counts
        run(self, step)

    def watched_collect(self: StepRunner, index: int, step: Any) -> None:
        try:
            collect(self, index, step)
        except ConformanceViolation as error:
            _probe.violation(error)
            raise

    StepRunner.run = counted_run  # type: ignore[method-assign]
    StepRunner._collect = watched_collect  # type: ignore[method-assign]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.name
        return next((i for i, prefix in enumerate(_ORDER) if name.startswith(prefix)), len(_ORDER))

    items.sort(key=rank)  # stable: the suite's own order within each group


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    _probe.test = item.nodeid
    return (yield)


def pytest_sessionfinish() -> None:
    _probe.write()
