"""Reconnection and reconciliation (spec section 14)."""

from __future__ import annotations

from collections.abc import Callable

from reference_replica.server import ReplicaServer
from tests.replica import plans as p
from tests.replica.checks import check_frontiers, check_silent, check_subscribe, subscribe_contents
from tests.replica.controller import Controller
from tests.replica.storage_server import StorageServer


def index_on_source(storage: StorageServer, as_of: int, index: int = 3, until: int | None = None) -> p.Cmd:
    return p.create_dataflow(
        p.dataflow(
            as_of,
            sources=[p.source(1, storage.address, "s", 1)],
            objects=[(2, p.get(1))],
            indexes=[p.index_export(index, 2, [0])],
            until=until,
            name=f"index-{index}",
        )
    )


def running(replica: ReplicaServer) -> list[object]:
    return list(replica.engine.state.dataflows)


def test_compatible_dataflows_are_reused_and_report_again(
    connect: Callable[[], Controller], storage: StorageServer, replica: ReplicaServer
) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1), ((2,), 3, 1)], 5)
    first = connect().start(index_on_source(storage, 0))
    first.wait_frontier(3, 5)
    before = running(replica)
    second = connect().start(index_on_source(storage, 4), p.allow_compaction(3, 4), epoch=2)
    assert second.wait_frontier(3, 5) == 5  # RECON-3: reported again although unchanged
    assert running(replica) == before  # reused, not rebuilt
    check_frontiers(second, 3, as_of=4)
    second.send(p.peek(1, 3, 4, 1))
    assert p.peek_rows(second.peek(1)) == p.keyed([((1,), 1), ((2,), 1)])


def test_incompatible_dataflows_are_rebuilt(
    connect: Callable[[], Controller], storage: StorageServer, replica: ReplicaServer
) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1), ((2,), 6, 1)], 8)
    first = connect().start(index_on_source(storage, 0))
    first.wait_frontier(3, 8)
    before = running(replica)
    second = connect().start(index_on_source(storage, 0, until=5), epoch=2)  # a different until
    second.wait_frontier(3, 8)
    assert running(replica) != before
    second.send(p.peek(1, 3, 7, 1))
    assert p.peek_rows(second.peek(1)) == p.keyed([((1,), 1)])  # the new until applies


def test_compaction_beyond_the_new_as_of_forces_a_rebuild(
    connect: Callable[[], Controller], storage: StorageServer, replica: ReplicaServer
) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 8)
    first = connect().start(index_on_source(storage, 0), p.allow_compaction(3, 6))
    first.wait_frontier(3, 8)
    before = running(replica)
    second = connect().start(index_on_source(storage, 2), epoch=2)
    second.wait_frontier(3, 8)
    assert running(replica) != before
    second.send(p.peek(1, 3, 2, 1))
    assert p.peek_rows(second.peek(1)) == p.keyed([((1,), 1)])


def test_dropped_collections_and_old_peeks_stay_silent(
    connect: Callable[[], Controller], storage: StorageServer
) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 2)
    first = connect().start(index_on_source(storage, 0), index_on_source(storage, 0, index=4))
    first.wait_frontier(4, 2)
    first.send(p.peek(1, 3, 10, 1), p.peek(2, 4, 10, 1))  # pending
    second = connect().start(index_on_source(storage, 0), p.peek(2, 3, 10, 1), epoch=2)
    second.wait_frontier(3, 2)
    storage.append("s", [], 12)
    assert p.peek_rows(second.peek(2)) == p.keyed([((1,), 1)])  # re-sent uuid: answered once
    second.settle(0.2)
    check_silent(second, 4)  # RECON-1: u4 was not re-created
    assert second.peek_responses(1) == []  # RECON-2
    assert len(second.peek_responses(2)) == 1


def test_subscribes_restart_from_zero(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 2)
    desc = p.dataflow(0, sources=[p.source(1, storage.address, "s", 1)], sinks=[p.subscribe(5, 1)])
    first = connect().start(p.create_dataflow(desc))
    first.wait_subscribe_upper(5, 2)
    second = connect().start(p.create_dataflow(desc), epoch=2)
    storage.append("s", [((2,), 2, 1)], 3)
    second.wait_subscribe_upper(5, 3)
    check_subscribe(second, 5, as_of=0)  # starts at [0] again
    assert subscribe_contents(second, 5, 2) == p.keyed([((1,), 1), ((2,), 1)])


def test_a_stream_that_never_initializes_leaves_state_for_the_next(
    connect: Callable[[], Controller], storage: StorageServer, replica: ReplicaServer
) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 2)
    first = connect().start(index_on_source(storage, 0))
    first.wait_frontier(3, 2)
    before = running(replica)
    second = connect().handshake(epoch=2).send(index_on_source(storage, 0, index=9))
    second.settle(0.2)
    assert second.responses == []  # nothing before InitializationComplete
    third = connect().start(index_on_source(storage, 0), epoch=3)
    third.wait_frontier(3, 2)
    assert running(replica) == before
    check_silent(third, 9)
