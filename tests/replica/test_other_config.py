"""Another creation config on a later stream (CREATE-4): no lock-out by one stream.

Upstream halts the process on a timely config that differs from the running one, and its
supervisor starts a fresh process, so the newest controller gets in. The reference replica
does the same in-process by default (it starts afresh); `refuse_other_config` keeps the other
legal branch, ending such a stream with FAILED_PRECONDITION.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from reference_replica.server import ReplicaServer, serve
from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller

CONSTANT_INDEX = p.dataflow(0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], indexes=[p.index_export(2, 1, [0])])


def _served(ctl: Controller) -> None:
    ctl.send(p.create_dataflow(CONSTANT_INDEX), p.peek(7, 2, 0, 1))
    assert p.peek_rows(ctl.peek(7)) == p.keyed([((1,), 1)])
    assert ctl.wait_frontier(2, EMPTY) == EMPTY


def test_a_stranger_first_does_not_lock_out_the_controller(connect: Callable[[], Controller]) -> None:
    """The lock-out of the issue: one stream with `workers = 2` on a fresh replica, then the
    standard controller. It gets in, and so does the next one."""
    stranger = connect().handshake(epoch=1, workers=2).send(p.initialization_complete())
    stranger.sync()
    controller = connect().handshake(epoch=2).send(p.initialization_complete())
    assert stranger.wait_ended()[0] == grpc.StatusCode.OK  # TRANS-2, not CREATE-4
    _served(controller)
    again = connect().handshake(epoch=3).send(p.initialization_complete())
    _served(again)


def test_another_config_starts_afresh_as_a_restarted_replica(
    connect: Callable[[], Controller], replica: ReplicaServer
) -> None:
    first = connect().start(p.create_dataflow(CONSTANT_INDEX), p.allow_writes())
    first.wait_frontier(2, EMPTY)
    engine = replica.engine
    assert engine.services.writer.writable and len(engine.state.dataflows) == 1
    other = connect().handshake(epoch=2, workers=7).send(p.update_configuration(max_result_size=5))
    other.send(p.initialization_complete())
    other.sync()
    assert not other.ended
    # Nothing of the old state survives: no dataflow (only sync's), read-only again, and the
    # old collection id is unknown to the new iteration.
    assert not engine.services.writer.writable
    assert all(d.exports.keys() != {"u2"} for d in engine.state.dataflows)
    assert engine.first_configs.timely is not None and engine.first_configs.timely.config.workers == 7
    back = connect().handshake(epoch=3).send(p.initialization_complete())  # the standard config
    _served(back)
    assert other.wait_ended()[0] == grpc.StatusCode.OK


def test_another_instance_config_starts_afresh_too(connect: Callable[[], Controller]) -> None:
    connect().start(p.create_dataflow(CONSTANT_INDEX)).wait_frontier(2, EMPTY)
    instance = p.create_instance()
    instance.create_instance.logging.enable_logging = True
    other = connect().send(p.create_timely(2), instance, p.initialization_complete())
    other.sync()
    assert not other.ended
    _served(connect().handshake(epoch=3).send(p.initialization_complete()))


@pytest.fixture
def refusing() -> Iterator[ReplicaServer]:
    server = serve("127.0.0.1:0", refuse_other_config=True)
    yield server
    server.stop(grace=0.2)


def test_refusing_is_the_other_legal_branch(refusing: ReplicaServer) -> None:
    opened: list[Controller] = []
    try:
        first = Controller(refusing.address)
        opened.append(first)
        first.start(p.create_dataflow(CONSTANT_INDEX)).wait_frontier(2, EMPTY)
        second = Controller(refusing.address)
        opened.append(second)
        code, details = second.handshake(epoch=2, workers=7).wait_ended()
        assert code == grpc.StatusCode.FAILED_PRECONDITION  # CREATE-4
        assert "CreateTimely" in details and "CREATE-4" in details
        third = Controller(refusing.address)
        opened.append(third)
        third.start(p.create_dataflow(CONSTANT_INDEX), epoch=3).wait_frontier(2, EMPTY)
    finally:
        for ctl in opened:
            ctl.close()
