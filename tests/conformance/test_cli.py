"""`python -m conformance`: the rules listing and the offline check of a recorded history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.history import HistoryWriter
from conformance.rules import RULES
from tests.conformance import breakers
from tests.conformance.histories import History

ROOT = Path(__file__).resolve().parents[2]


def saved(tmp_path: Path, h: History, name: str = "h.jsonl") -> Path:
    path = tmp_path / name
    with HistoryWriter(path) as w:
        for ev in h.events:
            w.write(ev)
    return path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code and stdout+stderr of `check`."""
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_rules_table_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert all(f"\n{rid} " in out for rid in RULES) and f"{len(RULES)} rule(s)" in out


def test_rules_json_and_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--json", "--level", "SHOULD"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in listed} == {rid for rid, r in RULES.items() if r.level == "SHOULD"}
    assert all(r["upstream"] and r["observed_by"] and r["section_title"] for r in listed)
    assert main(["rules", "--json", "--section", "8", "--kind", "liveness"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["PEEK-2"]


def test_rules_shows_one_rule_whole(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "peek-1"]) == 0
    out = capsys.readouterr().out
    rule = RULES["PEEK-1"]
    assert out.startswith("PEEK-1  MUST safety, section 8")
    assert "At most one `PeekResponse`" in out and rule.observed_by in out and "R51" in out
    # the oracle function that judges it, and a scenario that lists it
    assert "oracle/check_peeks.py:" in out and "cancel-answered-peek" in out


def test_rules_detail_as_json_names_checks_and_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--json", "SUB-6", "TRANS-4"]) == 0
    sub6, trans4 = json.loads(capsys.readouterr().out)
    assert sub6["id"] == "SUB-6" and any(p.startswith("oracle/check_subscribes.py:") for p in sub6["checked_in"])
    assert "subscribe-snapshot-up-to" in sub6["scenarios"]
    assert any(p.startswith("suite/test_robustness.py:") for p in trans4["checked_in"])


def test_every_checked_rule_is_found_in_the_code() -> None:
    """The look-up must not silently say "nowhere" for a rule the oracle checks."""
    from conformance.rules.where import checked_in

    missing = [rid for rid, r in RULES.items() if r.level in ("MUST", "SHOULD") and not checked_in(rid)]
    assert missing == []


def test_rules_unknown_id_is_an_error_with_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "PEK-1"]) == 2
    err = capsys.readouterr().err
    assert "no rule 'PEK-1'" in err and "PEEK-1" in err


def test_version_names_suite_protocol_and_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    suite, protocol, spec = capsys.readouterr().out.splitlines()
    assert suite.startswith("compute-conformance ") and "compute_protocol.v1" in protocol
    assert f"{len(RULES)} rules" in spec and "63dc09f1c1" in spec


def test_check_prints_the_live_verdicts_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = breakers.peek_7(True)
    (live,) = h.oracle().violations
    code, out = check(capsys, str(saved(tmp_path, h)))
    assert code == 1
    assert live.headline() in out and live.actual in out and live.expected[0] in out
    assert "last messages on the stream" in out and "1 violation(s) of MUST rules" in out


def test_check_of_a_clean_history_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(capsys, str(saved(tmp_path, breakers.peek_7(False))))
    assert code == 0 and "0 violation(s)" in out


def test_warnings_fail_only_in_strict_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(saved(tmp_path, breakers.front_8(True)))
    code, out = check(capsys, path)
    assert code == 0 and "FRONT-8" in out and "1 warning(s)" in out
    assert check(capsys, path, "--strict")[0] == 1


def test_patience_override_changes_liveness_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(saved(tmp_path, breakers.peek_2(True)))
    assert check(capsys, path)[0] == 1
    code, out = check(capsys, path, "--patience", "100")
    assert code == 0 and "still open when the history ends" in out and "PEEK-2" in out


def test_unjudgeable_histories_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.wire import commands as cmd

    bad = History().connect("c1").send("c1", cmd.schedule("u9"))
    code, out = check(capsys, str(saved(tmp_path, bad)))
    assert code == 2 and "breaks a controller rule" in out and "DF-3" in out
    code, out = check(capsys, str(tmp_path / "missing.jsonl"))
    assert code == 2 and "cannot read" in out


def test_module_entry_point(tmp_path: Path) -> None:
    path = saved(tmp_path, breakers.trans_3(True))
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "TRANS-3 [MUST safety]" in proc.stdout
