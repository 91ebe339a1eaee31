"""Fixtures: an in-test storage service, an in-process replica, controllers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from reference_replica.server import ReplicaServer, serve
from tests.replica.controller import Controller
from tests.replica.storage_server import StorageServer


@pytest.fixture
def storage() -> Iterator[StorageServer]:
    server = StorageServer()
    yield server
    server.stop()


@pytest.fixture
def replica() -> Iterator[ReplicaServer]:
    server = serve("127.0.0.1:0", workers=1)
    yield server
    server.stop(grace=0.2)


@pytest.fixture
def connect(replica: ReplicaServer) -> Iterator[Callable[[], Controller]]:
    """Open controller streams to the replica; all are closed at the end of the test."""
    opened: list[Controller] = []

    def open_stream() -> Controller:
        controller = Controller(replica.address)
        opened.append(controller)
        return controller

    yield open_stream
    for controller in opened:
        controller.close()


@pytest.fixture
def ctl(connect: Callable[[], Controller]) -> Controller:
    return connect()
