"""The whole suite against the bundled reference replica, through pytest itself: a correct
replica passes, a broken one fails with the right rule id, artifacts and a replay command that
reproduces it; known-failing lists are strict; the exit status guards against vacuous runs."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.rules import RULES
from tests.plugin.subrun import ROOT, run_pytest
from tests.plugin.test_html_report import Page

pytestmark = pytest.mark.slow

FAULTY = "{python} -m reference_replica --listen 127.0.0.1:{port} --inject-fault duplicate-peek-response"


def in_shell(directory: Path, line: str) -> subprocess.CompletedProcess[str]:
    """`line` run by a shell, as a user pastes it (with this checkout importable, as run_pytest has it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_ADDOPTS"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(ROOT / "protos"), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        ["/bin/sh", "-c", line], cwd=directory, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def report(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "conformance-artifacts" / "conformance-report.json").read_text())
    return data


def test_quick_profile_passes_against_the_reference_replica(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--conformance-profile", "quick", "--junitxml", "junit.xml", timeout=600)
    assert result.ret == 0, result.stdout[-5000:]
    assert "compute-protocol conformance" in result.stdout and "verdict: PASS" in result.stdout
    data = report(tmp_path)
    assert data["verdict"] == "pass" and data["profile"] == "quick" and data["suite"]["version"]
    assert "embedded reference replica" in data["target"]
    assert data["summary"]["passed"] > 40 and data["summary"]["failed"] == 0
    suites = {s.get("name"): s for s in ET.parse(tmp_path / "junit.xml").getroot().iter("testsuite")}
    assert "conformance-rules" in suites and suites["conformance-rules"].get("failures") == "0"
    assert (tmp_path / "conformance-artifacts" / "conformance-report.md").read_text().startswith("# Conformance report")
    page = Page((tmp_path / "conformance-artifacts" / "conformance-report.html").read_text())
    assert page.ids["verdict"].startswith("PASS")
    assert all(page.ids.get(f"rule-{rule_id}", "").startswith(rule_id) for rule_id in RULES)
    assert "test_read_only_machine" in page.ids["timings"]


def test_a_broken_replica_fails_with_the_rule_an_artifact_and_a_working_replay(tmp_path: Path) -> None:
    result = run_pytest(
        tmp_path,
        "--replica-cmd",
        FAULTY,
        "--conformance-profile",
        "quick",
        "-k",
        "peek-index-basic",
        "--junitxml",
        "junit.xml",
    )
    assert result.ret == 1
    assert "PEEK-1 [MUST safety]" in result.stdout
    replays = sorted((tmp_path / "conformance-artifacts" / "failures").glob("*PEEK-1*.replay.json"))
    assert replays, result.stdout[-3000:]
    history = replays[0].with_name(replays[0].name.replace(".replay.json", ".history.jsonl"))
    assert history.read_text().count("\n") > 5
    assert report(tmp_path)["exit_reasons"] == ["MUST rule(s) violated: PEEK-1"]
    failing = [
        c
        for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
        if (c.get("classname") or "").startswith("conformance-rules") and c.find("failure") is not None
    ]
    assert [(c.get("classname"), c.get("name")) for c in failing] == [
        ("conformance-rules", "verdict"),
        ("conformance-rules.08-peeks-and-cancels", "PEEK-1"),
    ]
    peek1 = failing[1].find("failure")
    assert peek1 is not None and (peek1.get("message") or "").startswith("PEEK-1 [MUST safety]")
    assert "check: " in (peek1.text or "") and "--replay" in (peek1.text or "")
    html = Page((tmp_path / "conformance-artifacts" / "conformance-report.html").read_text())
    assert html.ids["verdict"].startswith("FAIL") and "FAIL" in html.ids["rule-PEEK-1"]
    violation = html.ids["violation-PEEK-1"]
    assert str(replays[0]) in violation and "last messages on the stream" in violation

    # Both commands of the message are one copy-paste each: pasted into a shell as printed, the
    # replay reproduces and the offline check re-judges the saved history to the same rule.
    command = re.search(r"^replay:\s+(.*)$", result.stdout, re.MULTILINE)
    assert command is not None
    argv = shlex.split(command.group(1))
    assert argv[:3] == [sys.executable, "-m", "pytest"], "the interpreter that ran, not a `pytest` on PATH"
    assert "--replay" in argv and argv[argv.index("--replay") + 1] == str(replays[0])
    assert argv[argv.index("--replica-cmd") + 1] == FAULTY
    replayed = in_shell(tmp_path, command.group(1))
    assert replayed.returncode == 1
    assert re.search(r"reproduced [1-9] of 3", replayed.stdout), replayed.stdout[-3000:]
    check = re.search(r"^check:\s+(.*)$", result.stdout, re.MULTILINE)
    assert check is not None
    assert shlex.split(check.group(1)) == [sys.executable, "-m", "conformance", "check", str(history)]
    checked = in_shell(tmp_path, check.group(1))
    assert checked.returncode == 1 and "PEEK-1 [MUST safety]" in checked.stdout, checked.stdout[-3000:]


def test_known_failing_turns_failures_into_xfails_and_is_strict(tmp_path: Path) -> None:
    (tmp_path / "kf.txt").write_text("PEEK-1  # duplicate answers, on purpose\n")
    result = run_pytest(
        tmp_path,
        "--replica-cmd",
        FAULTY,
        "--conformance-profile",
        "quick",
        "-k",
        "peek-index-basic",
        "--known-failing",
        "kf.txt",
    )
    result.assert_outcomes(xfailed=1)
    assert result.ret == 0, result.stdout[-3000:]
    line = next(x for x in report(tmp_path)["rules"] if x["id"] == "PEEK-1")
    assert line["status"] == "known_failing"

    (tmp_path / "kf.txt").write_text("PEEK-7\n")  # passes on the correct replica: the list is stale
    result = run_pytest(
        tmp_path, "--conformance-profile", "quick", "-k", "peek-index-basic", "--known-failing", "kf.txt"
    )
    assert result.ret == 1
    assert "known-failing rule(s) passed (remove them from the list): PEEK-7" in result.stdout


def test_zero_selected_exits_non_zero(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--conformance-profile", "quick", "-k", "no_such_test")
    assert result.ret != 0
    assert report(tmp_path)["exit_reasons"] == ["no conformance test ran (zero selected, or every one skipped)"]


def test_a_full_run_that_leaves_a_must_rule_unexercised_exits_non_zero(tmp_path: Path) -> None:
    empty = tmp_path / "no-scenarios"
    empty.mkdir()
    result = run_pytest(
        tmp_path,
        "--conformance-profile",
        "ci",
        "--conformance-examples",
        "1",
        "--conformance-steps",
        "1",
        "--conformance-scenarios",
        str(empty),
        timeout=600,
    )
    assert result.ret == 1, result.stdout[-3000:]
    reasons = report(tmp_path)["exit_reasons"]
    assert len(reasons) == 1 and reasons[0].startswith("MUST rule(s) not exercised by a full ci run: ")
    assert report(tmp_path)["full_run"] is True


def test_two_workers_with_replica_cmd(tmp_path: Path) -> None:
    cmd = "{python} -m reference_replica --listen 127.0.0.1:{port}"
    result = run_pytest(
        tmp_path,
        "-n",
        "2",
        "--replica-cmd",
        cmd,
        "--conformance-profile",
        "quick",
        "-k",
        "scenario and (peek or subscribe)",
    )
    assert result.ret == 0, result.stdout[-5000:]
    logs = sorted(p.name for p in (tmp_path / "conformance-artifacts").glob("replica-gw*.log"))
    assert logs == ["replica-gw0.log", "replica-gw1.log"]
    targets = report(tmp_path)["target"]
    assert targets.count("pid") == 2, "each worker reported its own replica"


def test_python_m_conformance_run(tmp_path: Path) -> None:
    import subprocess

    from tests.plugin.subrun import ROOT

    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--conformance-profile",
            "quick",
            "-k",
            "peek-index-basic",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "verdict: PASS" in proc.stdout


def test_the_scenarios_alone_exercise_every_data_edge_cell(tmp_path: Path) -> None:
    """Which values the state machines draw depends on the replica's answers, so a correct replica
    may lead them past a rare cell; the scenarios' steps are fixed, and they alone reach every cell,
    so a full ci run never fails a correct replica for a cell left at zero."""
    result = run_pytest(tmp_path, "--conformance-profile", "ci", "-k", "test_scenario", timeout=600)
    assert result.ret == 0, result.stdout[-5000:]
    cells = report(tmp_path)["data_edges"]
    assert cells and not [c["cell"] for c in cells if c["exercised"] == 0], cells
