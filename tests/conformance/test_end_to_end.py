"""The core against the reference replica: a tour of the protocol without a single false verdict,
the same verdicts offline, and injected faults caught with their rule ids."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.driver import Replica, Stream, WaitTimeout
from conformance.oracle import format_violation
from conformance.storage import StorageHarness
from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row

ROOT = Path(__file__).resolve().parents[2]
COLS: list[cmd.ScalarType] = ["int64", "string"]


class ReferenceReplica:
    """`python -m reference_replica` in a child process on a free port."""

    def __init__(self, *faults: str) -> None:
        args = [
            sys.executable,
            "-m",
            "reference_replica",
            "--listen",
            "127.0.0.1:0",
            "--log-level",
            "WARNING",
        ]
        for f in faults:
            args += ["--inject-fault", f]
        env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'protos'}", "PATH": "/usr/bin:/bin"}
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()
        assert self.address, "the reference replica did not start"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def storage() -> Iterator[StorageHarness]:
    with StorageHarness(poll_seconds=0.05) as h:
        yield h


def session(
    address: str, storage: StorageHarness, history: Path | None = None, patience: float = 5.0
) -> Replica:
    replica = Replica(address, patience=patience, history=history)
    storage.add_listener(replica.storage_listener)
    return replica


def index_over(storage: StorageHarness, gid: str, shard: str, *, as_of: int = 0) -> cmd.Cmd:
    src = cmd.source("u100", shard, storage_address=storage.address, columns=COLS)
    return cmd.create_dataflow(
        cmd.dataflow(
            as_of=as_of,
            sources=[src],
            objects=[cmd.build("t1", cmd.get("u100"))],
            indexes=[cmd.index_export(gid, "t1", [0])],
        )
    )


def sink_over(storage: StorageHarness, shard: str, sink: object) -> cmd.Cmd:
    src = cmd.source("u100", shard, storage_address=storage.address, columns=COLS)
    return cmd.create_dataflow(
        cmd.dataflow(as_of=0, sources=[src], objects=[cmd.build("t9", cmd.get("u100"))], sinks=[sink])  # type: ignore[list-item]
    )


def clean(replica: Replica) -> None:
    verdicts = replica.violations + replica.warnings
    assert not verdicts, "\n\n".join(format_violation(v) for v in verdicts)


def tour(s: Stream, storage: StorageHarness) -> None:
    """Indexes, peeks (with key, limit, cancel, below since), a subscribe, a view, a copy-to, drops."""
    s.send(index_over(storage, "u1", "src"))
    s.send(cmd.schedule("u1"))
    s.initialization_complete()
    storage.append("src", [(row(3, "c"), 4, 1), (row(1, "a"), 5, -1)], 7)
    s.send(cmd.peek(1, "u1", 5, arity=2))
    assert s.wait_peek(1).rows == {row(2, "b"): 1, row(3, "c"): 1}
    s.send(cmd.peek(2, "u1", 6, arity=2, key=[row(3)]))
    assert s.wait_peek(2).rows == {row(3, "c"): 1}
    s.send(cmd.peek(3, "u1", 6, arity=2, finish=cmd.finishing(limit=1, order_by=[(0, True, False)])))
    assert row(3, "c") in s.wait_peek(3).rows
    s.send(cmd.peek(4, "u1", 50, arity=2))
    s.send(cmd.cancel_peek(4))
    assert s.wait_peek(4).kind in ("canceled", "rows", "error")
    s.send(cmd.allow_compaction("u1", 5))
    s.send(cmd.peek(5, "u1", 4, arity=2))
    assert s.wait_peek(5).kind == "error"
    assert s.wait_frontier("u1", "write", 6) == 7

    s.send(sink_over(storage, "src", cmd.subscribe_sink("u2", "t9", COLS)))
    s.send(cmd.schedule("u2"))
    s.wait_subscribe("u2", 6)
    s.send(cmd.drop("u2"))
    s.wait_subscribe("u2", EMPTY - 1)

    s.send(cmd.allow_writes())
    storage.create_shard("mv", 2, upper=0)
    s.send(
        sink_over(
            storage, "src", cmd.mv_sink("u3", "t9", COLS, shard_id="mv", storage_address=storage.address)
        )
    )
    s.send(cmd.schedule("u3"))
    s.wait_frontier("u3", "write", 6)
    s.send(
        sink_over(
            storage,
            "src",
            cmd.copy_to_sink("u4", "t9", COLS, storage_address=storage.address, blob_key="out"),
        )
    )
    s.send(cmd.schedule("u4"))
    assert s.wait_copy_to("u4").count == 1  # the contents at as_of 0
    s.send(cmd.drop("u1"))
    s.wait_frontier("u1", "output", EMPTY - 1)
    s.settle()


def test_reference_replica_tour_has_no_verdicts(storage: StorageHarness, tmp_path: Path) -> None:
    ref = ReferenceReplica()
    history = tmp_path / "history.jsonl"
    try:
        with session(ref.address, storage, history) as replica:
            storage.create_shard("src", 2, upper=0)
            storage.append("src", [(row(1, "a"), 0, 1), (row(2, "b"), 2, 1)], 3)
            first = replica.connect()
            tour(first, storage)
            second = replica.connect()  # reconnect: the replay of what is still live
            second.send(cmd.update_configuration(max_result_size=1 << 40))
            second.send(index_over(storage, "u5", "src", as_of=5))
            second.send(cmd.schedule("u5"))
            second.initialization_complete()
            second.send(cmd.allow_writes())
            first.wait_ended()
            second.wait_frontier("u5", "write", 6)
            second.settle()
            clean(replica)
            assert replica.oracle.exercised["TRANS-2"] == 1
    finally:
        ref.stop()
    assert main(["check", str(history)]) == 0


def test_injected_faults_are_caught(storage: StorageHarness) -> None:
    ref = ReferenceReplica("duplicate-peek-response", "no-droppedat")
    try:
        with session(ref.address, storage, patience=1.0) as replica:
            storage.create_shard("src", 2, upper=0)
            storage.append("src", [(row(1, "a"), 0, 1)], 3)
            s = replica.connect()
            s.send(index_over(storage, "u1", "src"))
            s.send(cmd.schedule("u1"))
            s.send(sink_over(storage, "src", cmd.subscribe_sink("u2", "t9", COLS)))
            s.send(cmd.schedule("u2"))
            s.initialization_complete()
            s.send(cmd.peek(1, "u1", 2, arity=2))
            s.wait_peek(1)
            s.wait_subscribe("u2", 2)
            s.send(cmd.drop("u2"))
            with pytest.raises(WaitTimeout, match="SUB-13"):
                s.settle()
            rules = {v.rule for v in replica.violations}
            assert {"PEEK-1", "SUB-13"} <= rules, rules
    finally:
        ref.stop()
