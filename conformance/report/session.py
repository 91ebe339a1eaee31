"""Turning a finished pytest session into the conformance report, its files and the exit status.

Runs in the controller process only (with xdist, after every worker sent its results).
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.report.build import Report, RunInfo, build_report
from conformance.report.html import html_report
from conformance.report.junit import append_rule_suite
from conformance.report.render import markdown, terminal_table
from conformance.report.verdict import SessionEnd
from conformance.session.database import shown
from conformance.version import suite_version

if TYPE_CHECKING:
    from conformance.session.plugin import ConformanceState

JSON_NAME = "conformance-report.json"
MD_NAME = "conformance-report.md"
HTML_NAME = "conformance-report.html"


def _seed(config: pytest.Config, derandomized: bool, database: str = "") -> str:
    seed = config.getoption("hypothesis_seed", default=None)
    if seed is not None:
        text = str(seed)
    else:
        text = "derandomized (fixed per test)" if derandomized else "random (printed with each failure)"
    return f"{text}, example database {shown(database)}" if database else text


def _info(state: ConformanceState) -> RunInfo:
    s = state.settings()
    results = state.results
    return RunInfo(
        suite_version=suite_version(),
        profile=s.profile.name,
        target=", ".join(results.targets) or s.target_description(),
        seed=_seed(state.config, s.profile.derandomize, s.profile.database),
        capabilities=s.capabilities,
        known_failing=set(s.known_failing),
        full_run=results.full_run and s.profile.name != "quick" and s.replay is None,
        strict=s.strict,
        duration_s=time.monotonic() - state.started,
        bounds=s.bounds.describe(),
    )


def _build(state: ConformanceState, end: SessionEnd) -> Report:
    from conformance.rules import RULES, section_title

    titles = {r.section: section_title(r.section) for r in RULES.values()}
    return build_report(RULES.values(), titles, state.results, _info(state), end)


def finish(state: ConformanceState, session: pytest.Session) -> Report:
    """The run's report and files; the session's exit status becomes the verdict's."""
    status = int(session.exitstatus)
    stopped_by_us = bool(state.results.stopped)
    interrupted = state.signalled or (
        "Ctrl-C" if status == pytest.ExitCode.INTERRUPTED and not stopped_by_us else ""
    )
    end = SessionEnd(interrupted=interrupted, internal_error=status == pytest.ExitCode.INTERNAL_ERROR)
    report = _build(state, end)
    write_report(state.settings().artifacts, report)
    if not report.verdict.passed or status == pytest.ExitCode.INTERRUPTED:
        session.exitstatus = report.verdict.exit_code
    return report


def write_report(artifacts: Path, report: Report) -> None:
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / JSON_NAME).write_text(json.dumps(report.to_json(), indent=2) + "\n")
    (artifacts / MD_NAME).write_text(markdown(report))
    (artifacts / HTML_NAME).write_text(html_report(report), encoding="utf-8")


def clear_report(artifacts: Path) -> None:
    """Remove an earlier run's report, so that a run refused early never leaves a stale PASS behind."""
    for name in (JSON_NAME, MD_NAME, HTML_NAME):
        with contextlib.suppress(OSError):
            (artifacts / name).unlink()


def refused(state: ConformanceState, problem: str) -> Report:
    """The report of a run refused before any test ran (bad usage, an unreachable replica)."""
    report = _build(state, SessionEnd(usage_error=problem))
    write_report(state.settings().artifacts, report)
    return report


def terminal_summary(state: ConformanceState, tr: Any) -> None:
    report: Report = state.report
    tr.write_sep("=", "compute-protocol conformance")
    for line in terminal_table(report):
        tr.write_line(line)
    tr.write_line(f"report: {state.settings().artifacts / MD_NAME} (and {JSON_NAME}, {HTML_NAME})")


def append_junit(state: ConformanceState) -> None:
    path = getattr(state.config.option, "xmlpath", None)
    if not path or state.report is None:
        return
    try:
        append_rule_suite(path, state.report)
    except Exception as e:  # a broken JUnit file must not hide the verdict
        print(f"compute-conformance: could not add the rule suite to {path}: {e}")
