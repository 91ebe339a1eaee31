"""Replica processes the suite starts: address discovery, logs, death verdicts, stopping."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from conformance.session.replicas import (
    ReplicaError,
    ReplicaProcess,
    ReplicaUsageError,
    check_worker_assignment,
    parse_address,
    pool_address,
    worker_index,
)

FAKE = Path(__file__).with_name("fake_replica.py")


def command(mode: str) -> str:
    return f"{sys.executable} {FAKE} {mode} {{port}}"


def test_address_from_the_first_stdout_line(tmp_path: Path) -> None:
    proc = ReplicaProcess(command("print"), tmp_path / "r.log", start_timeout=20)
    try:
        address = proc.start()
        assert address.startswith("127.0.0.1:") and proc.alive() and proc.death_verdict() is None
        # The port may accept before the fake has printed (the suite polls it too): let it finish
        # printing before it is stopped, or a loaded machine stops it mid-start.
        deadline = time.monotonic() + 30
        while "listening on" not in proc.log_tail() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert proc.stop() == 0
    log = (tmp_path / "r.log").read_text()
    assert "fake replica print" in log, "stderr is captured in the per-replica log"
    assert "listening on" in log, "stdout after the address line goes to the log too"


def test_a_silent_command_is_polled_on_the_port_it_was_given(tmp_path: Path) -> None:
    proc = ReplicaProcess(command("silent"), tmp_path / "r.log", start_timeout=20)
    try:
        address = proc.start()
        assert address == f"127.0.0.1:{proc.argv[-1]}"
    finally:
        proc.stop()


def test_a_replica_that_dies_at_start_names_its_exit_code_and_log(tmp_path: Path) -> None:
    proc = ReplicaProcess(command("die-early"), tmp_path / "r.log", start_timeout=20)
    with pytest.raises(
        ReplicaError, match=r"exited with code 3 before it accepted connections; its last output: .*broken on purpose"
    ):
        proc.start()
    assert "broken on purpose" in (tmp_path / "r.log").read_text()
    proc.stop()


def test_death_verdict_and_sigkill_after_the_bound(tmp_path: Path) -> None:
    proc = ReplicaProcess(command("stubborn"), tmp_path / "r.log", start_timeout=20, stop_timeout=0.5)
    proc.start()
    started = time.monotonic()
    code = proc.stop()
    assert code == -9, "SIGTERM ignored: SIGKILL after the bound"
    assert time.monotonic() - started < 5
    verdict = proc.death_verdict()
    assert verdict is not None and "was killed by signal 9" in verdict and "r.log" in verdict


def test_a_command_that_cannot_start(tmp_path: Path) -> None:
    proc = ReplicaProcess("/nonexistent/replica {port}", tmp_path / "r.log")
    with pytest.raises(ReplicaError, match="cannot start replica command"):
        proc.start()


def test_worker_assignment_rules() -> None:
    check_worker_assignment(addr="h:1", pool=None, workers=1)
    with pytest.raises(ReplicaUsageError, match="--replica-pool"):
        check_worker_assignment(addr="h:1", pool=None, workers=2)
    with pytest.raises(ReplicaUsageError, match="1 address\\(es\\) for 2 worker"):
        check_worker_assignment(addr=None, pool="h:1", workers=2)
    with pytest.raises(ReplicaUsageError, match="exclusive"):
        check_worker_assignment(addr="h:1", pool="h:2", workers=1)
    assert pool_address("a:1; b:2 ;", "gw1") == "b:2"
    assert pool_address("a:1", "main") == "a:1"
    assert worker_index("gw12") == 12 and worker_index("main") == 0


@pytest.mark.parametrize(
    ("line", "address"),
    [
        ("listening on 127.0.0.1:4321", "127.0.0.1:4321"),
        ("127.0.0.1:1", "127.0.0.1:1"),
        ("[::1]:80 ready", "[::1]:80"),
        ("no address here", None),
        ("host:0", None),
    ],
)
def test_parse_address(line: str, address: str | None) -> None:
    assert parse_address(line) == address
