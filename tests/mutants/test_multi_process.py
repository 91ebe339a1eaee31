"""A replica of several processes (spec section 15): the clean one passes, a wrong merge fails.

The reference replica runs as two processes (`--processes 2`); each answers for its hash share
of every peek, subscribe and copy-to on its own stream, and the suite judges each stream on its
own and the contents on the merge. The clean run is the kill matrix's own command (ci profile,
strict, stopping at the first failure) with two processes: the state machines and scenarios
run unchanged. The wrong merge is process 1 doubling the multiplicity of its share
(`process-doubles-share`): every stream's structure is right and only the merged contents
betray it, through each output's contents rule. The two scenarios are chosen because their
data gives process 1 a share of a peek, a subscribe and a copy-to (the partition hash is fixed).

Cost: one ci run (about 110 s on the project's loaded 2-core machine), one quick run against
three processes of two workers (about 20 s) and one run of two scenarios (a few seconds).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutants import suite_run

pytestmark = pytest.mark.slow


def test_two_process_replica_passes_ci(tmp_path: Path) -> None:
    artifacts = tmp_path / "clean-2p"
    run = suite_run.execute(suite_run.suite_command(None, artifacts, processes=2), None, artifacts)
    assert run.passed, f"the clean 2-process replica failed ({', '.join(run.cited)}):\n{run.tail(60)}"
    assert "--processes 2" in " ".join(run.command)


def test_three_processes_of_two_workers_pass_quick(tmp_path: Path) -> None:
    """The other shape the issue names (`--processes 3 --workers 2`), in the quick profile to keep
    the cost of `make test` down (the ci profile passes too: `make conformance
    REPLICA_PROCESSES=3 REPLICA_WORKERS=2`)."""
    artifacts = tmp_path / "clean-3p2w"
    command = suite_run.suite_command(None, artifacts, processes=3)
    command[command.index("ci")] = "quick"
    at = command.index("--replica-cmd") + 1
    command[at] += " --workers 2"
    run = suite_run.execute(command, None, artifacts)
    assert run.passed, f"the clean 3-process replica failed ({', '.join(run.cited)}):\n{run.tail(60)}"


def test_doubled_share_fails_each_contents_rule_on_the_merge(tmp_path: Path) -> None:
    artifacts = tmp_path / "doubled"
    command = suite_run.suite_command("process-doubles-share", artifacts, first_failure=False)
    command[command.index("ci")] = "quick"
    run = suite_run.execute(command, "process-doubles-share", artifacts, ["-k", "data-edge-datums or copy-to-once"])
    assert run.exit_code != 0, run.tail()
    for rule in ("SUB-6", "COPY-4", "PEEK-7"):
        assert rule in run.reported, f"{rule} not among {run.reported}:\n{run.tail(60)}"
    assert "merged over 2 processes" in run.output, run.tail()
