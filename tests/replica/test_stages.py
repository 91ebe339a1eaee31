"""Stages (spec section 3) and creation (section 4)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from reference_replica.server import ReplicaServer
from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller
from tests.replica.storage_server import StorageServer

CONSTANT_INDEX = p.dataflow(
    0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], indexes=[p.index_export(2, 1, [0])]
)


def test_nothing_before_create_instance_and_initialization_is_deferred(ctl: Controller) -> None:
    ctl.send(p.create_timely())
    ctl.settle(0.1)
    assert ctl.responses == []  # STAGE-1
    ctl.send(p.create_instance(), p.create_dataflow(CONSTANT_INDEX), p.schedule(2), p.peek(1, 2, 0, 1))
    ctl.settle(0.2)
    assert ctl.responses == []  # this replica defers everything to InitializationComplete (STAGE-2)
    ctl.send(p.initialization_complete())
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((1,), 1)])  # STAGE-3
    assert ctl.wait_frontier(2, EMPTY) == EMPTY


def test_allow_writes_is_idempotent(ctl: Controller, replica: ReplicaServer) -> None:
    ctl.start(p.create_dataflow(CONSTANT_INDEX))
    ctl.send(p.allow_writes(), p.allow_writes(), p.peek(1, 2, 0, 1))
    ctl.peek(1)
    assert not ctl.ended  # TRANS-3
    assert replica.engine.services.writer.writable


def test_allow_writes_during_initialization_is_accepted(ctl: Controller, replica: ReplicaServer) -> None:
    ctl.start(p.allow_writes(), p.create_dataflow(CONSTANT_INDEX), p.peek(1, 2, 0, 1))
    ctl.peek(1)
    assert replica.engine.services.writer.writable


def test_a_new_stream_ends_the_old_one(connect: Callable[[], Controller]) -> None:
    first = connect().start(p.create_dataflow(CONSTANT_INDEX))
    first.wait_frontier(2, EMPTY)
    second = connect().start(p.create_dataflow(CONSTANT_INDEX), epoch=2)
    code, _ = first.wait_ended()
    assert code == grpc.StatusCode.OK  # TRANS-2: a clean end
    second.wait_frontier(2, EMPTY)
    second.send(p.peek(5, 2, 0, 1))
    assert p.peek_rows(second.peek(5)) == p.keyed([((1,), 1)])


def test_epochs_are_not_fenced(connect: Callable[[], Controller]) -> None:
    connect().start(epoch=5).sync()
    older = connect().start(p.create_dataflow(CONSTANT_INDEX), epoch=1)  # CREATE-2: newest stream wins
    older.wait_frontier(2, EMPTY)


def test_configuration_unset_keeps_value_and_dyncfg_merges(ctl: Controller, replica: ReplicaServer) -> None:
    ctl.start(p.update_configuration(max_result_size=10, dyncfg={"a": "1"}))
    ctl.send(p.update_configuration(dyncfg={"b": "2"}), p.create_dataflow(CONSTANT_INDEX), p.peek(1, 2, 0, 1))
    ctl.peek(1)
    params = replica.engine.services.params
    assert params.max_result_size == 10  # CONFIG-2
    assert params.dyncfg == {"a": "1", "b": "2"}


def test_a_half_closed_stream_still_gets_its_answers(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s")
    desc = p.dataflow(0, sources=[p.source(1, storage.address, "s", 1)], indexes=[p.index_export(2, 1, [0])])
    ctl.start(p.create_dataflow(desc), p.peek(1, 2, 3, 1))
    ctl.sync()
    ctl.half_close()
    storage.append("s", [((1,), 0, 1)], 4)
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((1,), 1)])
    assert not ctl.ended
