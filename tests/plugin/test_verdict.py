"""The one verdict function: PASS only when nothing speaks against it, every reason with its
exit status, and the terminal, JSON, Markdown and JUnit all showing the same verdict."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.report.build import Report, build_report
from conformance.report.junit import append_rule_suite
from conformance.report.render import markdown, terminal_table
from conformance.report.results import RunResults
from conformance.report.verdict import EXIT_CODES, KINDS, SessionEnd
from tests.plugin.test_report import RULES, TITLES, info

Setup = Callable[[RunResults], object]


def ran(r: RunResults) -> None:
    r.tests_run = 3
    r.add_exercised({"PEEK-1": 2, "PEEK-2": 1, "SUB-1": 1})


def ran_and(change: Setup) -> Setup:
    def setup(r: RunResults) -> None:
        ran(r)
        change(r)

    return setup


def nothing(r: RunResults) -> None:
    pass


CASES: dict[str, tuple[Setup, SessionEnd, str, int, str]] = {
    # name: (results, session end, word, exit status, first reason's words)
    "all passed": (ran, SessionEnd(), "PASS", 0, ""),
    "a MUST rule violated": (
        ran_and(lambda r: r.add_violation("PEEK-2", "PEEK-2 nothing within 20 s", "t")),
        SessionEnd(),
        "FAIL",
        1,
        "MUST rule(s) violated: PEEK-2",
    ),
    "the replica died": (
        ran_and(lambda r: r.add_replica_problem("replica died: process 7 exited with code 9")),
        SessionEnd(),
        "FAIL",
        1,
        "replica died: process 7 exited with code 9",
    ),
    "a test failed without a rule": (
        ran_and(lambda r: r.unexplained.append("t: expected rows (1), got (2)")),
        SessionEnd(),
        "FAIL",
        1,
        "1 test(s) failed without a rule verdict: t: expected rows (1), got (2)",
    ),
    "a failed test nothing else explains": (
        ran_and(lambda r: setattr(r, "tests_failed", 2)),
        SessionEnd(),
        "FAIL",
        1,
        "2 test(s) failed (see the test output)",
    ),
    "the suite broke": (
        ran_and(lambda r: r.suite_errors.append("t: TypeError: boom")),
        SessionEnd(),
        "ERROR",
        3,
        "the suite itself failed (a bug: please report it): t: TypeError: boom",
    ),
    "pytest internal error": (ran, SessionEnd(internal_error=True), "ERROR", 3, "the suite itself failed"),
    "the deadline": (
        ran_and(lambda r: r.cut_short.append("the whole-run deadline (5 s) passed")),
        SessionEnd(),
        "ERROR",
        2,
        "the whole-run deadline (5 s) passed",
    ),
    "SIGTERM": (ran, SessionEnd(interrupted="SIGTERM"), "ERROR", 2, "the run was interrupted (SIGTERM)"),
    "nothing ran": (nothing, SessionEnd(), "ERROR", 5, "no conformance test ran"),
    "usage": (nothing, SessionEnd(usage_error="cannot test x: refused"), "ERROR", 4, "cannot test x: refused"),
}


def report_for(setup: Setup, end: SessionEnd, **kw: object) -> Report:
    r = RunResults()
    setup(r)
    return build_report(RULES, TITLES, r, info(**kw), end)


@pytest.mark.parametrize("name", list(CASES))
def test_each_reason_has_its_word_and_exit_status(name: str) -> None:
    setup, end, word, code, first = CASES[name]
    verdict = report_for(setup, end).verdict
    assert (verdict.word, verdict.exit_code) == (word, code)
    assert verdict.passed == (word == "PASS")
    if first:
        assert verdict.reasons[0].text.startswith(first)
        assert verdict.reasons[0].kind in KINDS
    assert verdict.exit_code in EXIT_CODES


@pytest.mark.parametrize("name", list(CASES))
def test_terminal_json_markdown_and_junit_agree(name: str, tmp_path: Path) -> None:
    setup, end, word, code, _ = CASES[name]
    report = report_for(setup, end)
    headline = report.verdict.headline()
    assert terminal_table(report)[1] == f"verdict: {headline} (exit status {code})"
    data = report.to_json()
    assert data["verdict"] == word.lower() and data["exit_code"] == code
    assert [r["text"] for r in data["reasons"]] == data["exit_reasons"] == report.exit_reasons
    md = markdown(report)
    assert f"- verdict: **{word}** (exit status {code})" in md
    for reason in report.exit_reasons:
        assert f"  - {reason}" in md
    xml = tmp_path / "junit.xml"
    xml.write_text('<?xml version="1.0"?><testsuites><testsuite name="pytest"/></testsuites>')
    append_rule_suite(xml, report)
    case = next(c for c in ET.parse(xml).iter("testcase") if c.get("name") == "verdict")
    failure = case.find("failure")
    assert (failure is None) == (word == "PASS")
    if failure is not None:
        assert failure.get("message") == headline[:300]
    props = {p.get("name"): p.get("value") for p in ET.parse(xml).iter("property")}
    assert props["verdict"] == word and props["exit_status"] == str(code)
    rule_failures = {
        c.get("name")
        for c in ET.parse(xml).iter("testcase")
        if c.get("name") != "verdict" and c.find("failure") is not None
    }
    assert rule_failures == set(report.verdict.blamed())


def test_a_replica_fault_outranks_the_suites_own_error_and_the_deadline() -> None:
    def everything(r: RunResults) -> None:
        ran(r)
        r.suite_errors.append("t: boom")
        r.cut_short.append("deadline")
        r.add_violation("PEEK-2", "x", "t")

    verdict = report_for(everything, SessionEnd(interrupted="SIGTERM")).verdict
    assert verdict.exit_code == 1 and verdict.word == "FAIL"
    assert [r.kind for r in verdict.reasons] == ["violation", "suite", "interrupted", "interrupted"]


def test_coverage_is_judged_only_on_a_run_that_finished() -> None:
    def partial(r: RunResults) -> None:
        r.tests_run = 3
        r.add_exercised({"PEEK-1": 2, "PEEK-2": 1})

    full = report_for(partial, SessionEnd(), full_run=True)
    assert full.exit_reasons == ["MUST rule(s) not exercised by a full ci run: SUB-1"]

    def died(r: RunResults) -> None:
        partial(r)
        r.add_replica_problem("replica died: x")

    stopped = report_for(died, SessionEnd(), full_run=True)
    assert stopped.exit_reasons == ["replica died: x"], "no coverage complaint about a run the replica ended"


def test_rules_only_a_fresh_replica_can_exercise_carry_the_reason_and_do_not_fail_a_full_run() -> None:
    from conformance.report.build import build_report as build
    from conformance.rules import RULES as REGISTRY

    r = RunResults(tests_run=1)
    r.add_exercised({rid: 1 for rid in REGISTRY if rid not in ("RO-1", "RO-3")})
    r.fresh_unavailable = "not run: needs a fresh replica; pass --replica-fresh"
    report = build(REGISTRY.values(), {}, r, info(full_run=True))
    lines = {x.id: x for x in report.lines}
    assert lines["RO-1"].status == "not_exercised" and "--replica-fresh" in lines["RO-1"].reason
    assert not any(reason.startswith("MUST rule(s) not exercised") for reason in report.exit_reasons)
    assert any(line.startswith("not exercised: RO-1, RO-3: not run") for line in terminal_table(report))


def test_usage_docs_list_every_exit_status() -> None:
    usage = (Path(__file__).resolve().parents[2] / "docs" / "usage.md").read_text()
    table = dict(re.findall(r"^\| `(\d)` \| (\w+) \|", usage, re.MULTILINE))
    assert {int(k) for k in table} == set(EXIT_CODES), table
    for code, text in EXIT_CODES.items():
        assert table[str(code)] == text.split(":")[0], code
