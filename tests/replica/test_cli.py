"""The command line: address line, clean shutdown, faults switch, bad input in a real process."""

from __future__ import annotations

import signal
import subprocess

import grpc
import pytest

from reference_replica import faults
from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller
from tests.replica.process import ROOT, environment, replica_command, replica_process, stop

INDEX = p.dataflow(0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], indexes=[p.index_export(2, 1, [0])])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_on_the_printed_address_and_stops_cleanly(sig: int) -> None:
    with replica_process("--workers", "2", "--log-level", "DEBUG") as (proc, address):
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        ctl = Controller(address)
        try:
            ctl.start(p.create_dataflow(INDEX))
            assert ctl.wait_frontier(2, EMPTY) == EMPTY
        finally:
            ctl.close()
        assert stop(proc, sig) == 0


def test_bad_input_ends_only_that_stream() -> None:
    with replica_process() as (proc, address):
        bad = Controller(address)
        bad.send(p.schedule(3))
        code, details = bad.wait_ended()
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "Schedule" in details
        bad.close()
        good = Controller(address)
        good.start(p.create_dataflow(INDEX))
        good.wait_frontier(2, EMPTY)
        good.close()
        assert proc.poll() is None
        assert stop(proc) == 0
        assert proc.stderr is not None
        log = proc.stderr.read()
        assert log.count("FAILED_PRECONDITION") == 1


def test_unknown_fault_exits_2_listing_the_valid_ones() -> None:
    result = subprocess.run(
        replica_command("--inject-fault", "no-such-fault"),
        capture_output=True,
        text=True,
        env=environment(),
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    assert "no-such-fault" in result.stderr
    for name in faults.REGISTRY:
        assert name in result.stderr


def test_a_busy_port_is_an_error() -> None:
    with replica_process() as (proc, address):
        result = subprocess.run(
            [*replica_command()[:-2], "--listen", address],
            capture_output=True,
            text=True,
            env=environment(),
            cwd=ROOT,
            timeout=30,
        )
        assert result.returncode == 1 and "cannot listen" in result.stderr
        stop(proc)
