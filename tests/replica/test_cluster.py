"""The reference replica as several processes (`--processes N`, spec section 15, `cluster`)."""

from __future__ import annotations

import subprocess
import sys

from reference_replica.partition import Partition
from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller
from tests.replica.process import ROOT, environment, replica_process, stop

ROWS = [(i, f"r{i}") for i in range(40)]


def test_the_shares_partition_the_rows() -> None:
    for n in (1, 2, 3):
        shares = [Partition(i, n).share(ROWS, lambda r: r) for i in range(n)]
        assert sorted(r for share in shares for r in share) == sorted(ROWS)
        assert all(shares) or n == 1  # 40 rows reach every process
    assert Partition(0, 1).blob_key("k") == "k" and Partition(1, 3).blob_key("k") == "k.part-1"


def test_the_owner_of_a_row_is_the_same_in_every_process() -> None:
    """Python's str hash differs per process; the partition's hash must not."""
    code = "from reference_replica.partition import Partition; print(Partition(0, 3).owner((7, 'x', None)))"
    owners = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**environment(), "PYTHONHASHSEED": str(seed)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in (1, 2, 3)
    }
    assert owners == {str(Partition(0, 3).owner((7, "x", None)))}


def _timely(process: int) -> p.Cmd:
    cmd = p.create_timely()
    cmd.create_timely.config.process = process
    return cmd


def test_each_process_answers_its_share_and_stops_with_process_0() -> None:
    with replica_process("--processes", "2") as (proc, line):
        addresses = line.split(",")
        assert len(addresses) == 2 and all(a.startswith("127.0.0.1:") for a in addresses)
        leader, follower = Controller(addresses[0]), Controller(addresses[1])
        try:
            follower.send(_timely(1))
            desc = p.dataflow(
                as_of=0,
                objects=[(1, p.constant(2, [(row, 0, 1) for row in ROWS]))],
                indexes=[p.index_export(2, 1, [0])],
            )
            leader.start(p.create_dataflow(desc), p.schedule(2))
            assert leader.wait_frontier(2, EMPTY) == EMPTY
            assert follower.wait_frontier(2, EMPTY) == EMPTY  # every process reports every index
            leader.send(p.peek(7, 2, 0, 2))
            shares = [p.peek_rows(leader.peek(7)), p.peek_rows(follower.peek(7))]
            assert all(shares)  # both hold some of the 40 rows
            assert not set(shares[0]) & set(shares[1])
            assert shares[0] + shares[1] == p.keyed((row, 1) for row in ROWS)
        finally:
            leader.close()
            follower.close()
        follower_probe = Controller(addresses[1])
        follower_probe.send(p.create_instance())  # only process 0 takes it (MULTI-1)
        code, message = follower_probe.wait_ended()
        assert code.name == "FAILED_PRECONDITION" and "process 0" in message
        assert stop(proc) == 0


def test_the_other_processes_end_with_process_0() -> None:
    with replica_process("--processes", "3") as (proc, line):
        addresses = line.split(",")
        assert len(addresses) == 3
        proc.kill()  # no chance to stop its children: they must see their channel end
        proc.wait()
        for address in addresses[1:]:
            probe = Controller(address)
            probe.send(_timely(1))
            probe.wait_ended()


def test_a_follower_refuses_another_process_index() -> None:
    with replica_process("--processes", "2") as (proc, line):
        follower = Controller(line.split(",")[1])
        follower.send(_timely(0))
        code, _ = follower.wait_ended()
        assert code.name == "FAILED_PRECONDITION"
        assert stop(proc) == 0

