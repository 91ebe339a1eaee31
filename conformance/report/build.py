"""From counted results to verdicts: one line per rule of the registry, and the run's verdict.

A rule is `passed` (with how often its check ran where it could have failed), `failed`
(with the first violation), `not_exercised`, `known_failing`, `unexpected_pass` (listed as
known-failing but passed: strict, fails the run), `warning` (a SHOULD broken),
`not_applicable` (only features the replica does not declare could exercise it), or not
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


@dataclass
class Report:
    info: RunInfo
    lines: list[RuleLine]
    results: RunResults
    exit_reasons: list[str]

    @property
    def passed(self) -> bool:
        return not self.exit_reasons

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
            "verdict": "pass" if self.passed else "fail",
            "exit_reasons": self.exit_reasons,
            "summary": self.counts(),
            "tests": {
                "run": self.results.tests_run,
                "selected": self.results.tests_selected,
                "deselected": self.results.tests_deselected,
                "skipped": self.results.skipped,
            },
            "replica_deaths": self.results.replica_deaths,
            "rules": [line.to_json() for line in self.lines],
            "data_edges": coverage.to_json(self.results.coverage, i.capabilities),
        }


def build_report(rules: Iterable[RuleLike], titles: Mapping[int, str], results: RunResults, info: RunInfo) -> Report:
    lines = [_line(r, titles.get(r.section, ""), results, info) for r in rules]
    return Report(info, lines, results, _exit_reasons(lines, results, info))


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
    if rule.level == "CTRL":
        line.status = "controller"
    elif rule.level == "MAY":
        line.status = "permission"
    elif line.violations:
        if rule.level == "SHOULD":
            line.status = "warning"
        else:
            line.status = "known_failing" if rule.id in info.known_failing else "failed"
    elif not info.capabilities.applicable(rule.id):
        line.status = "not_applicable"
    elif line.exercised:
        line.status = "unexpected_pass" if rule.id in info.known_failing else "passed"
    return line


def _exit_reasons(lines: list[RuleLine], results: RunResults, info: RunInfo) -> list[str]:
    reasons = []
    if results.tests_run == 0:
        reasons.append("no conformance test ran (zero selected, or every one skipped)")
    failed = [x.id for x in lines if x.status == "failed"]
    if failed:
        reasons.append(f"MUST rule(s) violated: {', '.join(failed)}")
    if info.strict:
        warned = [x.id for x in lines if x.status == "warning"]
        if warned:
            reasons.append(f"SHOULD rule(s) violated in strict mode: {', '.join(warned)}")
    stale = [x.id for x in lines if x.status == "unexpected_pass"]
    if stale:
        reasons.append(f"known-failing rule(s) passed (remove them from the list): {', '.join(stale)}")
    if info.full_run:
        missing = [x.id for x in lines if x.status == "not_exercised" and x.level == "MUST"]
        if missing:
            reasons.append(f"MUST rule(s) not exercised by a full {info.profile} run: {', '.join(missing)}")
        cells = ", ".join(c.id for c in coverage.unexercised(results.coverage, info.capabilities))
        if cells and results.coverage:  # (a run that judged no data at all fails on its MUST rules)
            reasons.append(f"data-edge cell(s) not exercised by a full {info.profile} run: {cells}")
    if results.replica_deaths:
        reasons.append(f"replica(s) died or unreachable: {'; '.join(results.replica_deaths)}")
    return reasons
