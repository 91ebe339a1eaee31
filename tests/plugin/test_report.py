"""From counted results to per-rule verdicts, exit reasons, Markdown, the terminal table and
the JUnit rule suite. Uses a small fake registry so each status is easy to provoke."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.report.build import Report, RunInfo, build_report
from conformance.report.coverage import CELLS
from conformance.report.junit import SUITE_NAME, append_rule_suite
from conformance.report.render import markdown, terminal_table
from conformance.report.results import RunResults
from conformance.session.capabilities import Capabilities, CapabilitiesError, load_capabilities, parse_capabilities
from conformance.session.known_failing import KnownFailingError, load_known_failing, parse_known_failing


@dataclass(frozen=True)
class FakeRule:
    id: str
    level: str
    kind: str
    section: int
    summary: str = "a rule"


RULES = [
    FakeRule("PEEK-1", "MUST", "safety", 8),
    FakeRule("PEEK-2", "MUST", "liveness", 8),
    FakeRule("PEEK-5", "MAY", "permission", 8),
    FakeRule("SUB-1", "MUST", "safety", 9),
    FakeRule("SUB-8", "SHOULD", "safety", 9),
    FakeRule("STAGE-4", "CTRL", "controller", 3),
    FakeRule("TRANS-4", "SHOULD", "robustness", 2),
]
TITLES = {2: "Transport", 3: "Stages", 8: "Peeks and cancels", 9: "Subscribes"}


def info(**kw: object) -> RunInfo:
    base: dict[str, object] = {
        "suite_version": "1.2.3",
        "profile": "ci",
        "target": "r:1",
        "seed": "derandomized",
    }
    base.update(kw)
    return RunInfo(**base)  # type: ignore[arg-type]


def results(**exercised: int) -> RunResults:
    r = RunResults(tests_run=3)
    r.add_exercised({k.replace("_", "-"): v for k, v in exercised.items()})
    return r


def status(report: Report, rule_id: str) -> str:
    return next(x.status for x in report.lines if x.id == rule_id)


def test_statuses_of_every_kind_of_rule() -> None:
    r = results(PEEK_1=5, SUB_1=2)
    r.add_violation("PEEK-2", "PEEK-2 [MUST liveness] nothing within 20 s", "suite::test_x", "a.replay.json")
    r.add_warning("SUB-8", "SUB-8 an updates batch after an error batch", "suite::test_y")
    report = build_report(RULES, TITLES, r, info())
    assert [status(report, x.id) for x in RULES] == [
        "passed",
        "failed",
        "permission",
        "passed",
        "warning",
        "controller",
        "not_exercised",
    ]
    line = next(x for x in report.lines if x.id == "PEEK-2")
    assert line.first_violation.startswith("PEEK-2") and line.test == "suite::test_x" and line.artifact
    assert report.exit_reasons == ["MUST rule(s) violated: PEEK-2"]
    assert report.to_json()["suite"]["version"] == "1.2.3" and report.to_json()["profile"] == "ci"


def test_full_run_fails_when_a_must_rule_is_not_exercised() -> None:
    partial = build_report(RULES, TITLES, results(PEEK_1=1), info(full_run=False))
    assert partial.passed and status(partial, "SUB-1") == "not_exercised"
    full = build_report(RULES, TITLES, results(PEEK_1=1), info(full_run=True))
    assert not full.passed
    assert full.exit_reasons == ["MUST rule(s) not exercised by a full ci run: PEEK-2, SUB-1"]


def test_known_failing_is_strict() -> None:
    r = results(PEEK_1=1, PEEK_2=1, SUB_1=1)
    r.add_violation("PEEK-2", "PEEK-2 broken", "t")
    report = build_report(RULES, TITLES, r, info(known_failing={"PEEK-2", "SUB-1"}))
    assert status(report, "PEEK-2") == "known_failing"
    assert status(report, "SUB-1") == "unexpected_pass"
    assert report.exit_reasons == ["known-failing rule(s) passed (remove them from the list): SUB-1"]


def test_not_applicable_rules_do_not_count_as_unexercised() -> None:
    caps = Capabilities(sink_kinds=frozenset())
    report = build_report(RULES, TITLES, results(PEEK_1=1, PEEK_2=1), info(full_run=True, capabilities=caps))
    assert status(report, "SUB-1") == "not_applicable" and report.passed


def test_rules_of_a_status_the_replica_never_sent_are_not_applicable() -> None:
    """Status is optional (STATUS-2): a replica that sends none leaves STATUS-1 unexercised, and a
    full run must not fail for it; one that sends some must have it checked."""
    rules = [FakeRule("STATUS-1", "MUST", "safety", 11), FakeRule("STATUS-2", "MAY", "permission", 11)]
    silent = build_report(rules, {11: "Status"}, results(), info(full_run=True))
    assert status(silent, "STATUS-1") == "not_applicable"
    assert silent.passed
    talking = build_report(rules, {11: "Status"}, results(STATUS_2=3), info(full_run=True))
    assert status(talking, "STATUS-1") == "not_exercised"
    assert "STATUS-1" in " ".join(talking.exit_reasons)


def test_zero_tests_and_replica_deaths_and_strict_mode() -> None:
    empty = build_report(RULES, TITLES, RunResults(), info())
    assert empty.exit_reasons == ["no conformance test ran (zero selected, or every one skipped)"]
    r = results(PEEK_1=1)
    r.add_warning("SUB-8", "SUB-8 x", "t")
    r.add_replica_problem("replica died: process 12 exited with code 7; its log: l")
    report = build_report(RULES, TITLES, r, info(strict=True))
    assert report.exit_reasons == [
        "replica died: process 12 exited with code 7; its log: l",
        "SHOULD rule(s) violated in strict mode: SUB-8",
    ]
    assert report.verdict.word == "FAIL" and report.verdict.exit_code == 1


def test_unjudged_situations_are_noted_a_few_times() -> None:
    r = RunResults()
    r.add_unjudged([f"c{i} ended while c{i - 1} was open" for i in range(20)] + ["c1 ended while c0 was open"])
    assert len(r.notes) == 10 and r.notes[0] == "not judged: c0 ended while c-1 was open"


def test_results_cross_processes_as_json_and_merge() -> None:
    a, b = results(PEEK_1=2), results(PEEK_1=3, SUB_1=1)
    a.add_violation("PEEK-2", "first", "t1")
    b.add_violation("PEEK-2", "second", "t2")
    b.suite_collected, b.full_run = 9, False
    merged = RunResults.from_json(a.to_json())
    merged.merge(RunResults.from_json(b.to_json()))
    assert merged.exercised["PEEK-1"] == 5 and merged.violations["PEEK-2"] == 2
    assert merged.first["PEEK-2"].text == "first" and merged.tests_run == 6
    assert merged.suite_collected == 9 and not merged.full_run



def test_timings_and_machine_counts_cross_processes_and_reach_the_json() -> None:
    a, b = RunResults(), RunResults()
    a.timings["suite::t1"] = 1.5
    b.timings["suite::t2"] = 2.5
    b.machines.append({"test": "suite::m", "examples": 3, "steps": 40})
    merged = RunResults.from_json(a.to_json())
    merged.merge(RunResults.from_json(b.to_json()))
    assert merged.timings == {"suite::t1": 1.5, "suite::t2": 2.5} and merged.machines[0]["steps"] == 40
    data = build_report(RULES, TITLES, merged, info()).to_json()
    assert data["timings"] == {"tests": merged.timings, "machines": merged.machines}


def test_markdown_and_terminal_table() -> None:
    r = results(PEEK_1=5)
    r.add_violation("PEEK-2", "PEEK-2 [MUST liveness] peek p1: nothing within 20 s", "suite::t", "f.replay.json")
    report = build_report(RULES, TITLES, r, info(full_run=True))
    md = markdown(report)
    assert "compute-conformance 1.2.3" in md and "- profile: ci (full run)" in md
    assert "### 8. Peeks and cancels" in md and "| PEEK-1 | MUST | safety | pass | 5 |" in md
    assert "- replay: `f.replay.json`" in md
    table = terminal_table(report)
    assert table[0] == "suite compute-conformance 1.2.3, profile ci, target r:1, seed derandomized"
    assert table[1].startswith("verdict: FAIL - MUST rule(s) violated: PEEK-2")
    assert any(line.strip().startswith("PEEK-2") and "nothing within 20 s" in line for line in table)
    assert any(line.strip().startswith("SUB-1") and "not exercised" in line for line in table)
    partial = terminal_table(build_report(RULES, TITLES, r, info(full_run=False)))
    assert "1 MUST rule(s) not exercised by this partial run: SUB-1" in partial
    assert not any(line.strip().startswith("SUB-1") for line in partial)
    assert table[-1].startswith("by section: ") and "8:1/2!1" in table[-1]


def test_data_edge_cells_are_counted_shown_and_required_in_a_full_run() -> None:
    r = results(PEEK_1=1, PEEK_2=1, SUB_1=1)
    r.coverage.update({cell: 2 for cell in CELLS if cell != "reduce.nan-key"})
    full = build_report(RULES, TITLES, r, info(full_run=True))
    assert full.exit_reasons == ["data-edge cell(s) not exercised by a full ci run: reduce.nan-key"]
    assert build_report(RULES, TITLES, r, info(full_run=False)).passed
    no_reduce = Capabilities(plan_operators=frozenset({"get", "mfp", "union", "constant", "join", "negate"}))
    assert build_report(RULES, TITLES, r, info(full_run=True, capabilities=no_reduce)).passed, "n/a, not missing"
    edges = {e["cell"]: e for e in full.to_json()["data_edges"]}
    assert edges["reduce.nan-key"]["exercised"] == 0 and edges["join.null-key"]["exercised"] == 2
    md = markdown(full)
    assert "## Data edges" in md and "| `reduce.nan-key` | reduce | NaN in the group key | **0** |" in md
    table = terminal_table(full)
    assert f"data edges: {len(CELLS) - 1} of {len(CELLS)} cells exercised" in table
    assert "  NOT exercised: reduce.nan-key" in table
    merged = RunResults.from_json(r.to_json())
    merged.merge(RunResults.from_json(r.to_json()))
    assert merged.coverage["join.null-key"] == 4, "counts cross processes and add up, as the rules' do"


def _junit(tmp_path: Path, report: Report) -> dict[str, ET.Element]:
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="1"><testcase name="t"/>'
        "</testsuite></testsuites>"
    )
    append_rule_suite(xml, report)
    append_rule_suite(xml, report)  # idempotent: replaced, not duplicated
    return {s.get("name") or "": s for s in ET.parse(xml).getroot().findall("testsuite")}


def _cases(suite: ET.Element) -> dict[str, str]:
    """rule id -> failure, skipped or passed."""
    out = {}
    for case in suite.findall("testcase"):
        kind = next((c.tag for c in case if c.tag in ("failure", "skipped")), "passed")
        out[case.get("name") or ""] = kind
    return out


def test_junit_gets_one_case_per_rule_in_its_sections_suite(tmp_path: Path) -> None:
    r = results(PEEK_1=5, SUB_1=1)
    text = "PEEK-2 nothing within 20 s\nlast messages: ..."
    r.add_violation("PEEK-2", text, "t", "f.replay.json", rerun="py -m pytest --replay f", check="py -m conformance c")
    r.add_warning("SUB-8", "SUB-8 an updates batch after an error batch", "t")
    report = build_report(RULES, TITLES, r, info())
    suites = _junit(tmp_path, report)
    assert list(suites) == [
        "pytest",
        SUITE_NAME,
        f"{SUITE_NAME}: 8. Peeks and cancels",
        f"{SUITE_NAME}: 9. Subscribes",
        f"{SUITE_NAME}: 3. Stages",
        f"{SUITE_NAME}: 2. Transport",
    ]
    verdict = suites[SUITE_NAME].find("testcase[@name='verdict']/failure")
    assert verdict is not None and verdict.get("message") == "FAIL - MUST rule(s) violated: PEEK-2"
    peeks = suites[f"{SUITE_NAME}: 8. Peeks and cancels"]
    assert _cases(peeks) == {"PEEK-1": "passed", "PEEK-2": "failure", "PEEK-5": "skipped"}
    failure = peeks.find("testcase[@name='PEEK-2']/failure")
    assert failure is not None and failure.get("message") == "PEEK-2 nothing within 20 s"
    assert "last messages" in (failure.text or "") and "check: py -m conformance c" in (failure.text or "")
    assert peeks.find("testcase[@name='PEEK-1']").get("classname") == f"{SUITE_NAME}.08-peeks-and-cancels"  # type: ignore[union-attr]
    assert (peeks.get("tests"), peeks.get("failures"), peeks.get("skipped")) == ("3", "1", "1")
    # A SHOULD warning outside strict mode passes, as the verdict does; an unexercised rule is skipped.
    subs = suites[f"{SUITE_NAME}: 9. Subscribes"]
    assert _cases(subs) == {"SUB-1": "passed", "SUB-8": "passed"}
    assert "warning" in (subs.findtext("testcase[@name='SUB-8']/system-out") or "")
    assert _cases(suites[f"{SUITE_NAME}: 2. Transport"]) == {"TRANS-4": "skipped"}
    props = {p.get("name"): p.get("value") for p in suites[SUITE_NAME].iter("property")}
    assert props["suite_version"] == "1.2.3" and props["profile"] == "ci"
    assert props["verdict"] == "FAIL" and props["exit_status"] == "1"


def test_junit_rule_cases_fail_exactly_where_the_verdict_blames_a_rule(tmp_path: Path) -> None:
    r = results(PEEK_1=5)
    r.add_warning("SUB-8", "SUB-8 an updates batch after an error batch", "t")
    report = build_report(
        RULES, TITLES, r, info(full_run=True, strict=True, known_failing={"PEEK-1"}, capabilities=Capabilities())
    )
    suites = _junit(tmp_path, report)
    failing = {
        case.get("name"): case.find("failure").get("type")  # type: ignore[union-attr]
        for suite in suites.values()
        for case in suite.findall("testcase")
        if case.find("failure") is not None and case.get("name") != "verdict"
    }
    assert failing == {"PEEK-1": "known_failing", "PEEK-2": "coverage", "SUB-1": "coverage", "SUB-8": "strict"}
    assert set(failing) == set(report.verdict.blamed())
    clean = build_report(RULES, TITLES, results(PEEK_1=1, PEEK_2=1, SUB_1=1), info())
    suites = _junit(tmp_path, clean)
    assert clean.verdict.passed and suites[SUITE_NAME].get("failures") == "0"
    assert all(s.get("failures") == "0" for name, s in suites.items() if name != "pytest")


def test_known_failing_file(tmp_path: Path) -> None:
    assert parse_known_failing("# why\nPEEK-1  # bug 12\n\nSUB-3\n") == {"PEEK-1", "SUB-3"}
    with pytest.raises(KnownFailingError, match=r"kf.txt:2: expected one rule id"):
        parse_known_failing("PEEK-1\npeek one\n", "kf.txt")
    with pytest.raises(KnownFailingError, match="NOPE-1 is not a rule"):
        parse_known_failing("NOPE-1", "kf", known_ids={"PEEK-1"})
    with pytest.raises(KnownFailingError, match="cannot read"):
        load_known_failing(tmp_path / "missing.txt")


def test_capabilities_file(tmp_path: Path) -> None:
    caps = parse_capabilities({"plan_operators": ["get", "mfp"], "sink_kinds": []})
    assert caps.plan_operators == {"get", "mfp"} and caps.peek_targets == {"index", "persist"}
    assert not caps.applicable("SUB-1") and caps.applicable("PEEK-1") and caps.applicable("PEEK-10")
    assert not parse_capabilities({"plan_operators": ["get"]}).applicable("PEEK-10"), "no way to make errors"
    assert caps.missing({"op:join", "op:get"}) == ["op:join"]
    for bad, fragment in [
        ({"plan_operators": ["get", "fold"]}, "unknown value 'fold'"),
        ({"sinks": []}, "unknown field 'sinks'"),
        ({"plan_operators": ["mfp"]}, "must include 'get'"),
        ([], "expected a JSON object"),
    ]:
        with pytest.raises(CapabilitiesError, match=fragment):
            parse_capabilities(bad, "caps.json")
    path = tmp_path / "caps.json"
    path.write_text("{not json")
    with pytest.raises(CapabilitiesError, match=r"caps\.json: not valid JSON"):
        load_capabilities(path)
