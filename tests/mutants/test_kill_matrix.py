"""The kill matrix: the conformance suite catches every fault of the mutant zoo, with its rule.

For each fault, the suite runs as a user runs it (ci profile, derandomized, the embedded
reference replica) against a replica started with `--inject-fault NAME`, stopping at its first
failing test. The test asserts that the run failed, that the rules it cites include the one the
fault breaks, that it saved its failure (a replay file and the wire history), that replaying
that file against the same faulty replica fails again with that rule, and that every history
the run and its replay saved, re-judged offline (`python -m conformance check`), gives the
live verdicts.

The other half of the bargain, that the clean replica passes exactly this run, is
`test_no_false_positives` (the same command, no fault, three times in a row). Together they
show that every check the matrix relies on can fail, and fails only on bad input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.history import dumps
from reference_replica import faults
from tests.conformance import breakers
from tests.mutants import matrix, suite_run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(faults.REGISTRY))
def test_the_suite_kills(name: str, tmp_path: Path) -> None:
    fault = faults.REGISTRY[name]
    run = suite_run.run_suite(name, tmp_path)
    assert run.exit_code != 0, f"the suite passed against {name}:\n{run.tail()}"
    own = set(fault.rules)  # a data fault may show through any output's rule (its `also`)
    assert own & set(run.cited), (
        f"{name} breaks {' or '.join(fault.rules)}, but the suite cited {run.cited or 'nothing'}:\n{run.tail()}"
    )
    failure = run.failures[0]
    assert failure.replay_file.is_file() and failure.history_file.is_file(), failure
    probe = suite_run.strict_for(name)  # a robustness probe's failure: no steps, re-run as a test
    assert failure.steps > 0 or probe, f"{failure.replay_file} holds no steps"
    assert run.first is not None or probe, "the probe saw no violation"
    again = suite_run.replay(run, tmp_path)
    assert own & set(again.cited), (
        f"replaying {failure.replay_file.name} against {name} cited {again.cited or 'nothing'}:\n{again.tail()}"
    )
    # Offline equals live: every history the run and its replay saved re-judges to their verdicts.
    assert not run.offline_mismatches() and not again.offline_mismatches(), [
        *run.offline_mismatches(),
        *again.offline_mismatches(),
    ]


def test_the_judge_rejects_a_run_that_cites_another_rule(tmp_path: Path) -> None:
    """The matrix's own verdicts fail on bad input: a pass, a wrong rule, a replay that does not
    reproduce, a history that re-judges differently offline, missing artifacts."""
    fault = faults.REGISTRY["duplicate-peek-response"]
    replay_file = tmp_path / "failures" / "x.replay.json"
    replay_file.parent.mkdir()
    saved = {"rules": ["PEEK-1"], "steps": [{"op": "connect"}], "replay": {"history": "x.history.jsonl"}}
    replay_file.write_text(json.dumps(saved))
    history = tmp_path / "failures" / "x.history.jsonl"
    history.write_text("".join(dumps(e) + "\n" for e in breakers.peek_1(True).events))  # offline: PEEK-1
    failure = suite_run.Failure.load(replay_file)

    def run(code: int, rules: list[str]) -> suite_run.SuiteRun:
        saved = [suite_run.Failure(failure.replay_file, failure.history_file, rules, "t", 1)] if rules else []
        return suite_run.SuiteRun(fault.name, [], code, 1.0, saved)

    assert matrix.judge(fault, run(1, ["PEEK-1"]), run(1, ["PEEK-1"])).caught
    assert "passed" in matrix.judge(fault, run(0, []), None).problem
    assert "cited PEEK-3" in matrix.judge(fault, run(1, ["PEEK-3"]), run(1, ["PEEK-3"])).problem
    assert "did not reproduce" in matrix.judge(fault, run(1, ["PEEK-1"]), run(1, [])).problem
    history.write_text("".join(dumps(e) + "\n" for e in breakers.peek_1(False).events))  # offline: nothing
    assert "offline check of x.history.jsonl cites nothing" in matrix.judge(fault, run(1, ["PEEK-1"]), None).problem
    failure.history_file.unlink()
    assert "no history" in matrix.judge(fault, run(1, ["PEEK-1"]), run(1, ["PEEK-1"])).problem
