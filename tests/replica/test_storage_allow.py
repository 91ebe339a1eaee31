"""`--storage-allow`: the replica dials only the storage services its operator allowed.

A command naming another address ends its stream with PERMISSION_DENIED before anything is
dialed (spec 5.4). The refused addresses here are loopback ones outside the list, or names
and URIs that are never dialed, so a bug in the check could not send traffic anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest
from compute_protocol.v1 import command_pb2

from reference_replica.server import ReplicaServer, serve
from reference_replica.storage.allow import StorageAllowList, parse_entry
from tests.replica import plans as p
from tests.replica.controller import Controller
from tests.replica.storage_server import StorageServer

Cmd = command_pb2.ProtoComputeCommand


@pytest.mark.parametrize(
    ("entries", "address", "allowed"),
    [
        ((), "127.0.0.1:7000", True),  # the default: loopback
        ((), "127.0.0.2:7000", True),
        ((), "[::1]:7000", True),
        ((), "localhost:7000", True),
        ((), "storage.invalid:7000", False),
        ((), "0.0.0.0:7000", False),
        ((), "unix:/tmp/storage.sock", False),
        ((), "dns:///localhost:7000", False),
        ((), "127.0.0.1", False),  # no port: not an address the replica dials
        (("127.0.0.1",), "127.0.0.2:7000", False),
        (("127.0.0.1:7000",), "127.0.0.1:7001", False),
        (("127.0.0.1:7000",), "127.0.0.1:7000", True),
        (("10.0.0.0/8",), "10.1.2.3:7000", True),
        (("10.0.0.0/8",), "11.1.2.3:7000", False),
        (("storage.example:7000",), "STORAGE.example:7000", True),
        (("storage.example",), "storage.example.evil:7000", False),
        (("[::1]:7000",), "[::1]:7000", True),
        (("any",), "storage.invalid:1", True),
        (("any",), "unix:/tmp/storage.sock", False),
        (("loopback,storage.example",), "storage.example:9", True),
    ],
)
def test_the_allow_list(entries: tuple[str, ...], address: str, allowed: bool) -> None:
    allow = StorageAllowList(entries) if entries else StorageAllowList()
    assert allow.allows(address) is allowed


@pytest.mark.parametrize("bad", ["", "127.0.0.1:99999", "not a host", "http://x"])
def test_a_bad_entry_is_refused_at_startup(bad: str) -> None:
    with pytest.raises(ValueError, match="--storage-allow"):
        parse_entry(bad)


@pytest.fixture
def only_127_0_0_1() -> Iterator[ReplicaServer]:
    server = serve("127.0.0.1:0", storage_allow=StorageAllowList(["127.0.0.1"]))
    yield server
    server.stop(grace=0.2)


@pytest.fixture
def elsewhere() -> Iterator[StorageServer]:
    """A storage service on a loopback address the replica was not told to allow."""
    server = StorageServer(host="127.0.0.2")
    server.create_shard("s")
    yield server
    server.stop()


def _commands(address: str) -> dict[str, list[Cmd]]:
    index = p.index_export(2, 1, [0])
    source = p.source(1, address, "s", 1)
    const = (1, p.constant(1, [((1,), 0, 1)]))
    return {
        "source": [p.create_dataflow(p.dataflow(0, sources=[source], indexes=[index]))],
        "materialized view": [
            p.create_dataflow(p.dataflow(0, objects=[const], sinks=[p.materialized_view(3, 1, address, "s", 1)]))
        ],
        "copy-to": [p.create_dataflow(p.dataflow(0, objects=[const], sinks=[p.copy_to(3, 1, address, "k")]))],
        "persist peek": [p.persist_peek(1, 1, address, "s", 0, 1)],
    }


@pytest.mark.parametrize("kind", ["source", "materialized view", "copy-to", "persist peek"])
def test_a_command_naming_another_storage_is_refused_before_dialing(
    only_127_0_0_1: ReplicaServer, elsewhere: StorageServer, kind: str
) -> None:
    opened: list[Controller] = []
    try:
        ctl = Controller(only_127_0_0_1.address)
        opened.append(ctl)
        ctl.start(p.allow_writes(), *_commands(elsewhere.address)[kind])
        code, details = ctl.wait_ended()
        assert code == grpc.StatusCode.PERMISSION_DENIED, (code, details)
        assert f"storage address '{elsewhere.address}'" in details and "--storage-allow (127.0.0.1)" in details
        assert "\n" not in details
        storage = only_127_0_0_1.engine.services.storage
        assert not storage._channels and not elsewhere.listens and not elsewhere.writes  # never dialed
        # The process carries on: the next stream is served.
        good = Controller(only_127_0_0_1.address)
        opened.append(good)
        good.start(p.create_dataflow(p.dataflow(0, objects=[(1, p.constant(1, [((1,), 0, 1)]))],
                                                 indexes=[p.index_export(2, 1, [0])])))
        good.sync()
        assert not good.ended
    finally:
        for c in opened:
            c.close()


def test_an_allowed_storage_is_dialed(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s")
    ctl = connect()
    ctl.start(*_commands(storage.address)["source"], p.peek(1, 2, 3, 1))
    ctl.sync()
    storage.append("s", [((1,), 0, 1)], 4)
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((1,), 1)])
