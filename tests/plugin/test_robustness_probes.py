"""The robustness probes (conformance/suite/test_robustness.py) against the reference replica:
clean, they pass and grade TRANS-4/TRANS-5 `passed`; with each robustness fault they report
its rule as a warning (the run passes), and fail the run, the test and write a failure with
`--conformance-strict`. Each run is only the probes (about a second against the replica).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.plugin.subrun import ROOT, Result, run_pytest

PROBES = str(ROOT / "conformance" / "suite" / "test_robustness.py")
REPLICA = "{python} -m reference_replica --listen 127.0.0.1:{port}"


def probes(tmp_path: Path, fault: str | None, *extra: str) -> tuple[Result, dict[str, Any]]:
    command = REPLICA if fault is None else f"{REPLICA} --inject-fault {fault}"
    tmp_path.mkdir(parents=True, exist_ok=True)
    args = [PROBES, "--replica-cmd", command, "--conformance-profile", "quick", *extra]
    result = run_pytest(tmp_path, *args, timeout=60)
    data: dict[str, Any] = json.loads((tmp_path / "conformance-artifacts" / "conformance-report.json").read_text())
    return result, data


def rule(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    line: dict[str, Any] = next(r for r in data["rules"] if r["id"] == rule_id)
    return line


def test_the_clean_replica_passes_every_probe_even_strict(tmp_path: Path) -> None:
    result, data = probes(tmp_path, None, "--conformance-strict")
    assert result.ret == 0, result.stdout[-3000:]
    result.assert_outcomes(passed=11)
    for rule_id in ("TRANS-4", "TRANS-5"):
        line = rule(data, rule_id)
        assert line["status"] == "passed" and line["exercised"] >= 3, line
    assert not any(r["status"] == "warning" for r in data["rules"])
    markdown = (tmp_path / "conformance-artifacts" / "conformance-report.md").read_text()
    assert re.search(r"^\| TRANS-4 \| SHOULD \| robustness \| pass \| \d+ \|", markdown, re.MULTILINE)
    assert "robustness profile" not in markdown


@pytest.mark.parametrize(
    ("fault", "rule_id", "test", "outcomes"),
    [
        # The process dies of the first probe: every later probe is skipped.
        ("crash-on-illegal-command", "TRANS-4", "init-complete-before-create-timely", {"failed": 1, "skipped": 10}),
        # ... of the fifth: the four before it pass.
        (
            "crash-on-early-allow-writes",
            "TRANS-4",
            "allow-writes-before-init-complete",
            {"failed": 1, "passed": 4, "skipped": 6},
        ),
        ("refuses-unknown-cancel", "TRANS-5", "cancel-unknown-uuid", {"failed": 1, "passed": 10}),
    ],
)
def test_a_robustness_fault_warns_and_fails_only_strict(
    tmp_path: Path, fault: str, rule_id: str, test: str, outcomes: dict[str, int]
) -> None:
    lenient, data = probes(tmp_path / "lenient", fault)
    assert lenient.ret == 0, lenient.stdout[-3000:]
    assert rule(data, rule_id)["status"] == "warning" and data["verdict"] == "pass"
    assert [r["id"] for r in data["rules"] if r["status"] in ("warning", "failed")] == [rule_id]

    strict, data = probes(tmp_path / "strict", fault, "--conformance-strict")
    assert strict.ret == 1, strict.stdout[-3000:]
    assert data["exit_reasons"] == [f"SHOULD rule(s) violated in strict mode: {rule_id}"]
    strict.assert_outcomes(**outcomes)
    assert f"{rule_id} [SHOULD robustness]" in strict.stdout
    failures = tmp_path / "strict" / "conformance-artifacts" / "failures"
    saved = json.loads(next(failures.glob(f"test_probe-{test}-{rule_id}.replay.json")).read_text())
    assert saved["rules"] == [rule_id] and saved["replay"]["test"].endswith(f"test_probe[{test}]")
    command = re.search(r"^re-run:\s+(.*)$", strict.stdout, re.MULTILINE)
    assert command is not None and "--conformance-strict" in shlex.split(command.group(1))
