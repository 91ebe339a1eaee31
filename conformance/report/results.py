"""Per-rule results of a run, as plain data that crosses process boundaries.

Every xdist worker keeps one `RunResults`, fills it from the oracle after each example, and
ships it as JSON through `workeroutput`; the controller process merges them and builds the
report. Counting happens here, judging in `report.build`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FirstViolation:
    text: str  # the oracle's explanation, rule id first
    test: str  # the pytest node id that saw it
    artifact: str = ""  # replay file written for it, if any
    rerun: str = ""  # the shell command that runs it again (a replay of the saved steps, or the test)
    check: str = ""  # the shell command that re-judges its saved history offline

    def to_json(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class RunResults:
    exercised: Counter[str] = field(default_factory=Counter)  # rule id -> checks that could have failed
    violations: Counter[str] = field(default_factory=Counter)  # rule id -> violations seen
    warnings: Counter[str] = field(default_factory=Counter)  # SHOULD-level rule id -> warnings seen
    first: dict[str, FirstViolation] = field(default_factory=dict)
    tests_run: int = 0  # suite tests that ran (passed, failed or xfailed), not skipped
    suite_collected: int = 0  # suite tests collected (every xdist worker collects all of them)
    tests_selected: int = 0
    tests_deselected: int = 0
    skipped: list[str] = field(default_factory=list)  # "node id: reason" of suite tests skipped
    replica_deaths: list[str] = field(default_factory=list)  # replica trouble: died, unreachable, silent, not started
    unexplained: list[str] = field(default_factory=list)  # "node id: why" of failures without a rule verdict
    suite_errors: list[str] = field(default_factory=list)  # "node id: exception" where the suite itself broke
    cut_short: list[str] = field(default_factory=list)  # why the run stopped before its end (the deadline)
    tests_failed: int = 0  # suite tests that failed or errored (xfails excluded)
    stopped: str = ""  # why the suite stopped the run before its end (fail-fast), if it did
    fresh_unavailable: str = ""  # why tests needing a never-writable replica did not run, and the remedy
    targets: list[str] = field(default_factory=list)  # replica(s) the worker talked to
    full_run: bool = True  # every suite test file collected whole, nothing deselected
    notes: list[str] = field(default_factory=list)  # lines for the terminal summary (e.g. replay outcomes)
    machines: list[dict[str, Any]] = field(default_factory=list)  # per machine test: MachineStats.to_json()
    timings: dict[str, float] = field(default_factory=dict)  # suite test node id -> seconds its call took
    coverage: Counter[str] = field(default_factory=Counter)  # data-edge cell -> judged values through it

    def add_exercised(self, counts: Counter[str] | dict[str, int]) -> None:
        self.exercised.update(counts)

    def add_violation(
        self, rule_id: str, text: str, test: str, artifact: str = "", *, rerun: str = "", check: str = ""
    ) -> None:
        self.violations[rule_id] += 1
        if rule_id not in self.first:
            self.first[rule_id] = FirstViolation(text, test, artifact, rerun, check)

    def add_warning(self, rule_id: str, text: str, test: str, *, rerun: str = "", check: str = "") -> None:
        self.warnings[rule_id] += 1
        if rule_id not in self.first:
            self.first[rule_id] = FirstViolation(text, test, rerun=rerun, check=check)

    def add_unjudged(self, notes: list[str], limit: int = 10) -> None:
        """Situations the oracle could not judge, shown (a few) in the terminal summary."""
        for note in notes:
            line = f"not judged: {note}"
            if len([n for n in self.notes if n.startswith("not judged: ")]) < limit and line not in self.notes:
                self.notes.append(line)

    def add_replica_problem(self, problem: str) -> None:
        if problem not in self.replica_deaths:
            self.replica_deaths.append(problem)

    def set_artifact(self, rule_id: str, artifact: str) -> None:
        first = self.first.get(rule_id)
        if first is not None and not first.artifact:
            first.artifact = artifact

    def merge(self, other: RunResults) -> None:
        self.exercised.update(other.exercised)
        self.coverage.update(other.coverage)
        self.violations.update(other.violations)
        self.warnings.update(other.warnings)
        for rule_id, v in other.first.items():
            self.first.setdefault(rule_id, v)
        self.tests_run += other.tests_run
        self.suite_collected = max(self.suite_collected, other.suite_collected)
        self.tests_selected = max(self.tests_selected, other.tests_selected)
        self.tests_deselected = max(self.tests_deselected, other.tests_deselected)
        self.full_run = self.full_run and other.full_run
        self.notes.extend(other.notes)
        self.skipped.extend(other.skipped)
        for name in ("replica_deaths", "unexplained", "suite_errors", "cut_short"):
            mine: list[str] = getattr(self, name)
            mine.extend(x for x in getattr(other, name) if x not in mine)
        self.tests_failed += other.tests_failed
        self.fresh_unavailable = self.fresh_unavailable or other.fresh_unavailable
        self.stopped = self.stopped or other.stopped
        self.targets.extend(t for t in other.targets if t not in self.targets)
        self.machines.extend(other.machines)
        self.timings.update(other.timings)

    def to_json(self) -> dict[str, Any]:
        return {
            "exercised": dict(self.exercised),
            "violations": dict(self.violations),
            "warnings": dict(self.warnings),
            "first": {k: v.to_json() for k, v in self.first.items()},
            "tests_run": self.tests_run,
            "suite_collected": self.suite_collected,
            "tests_selected": self.tests_selected,
            "tests_deselected": self.tests_deselected,
            "skipped": self.skipped,
            "replica_deaths": self.replica_deaths,
            "unexplained": self.unexplained,
            "suite_errors": self.suite_errors,
            "cut_short": self.cut_short,
            "tests_failed": self.tests_failed,
            "fresh_unavailable": self.fresh_unavailable,
            "stopped": self.stopped,
            "targets": self.targets,
            "full_run": self.full_run,
            "notes": self.notes,
            "machines": self.machines,
            "timings": self.timings,
            "coverage": dict(self.coverage),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> RunResults:
        return RunResults(
            exercised=Counter(data.get("exercised", {})),
            violations=Counter(data.get("violations", {})),
            warnings=Counter(data.get("warnings", {})),
            first={k: FirstViolation(**v) for k, v in data.get("first", {}).items()},
            tests_run=data.get("tests_run", 0),
            suite_collected=data.get("suite_collected", 0),
            tests_selected=data.get("tests_selected", 0),
            tests_deselected=data.get("tests_deselected", 0),
            skipped=list(data.get("skipped", [])),
            replica_deaths=list(data.get("replica_deaths", [])),
            unexplained=list(data.get("unexplained", [])),
            suite_errors=list(data.get("suite_errors", [])),
            cut_short=list(data.get("cut_short", [])),
            tests_failed=data.get("tests_failed", 0),
            fresh_unavailable=data.get("fresh_unavailable", ""),
            stopped=data.get("stopped", ""),
            targets=list(data.get("targets", [])),
            full_run=data.get("full_run", True),
            notes=list(data.get("notes", [])),
            machines=list(data.get("machines", [])),
            timings=dict(data.get("timings", {})),
            coverage=Counter(data.get("coverage", {})),
        )
