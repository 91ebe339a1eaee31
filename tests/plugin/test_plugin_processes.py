"""Replica processes under xdist, through pytest itself: one replica per worker from
--replica-cmd, logs per worker, and a dying replica failing only its own worker's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [str(ROOT), str(ROOT / "protos"), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_worker_gets_its_own_replica_and_stops_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_workers=WORKER_TESTS)
    cmd = f"{sys.executable} {FAKE} print {{port}}"
    result = pytester.runpytest_subprocess(
        "-p", "conformance.plugin", "-n", "2", "--dist", "each", "--replica-cmd", cmd, "test_workers.py"
    )
    result.assert_outcomes(passed=4)
    seen = {p.name: p.read_text().split() for p in pytester.path.glob("seen-gw*.txt")}
    assert set(seen) == {"seen-gw0.txt", "seen-gw1.txt"}
    (a0, pid0), (a1, pid1) = seen["seen-gw0.txt"], seen["seen-gw1.txt"]
    assert a0 != a1 and pid0 != pid1, "no two workers share a replica"
    assert not _alive(int(pid0)) and not _alive(int(pid1)), "replicas are stopped at the end"
    logs = sorted(p.name for p in (pytester.path / "conformance-artifacts").glob("replica-*.log"))
    assert logs == ["replica-gw0.log", "replica-gw1.log"]


def test_a_dying_replica_fails_only_its_workers_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_workers=WORKER_TESTS)
    cmd = f"{sys.executable} {FAKE} die-on-gw0 {{port}}"
    result = pytester.runpytest_subprocess(
        "-p",
        "conformance.plugin",
        "-n",
        "2",
        "--dist",
        "each",
        "--replica-cmd",
        cmd,
        "test_workers.py",
        "-rA",
    )
    # gw1 runs both tests; gw0 runs test_first, its replica dies during it, so test_second cannot
    # get a replica: a setup error naming the exit code and the log (and nothing on gw1).
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at setup of test_second*", "*replica process * exited with code 7; its log: *"]
    )
    assert "During handling" not in result.stdout.str()
    assert "replica-gw0.log" in result.stdout.str() and "replica-gw1.log" not in result.stdout.str()


def test_a_replica_that_cannot_start_fails_the_tests_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_workers=WORKER_TESTS)
    cmd = f"{sys.executable} {FAKE} die-early {{port}}"
    result = pytester.runpytest_subprocess(
        "-p", "conformance.plugin", "--replica-cmd", cmd, "test_workers.py"
    )
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*exited with code 3 before it accepted connections; its log: *replica-main.log*"]
    )
