"""From counted results to verdicts: one line per rule of the registry, and the run's verdict.

A rule is `passed` (with how often its check ran where it could have failed), `failed`
(with the first violation), `not_exercised`, `known_failing`, `unexpected_pass` (listed as
known-failing but passed: strict, fails the run), `warning` (a SHOULD broken),
`not_applicable` (only features the replica does not declare could exercise it, or only a
response the replica may omit and never sent: `OPTIONAL_RESPONSES`), or not
graded here: `controller` (CTRL rules bind the suite) and `permission` (MAY rules, which the
suite accepts both ways). Robustness rules (TRANS-4, TRANS-5: SHOULD) are graded like every
SHOULD rule, from the probes of `conformance/suite/test_robustness.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.report import coverage
from conformance.report.results import RunResults
from conformance.report.verdict import SessionEnd, Verdict, decide
from conformance.rules.read_only import NEEDS_FRESH_REPLICA
from conformance.session.capabilities import Capabilities

GRADED = (
    "passed",
    "failed",
    "not_exercised",
    "known_failing",
    "unexpected_pass",
    "warning",
    "not_applicable",
)
UNGRADED = ("controller", "permission")

OPTIONAL_RESPONSES = {"STATUS-1": "STATUS-2", "STATUS-3": "STATUS-2"}
"""Rules that judge only a response the replica may omit, and the MAY rule whose check counts
such a response: a replica that never sent one (no `Status` at all, STATUS-2) cannot exercise
them, and that is no gap in a full run."""


class RuleLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def section(self) -> int: ...
    @property
    def summary(self) -> str: ...


@dataclass
class RuleLine:
    id: str
    level: str
    kind: str
    section: int
    section_title: str
    summary: str
    status: str
    exercised: int = 0
    violations: int = 0
    first_violation: str = ""
    test: str = ""
    artifact: str = ""
    reason: str = ""  # why a rule was not exercised, when the run knows (and does not hold it against the replica)
    rerun: str = ""  # the shell command that runs the first violation again
    check: str = ""  # the shell command that re-judges its history offline

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RunInfo:
    suite_version: str
    profile: str
    target: str
    seed: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    known_failing: set[str] = field(default_factory=set)
    full_run: bool = False  # every suite test selected, with a profile that must cover every MUST
    strict: bool = False  # SHOULD violations fail too
    duration_s: float = 0.0
    bounds: dict[str, Any] = field(default_factory=dict)  # the run's bounds (deadline, sizes), as set


@dataclass
class Report:
    info: RunInfo
    lines: list[RuleLine]
    results: RunResults
    verdict: Verdict

    @property
    def passed(self) -> bool:
        return self.verdict.passed

    @property
    def exit_reasons(self) -> list[str]:
        return [r.text for r in self.verdict.reasons]

    def by_status(self, status: str) -> list[RuleLine]:
        return [line for line in self.lines if line.status == status]

    def counts(self) -> dict[str, int]:
        return {s: len(self.by_status(s)) for s in GRADED + UNGRADED}

    def to_json(self) -> dict[str, Any]:
        i = self.info
        return {
            "suite": {"name": "compute-conformance", "version": i.suite_version},
            "profile": i.profile,
            "target": i.target,
            "seed": i.seed,
            "duration_s": round(i.duration_s, 1),
            "full_run": i.full_run,
            "strict": i.strict,
            "capabilities": i.capabilities.to_json(),
            "known_failing": sorted(i.known_failing),
            **self.verdict.to_json(),
            "bounds": i.bounds,
            "summary": self.counts(),
            "tests": {
                "run": self.results.tests_run,
                "failed": self.results.tests_failed,
                "selected": self.results.tests_selected,
                "deselected": self.results.tests_deselected,
                "skipped": self.results.skipped,
                "failed_without_rule": self.results.unexplained,
                "suite_errors": self.results.suite_errors,
            },
            "replica_deaths": self.results.replica_deaths,
            "stopped": self.results.stopped,
            "rules": [line.to_json() for line in self.lines],
            "timings": {"tests": self.results.timings, "machines": self.results.machines},
            "data_edges": coverage.to_json(self.results.coverage, i.capabilities),
        }


def build_report(
    rules: Iterable[RuleLike],
    titles: Mapping[int, str],
    results: RunResults,
    info: RunInfo,
    end: SessionEnd | None = None,
) -> Report:
    lines = [_line(r, titles.get(r.section, ""), results, info) for r in rules]
    verdict = decide(
        lines,
        results,
        profile=info.profile,
        full_run=info.full_run,
        strict=info.strict,
        end=end,
        capabilities=info.capabilities,
    )
    return Report(info, lines, results, verdict)


def _line(rule: RuleLike, title: str, results: RunResults, info: RunInfo) -> RuleLine:
    line = RuleLine(
        rule.id,
        rule.level,
        rule.kind,
        rule.section,
        title,
        rule.summary,
        status="not_exercised",
        exercised=results.exercised.get(rule.id, 0),
        violations=results.violations.get(rule.id, 0) + results.warnings.get(rule.id, 0),
    )
    first = results.first.get(rule.id)
    if first is not None:
        line.first_violation, line.test, line.artifact = first.text, first.test, first.artifact
        line.rerun, line.check = first.rerun, first.check
    if rule.level == "CTRL":
        line.status = "controller"
    elif rule.level == "MAY":
        line.status = "permission"
    elif line.violations:
        if rule.level == "SHOULD":
            line.status = "warning"
        else:
            line.status = "known_failing" if rule.id in info.known_failing else "failed"
    elif not info.capabilities.applicable(rule.id) or _never_triggered(rule.id, line, results):
        line.status = "not_applicable"
    elif line.exercised:
        line.status = "unexpected_pass" if rule.id in info.known_failing else "passed"
    elif rule.id in NEEDS_FRESH_REPLICA and results.fresh_unavailable:
        line.reason = results.fresh_unavailable
    return line


def _never_triggered(rule_id: str, line: RuleLine, results: RunResults) -> bool:
    """A rule of an optional response that the replica never sent (OPTIONAL_RESPONSES)."""
    trigger = OPTIONAL_RESPONSES.get(rule_id)
    return trigger is not None and not line.exercised and not results.exercised.get(trigger)

