"""Replica processes under xdist, through pytest itself: one replica per worker from
--replica-cmd, logs per worker, and a dying replica failing only its own worker's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.plugin.subrun import run_pytest, write

FAKE = Path(__file__).with_name("fake_replica.py")

WORKER_TESTS = """
import os, time
from pathlib import Path

def _record(replica):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(f"seen-{worker}.txt").write_text(f"{replica.address} {replica.process.pid}")

def test_first(conformance_replica):
    _record(conformance_replica)
    time.sleep(1.0)

def test_second(conformance_replica):
    _record(conformance_replica)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_worker_gets_its_own_replica_and_stops_it(tmp_path: Path) -> None:
    write(tmp_path, "test_workers.py", WORKER_TESTS)
    cmd = f"{sys.executable} {FAKE} print {{port}}"
    result = run_pytest(tmp_path, "-n", "2", "--dist", "each", "--replica-cmd", cmd, "test_workers.py")
    result.assert_outcomes(passed=4)
    seen = {p.name: p.read_text().split() for p in tmp_path.glob("seen-gw*.txt")}
    assert set(seen) == {"seen-gw0.txt", "seen-gw1.txt"}
    (a0, pid0), (a1, pid1) = seen["seen-gw0.txt"], seen["seen-gw1.txt"]
    assert a0 != a1 and pid0 != pid1, "no two workers share a replica"
    assert not _alive(int(pid0)) and not _alive(int(pid1)), "replicas are stopped at the end"
    logs = sorted(p.name for p in (tmp_path / "conformance-artifacts").glob("replica-*.log"))
    assert logs == ["replica-gw0.log", "replica-gw1.log"]


def test_a_dying_replica_fails_only_its_workers_tests(tmp_path: Path) -> None:
    write(tmp_path, "test_workers.py", WORKER_TESTS)
    cmd = f"{sys.executable} {FAKE} die-on-gw0 {{port}}"
    result = run_pytest(tmp_path, "-n", "2", "--dist", "each", "--replica-cmd", cmd, "test_workers.py", "-rA")
    # gw1 runs both tests; gw0 runs test_first, its replica dies during it, so test_second cannot
    # get a replica: a setup error naming the exit code and the log (and nothing on gw1).
    result.assert_outcomes(passed=3, errors=1)
    assert "ERROR at setup of test_second" in result.stdout
    assert "replica died: process" in result.stdout and "exited with code 7;" in result.stdout
    assert "its last output: " in result.stdout and "its log: " in result.stdout
    assert "replica-gw0.log" in result.stdout and "replica-gw1.log" not in result.stdout
    assert "During handling" not in result.stdout


def test_a_replica_that_cannot_start_fails_the_tests_with_the_reason(tmp_path: Path) -> None:
    write(tmp_path, "test_workers.py", WORKER_TESTS)
    cmd = f"{sys.executable} {FAKE} die-early {{port}}"
    result = run_pytest(tmp_path, "--replica-cmd", cmd, "test_workers.py")
    result.assert_outcomes(errors=2)
    assert "replica could not be started: it exited with code 3 before it accepted connections" in result.stdout
    assert "broken on purpose" in result.stdout, "its last output"
    assert "replica-main.log" in result.stdout
