"""No false positives: the clean reference replica passes the run the kill matrix makes.

The command is exactly the kill matrix's (`suite_run.suite_command` with no fault): the whole
suite, ci profile, derandomized, stopping at the first failure. Derandomized generation makes
the three runs send the same commands, so what they test is that nothing in the verdicts
depends on timing: three sequential runs while the rest of `make test` loads the machine, and
one run spread over two pytest-xdist workers (a replica each), which is how CI runs it. The
legal-variant groups (`tests/variants`) are two more such runs, against replicas whose timing
and batching differ on purpose (delayed and bunched responses, split and merged batches).

Cost: each run is a full ci run of the suite (about half a minute against the reference
replica on the project's 2-core machine), so this module takes about two minutes of one
worker; the two tests are separate so that xdist can run them side by side.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutants import suite_run

pytestmark = pytest.mark.slow

RUNS = 3


def _verdict(run: suite_run.SuiteRun) -> str:
    cited = ", ".join(run.cited) or "no rule"
    return f"the clean replica failed ({cited}), exit status {run.exit_code}:\n{run.tail(60)}"


def test_clean_replica_passes_ci_three_times_in_a_row(tmp_path: Path) -> None:
    for attempt in range(1, RUNS + 1):
        run = suite_run.run_suite(None, tmp_path / f"run{attempt}")
        assert run.passed, f"run {attempt} of {RUNS}: {_verdict(run)}"
        assert "passed" in run.output and "failed" not in run.output.splitlines()[-1]


def test_clean_replica_passes_ci_under_xdist(tmp_path: Path) -> None:
    artifacts = tmp_path / "xdist"
    run = suite_run.execute(suite_run.suite_command(None, artifacts), None, artifacts, ["-n", "2"])
    assert run.passed, _verdict(run)
    assert "bringing up nodes" in run.output, f"not a pytest-xdist run:\n{run.tail()}"
