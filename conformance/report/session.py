"""Turning a finished pytest session into the conformance report, its files and the exit status.

Runs in the controller process only (with xdist, after every worker sent its results).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from conformance.report.build import Report, RunInfo, build_report
from conformance.report.junit import append_rule_suite
from conformance.report.render import markdown, terminal_table
from conformance.version import suite_version

if TYPE_CHECKING:
    from conformance.session.plugin import ConformanceState

JSON_NAME = "conformance-report.json"
MD_NAME = "conformance-report.md"


def _seed(config: pytest.Config, derandomized: bool) -> str:
    seed = config.getoption("hypothesis_seed", default=None)
    if seed is not None:
        return str(seed)
    return "derandomized (fixed per test)" if derandomized else "random (printed with each failure)"


def finish(state: ConformanceState, session: pytest.Session) -> Report:
    from conformance.rules import RULES, section_title

    s = state.settings()
    results = state.results
    full = results.full_run and s.profile.name != "quick" and s.replay is None
    info = RunInfo(
        suite_version=suite_version(),
        profile=s.profile.name,
        target=", ".join(results.targets) or s.target_description(),
        seed=_seed(state.config, s.profile.derandomize),
        capabilities=s.capabilities,
        known_failing=set(s.known_failing),
        full_run=full,
        strict=s.strict,
        duration_s=time.monotonic() - state.started,
    )
    titles = {r.section: section_title(r.section) for r in RULES.values()}
    report = build_report(RULES.values(), titles, results, info)
    s.artifacts.mkdir(parents=True, exist_ok=True)
    (s.artifacts / JSON_NAME).write_text(json.dumps(report.to_json(), indent=2) + "\n")
    (s.artifacts / MD_NAME).write_text(markdown(report))
    if not report.passed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if results.tests_run == 0 and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
    return report


def terminal_summary(state: ConformanceState, tr: Any) -> None:
    report: Report = state.report
    tr.write_sep("=", "compute-protocol conformance")
    for line in terminal_table(report):
        tr.write_line(line)
    tr.write_line(f"report: {state.settings().artifacts / MD_NAME} (and {JSON_NAME})")


def append_junit(state: ConformanceState) -> None:
    path = getattr(state.config.option, "xmlpath", None)
    if not path or state.report is None:
        return
    try:
        append_rule_suite(path, state.report)
    except Exception as e:  # a broken JUnit file must not hide the verdict
        print(f"compute-conformance: could not add the rule suite to {path}: {e}")
