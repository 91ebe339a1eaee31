"""Materialized views (DF-4, section 13) and copy-to (section 10)."""

from __future__ import annotations

from collections.abc import Callable

from compute_protocol.v1 import plan_pb2 as pb

from reference_replica.server import ReplicaServer
from tests.replica import plans as p
from tests.replica.checks import check_frontiers
from tests.replica.controller import EMPTY, Controller
from tests.replica.storage_server import StorageServer

DOUBLE = p.mfp(1, projection=[1], expressions=[p.binary(pb.PROTO_BINARY_FUNC_MUL, p.col(0), p.lit(2))])


def view(storage: StorageServer, as_of: int = 0) -> p.Cmd:
    return p.create_dataflow(
        p.dataflow(
            as_of,
            sources=[p.source(1, storage.address, "src", 1)],
            objects=[(2, p.mfp_plan(p.get(1), DOUBLE))],
            sinks=[p.materialized_view(3, 2, storage.address, "mv", 1)],
        )
    )


def doubled(storage: StorageServer, t: int) -> object:
    """The view's contents at `t`: every source value doubled."""
    return p.keyed(
        [((value * 2,), count) for (((_, value),), count) in storage.contents_at("src", t).items()]
    )


def test_read_only_views_do_not_write_and_report_the_shard_upper(
    ctl: Controller, storage: StorageServer
) -> None:
    storage.create_shard("src")
    storage.create_shard("mv", upper=2)
    storage.append("src", [((1,), 0, 1)], 5)
    ctl.start(view(storage, as_of=2), p.schedule(3))
    ctl.wait_frontier(3, 5, "output_frontier")
    ctl.wait_frontier(3, 5, "input_frontier")
    ctl.settle(0.3)
    assert storage.replica_writes() == []  # RO-1
    assert ctl.frontier(3, "write_frontier") == 2  # RO-3: follows the target shard
    storage.append("mv", [], 4)  # someone else moves the shard
    ctl.wait_frontier(3, 4, "write_frontier")
    check_frontiers(ctl, 3, as_of=2)


def test_writable_views_write_and_correct_the_shard(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("src")
    storage.create_shard("mv")
    storage.append("src", [((1,), 0, 1), ((2,), 1, 1)], 2)
    ctl.start(view(storage), p.allow_writes())
    assert ctl.wait_frontier(3, 2) == 2
    storage.append("src", [((1,), 2, -1), ((5,), 3, 1)], 4)
    ctl.wait_frontier(3, 4)
    for t in range(4):
        assert storage.contents_at("mv", t) == doubled(storage, t)  # DF-4
    assert all(w.target == "mv" for w in storage.replica_writes())


def test_self_correction_of_foreign_contents(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("src")
    storage.create_shard("mv")
    storage.append("mv", [((7,), 0, 3), ((2,), 0, 1)], 1)  # stale contents below the view's as_of
    storage.append("src", [((1,), 0, 1)], 3)
    ctl.start(view(storage, as_of=1), p.allow_writes())
    ctl.wait_frontier(3, 3)
    for t in (1, 2):
        assert storage.contents_at("mv", t) == doubled(storage, t)


def test_writability_survives_a_reconnect(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("src")
    storage.create_shard("mv")
    storage.append("src", [((1,), 0, 1)], 1)
    first = connect().start(view(storage), p.allow_writes())
    first.wait_frontier(3, 1)
    second = connect().start(view(storage), epoch=2)  # never sends AllowWrites
    storage.append("src", [((3,), 1, 1)], 3)
    second.wait_frontier(3, 3)  # RO-2
    assert storage.contents_at("mv", 2) == doubled(storage, 2)


def test_copy_to_waits_for_writes_then_answers_once(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("src")
    storage.append("src", [((1,), 0, 2), ((2,), 0, 1), ((3,), 1, 1)], 2)
    desc = p.dataflow(
        0, sources=[p.source(1, storage.address, "src", 1)], sinks=[p.copy_to(2, 1, storage.address, "out")]
    )
    ctl.start(p.create_dataflow(desc))
    ctl.settle(0.3)
    assert ctl.copy_to_responses(2) == [] and storage.blobs == {}  # read-only: waits
    ctl.send(p.allow_writes())
    answer = ctl.copy_to(2)
    assert answer.WhichOneof("kind") == "rows" and answer.rows == 3  # COPY-4: total multiplicity
    assert sorted(storage.blobs["out"]) == [(1,), (1,), (2,)]
    ctl.send(p.allow_compaction(2, None))
    ctl.settle(0.2)
    assert len(ctl.copy_to_responses(2)) == 1  # COPY-1


def test_copy_to_errors_and_drops(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("src")
    desc = p.dataflow(
        0,
        objects=[(1, p.constant(1, [((1,), 0, 1), ("boom", 0, 1)])), (2, p.constant(1, [((1,), 0, -1)]))],
        sinks=[p.copy_to(3, 1, storage.address, "e1"), p.copy_to(4, 2, storage.address, "e2")],
    )
    pending = p.dataflow(
        0, sources=[p.source(5, storage.address, "src", 1)], sinks=[p.copy_to(6, 5, storage.address, "never")]
    )
    ctl.start(p.create_dataflow(desc), p.create_dataflow(pending), p.allow_writes())
    assert ctl.copy_to(3).WhichOneof("kind") == "error"
    assert ctl.copy_to(4).WhichOneof("kind") == "error"
    ctl.send(p.allow_compaction(6, None))
    assert ctl.copy_to(6).WhichOneof("kind") == "dropped"
    assert set(storage.blobs) == set()


def test_copy_to_answers_again_after_a_reconnect(
    connect: Callable[[], Controller], storage: StorageServer
) -> None:
    desc = p.dataflow(
        0, objects=[(1, p.constant(1, [((4,), 0, 2)]))], sinks=[p.copy_to(2, 1, storage.address, "k")]
    )
    first = connect().start(p.create_dataflow(desc), p.allow_writes())
    assert first.copy_to(2).rows == 2
    second = connect().start(p.create_dataflow(desc), p.allow_writes(), epoch=2)
    assert second.copy_to(2).rows == 2  # COPY-3, A8: the blob we wrote holds exactly these rows
    assert len([w for w in storage.replica_writes() if w.kind == "blob"]) == 1


def test_constant_view_reaches_the_empty_frontier(
    ctl: Controller, storage: StorageServer, replica: ReplicaServer
) -> None:
    storage.create_shard("mv")
    desc = p.dataflow(
        0,
        objects=[(1, p.constant(1, [((1,), 0, 1)]))],
        sinks=[p.materialized_view(2, 1, storage.address, "mv", 1)],
    )
    ctl.start(p.create_dataflow(desc), p.allow_writes())
    assert ctl.wait_frontier(2, EMPTY) == EMPTY
    assert storage.upper("mv") == EMPTY
    assert storage.contents_at("mv", 10) == p.keyed([((1,), 1)])


def test_a_rebuilt_view_continues_the_shard_consistently(
    connect: Callable[[], Controller], storage: StorageServer, replica: ReplicaServer
) -> None:
    storage.create_shard("src")
    storage.create_shard("mv")
    storage.append("src", [((1,), 0, 1)], 2)
    first = connect().start(view(storage), p.allow_writes())
    first.wait_frontier(3, 2)
    before = list(replica.engine.state.dataflows)
    rebuilt = p.create_dataflow(
        p.dataflow(
            0,
            sources=[p.source(1, storage.address, "src", 1)],
            objects=[(2, p.mfp_plan(p.get(1), DOUBLE))],
            sinks=[p.materialized_view(3, 2, storage.address, "mv", 1)],
            until=1000,  # not the same description: rebuilt
        )
    )
    second = connect().start(rebuilt, epoch=2)
    storage.append("src", [((1,), 2, -1), ((4,), 3, 1)], 5)
    second.wait_frontier(3, 5)
    assert list(replica.engine.state.dataflows) != before
    for t in range(5):
        assert storage.contents_at("mv", t) == doubled(storage, t)
