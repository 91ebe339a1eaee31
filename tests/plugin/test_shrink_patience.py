"""A replica with one safety bug whose copy-to answers are slow but legal gets a verdict that
cites the safety bug alone, at every profile.

The replica is the reference one with `frontier-after-copy-to` (FRONT-1: a final `[]`
Frontiers after a copy-to's answer) and `--blob-delay 2`: every copy-to answers 2 s late,
well within every profile's patience but four times the patience shrink candidates of a
liveness failure get. Nothing found under that short patience may reach the verdict, the
report, the exit status or a saved file; every saved failure is reproduced (never
`INTERMITTENT`), re-judges offline to the same rules, and its replay file fails again.

quick's state machines are too short to meet the bug, so that profile runs the whole suite
(its scenarios find it); ci and deep run the protocol machines until the first failure, the
part that shrinks. deep is random by design: a fixed seed keeps the test repeatable, and its
300 s shrink budget is capped (`tests.plugin.shrink_cap`) so that it ends within minutes,
which changes how long it shrinks, not what it may report.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.mutants.suite_run import Failure, offline_mismatch
from tests.plugin.shrink_cap import VARIABLE as SHRINK_CAP
from tests.plugin.subrun import ROOT, run_pytest

pytestmark = pytest.mark.slow

REPLICA = (
    "{python} -m reference_replica --listen 127.0.0.1:{port} --inject-fault frontier-after-copy-to --blob-delay 2"
)
MACHINES = str(ROOT / "conformance" / "suite" / "test_machines.py")
SELECTION = {
    "quick": [],
    "ci": [MACHINES, "-k", "test_protocol_machine", "-x"],
    "deep": [MACHINES, "-k", "test_protocol_machine", "-x", "--hypothesis-seed", "1"],
}


@pytest.mark.parametrize("profile", list(SELECTION))
def test_slow_copy_to_answers_do_not_join_the_verdict_on_a_safety_bug(tmp_path: Path, profile: str) -> None:
    common = ["--replica-cmd", REPLICA, "--conformance-profile", profile]
    run = run_pytest(
        tmp_path, *SELECTION[profile], *common, "-p", "tests.plugin.shrink_cap", timeout=900, env={SHRINK_CAP: "30"}
    )
    artifacts = tmp_path / "conformance-artifacts"
    report = json.loads((artifacts / "conformance-report.json").read_text())
    output = run.stdout + run.stderr

    assert run.ret == 1 and report["verdict"] == "fail", output[-3000:]
    failing = [r["id"] for r in report["rules"] if r["status"] in ("failed", "warning")]
    assert failing == ["FRONT-1"], (failing, output[-3000:])
    assert report["exit_reasons"] == ["MUST rule(s) violated: FRONT-1"], report["exit_reasons"]
    assert "INTERMITTENT" not in output and "within 0.5 s" not in output, output[-3000:]

    failures = [Failure.load(p) for p in sorted((artifacts / "failures").glob("*.replay.json"))]
    assert failures, "a failure was saved"
    for failure in failures:
        saved = json.loads(failure.replay_file.read_text())
        assert saved["rules"] == ["FRONT-1"] and not saved["replay"]["intermittent"], saved["replay"]
        history = failure.history_file.read_text()
        assert "within 0.5 s" not in history
        assert not offline_mismatch(failure), offline_mismatch(failure)
        for text in saved["replay"]["violations"]:  # the events and the stream each one names
            for seq in re.findall(r"at:\s+event #(\d+)", text):
                assert f'"seq":{seq},' in history, (seq, failure.history_file)
            for stream in re.findall(r"\] on (c\d+)", text):
                assert f'"stream":"{stream}"' in history, (stream, failure.history_file)

    (tmp_path / "replay").mkdir()
    replay = run_pytest(
        tmp_path / "replay",
        *common,
        "--replay",
        str(failures[0].replay_file),
        timeout=300,
    )
    reproduced = re.search(r"reproduced (\d+) of (\d+)", replay.stdout)
    assert replay.ret == 1 and reproduced is not None and int(reproduced.group(1)) > 0, replay.stdout[-3000:]
