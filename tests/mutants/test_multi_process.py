"""A replica of several processes (spec section 15): the clean one passes, a wrong merge fails.

The reference replica runs as two processes (`--processes 2`); each answers for its hash share
of every peek, subscribe and copy-to on its own stream, and the suite judges each stream on its
own and the contents on the merge. The clean run is the kill matrix's own command (ci profile,
strict, stopping at the first failure) with two processes: the state machines and scenarios
run unchanged. The wrong merge is process 1 doubling the multiplicity of its share
(`process-doubles-share`): every stream's structure is right and only the merged contents
betray it, through each output's contents rule. The two scenarios are chosen because their
data gives process 1 a share of a peek, a subscribe and a copy-to (the partition hash is fixed).

Cost: one ci run (about 110 s on the project's loaded 2-core machine) and one run of two
scenarios (a few seconds).
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


def test_doubled_share_fails_each_contents_rule_on_the_merge(tmp_path: Path) -> None:
    artifacts = tmp_path / "doubled"
    command = suite_run.suite_command("process-doubles-share", artifacts, first_failure=False)
    command[command.index("ci")] = "quick"
    run = suite_run.execute(command, "process-doubles-share", artifacts, ["-k", "data-edge-datums or copy-to-once"])
    assert run.exit_code != 0, run.tail()
    for rule in ("SUB-6", "COPY-4", "PEEK-7"):
        assert rule in run.reported, f"{rule} not among {run.reported}:\n{run.tail(60)}"
    assert "merged over 2 processes" in run.output, run.tail()
