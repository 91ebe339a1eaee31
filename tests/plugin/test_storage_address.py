"""`--storage-listen` / `--storage-advertise`: what a replica on another host is told to dial.

The address in every CollectionMetadata must reach the storage service the worker started, so
a bare advertised host gets the port the service really listens on, and an explicit
HOST:PORT is taken as given (a port forward or a proxy may sit in between).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from conformance.session.capabilities import Capabilities
from conformance.session.options import Settings
from conformance.session.profiles import get_profile
from conformance.session.worker import WorkerContext


def settings(tmp_path: Path, listen: str, advertise: str | None) -> Settings:
    return Settings(
        replica_addr="127.0.0.1:1",
        replica_cmd=None,
        replica_pool=None,
        profile=get_profile("quick"),
        tls_ca=None,
        tls_cert=None,
        tls_key=None,
        capabilities=Capabilities(),
        capabilities_file=None,
        known_failing=frozenset(),
        artifacts=tmp_path,
        scenarios=None,
        storage_listen=listen,
        storage_advertise=advertise,
        strict=False,
        replay=None,
        replay_runs=1,
    )


@pytest.fixture
def workers() -> Iterator[list[WorkerContext]]:
    made: list[WorkerContext] = []
    yield made
    for w in made:
        w.close()


def reachable(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=5)
        except grpc.FutureTimeoutError:
            return False
    return True


def test_a_bare_advertised_host_gets_the_listening_port(tmp_path: Path, workers: list[WorkerContext]) -> None:
    worker = WorkerContext(settings(tmp_path, "0.0.0.0:0", "localhost"))
    workers.append(worker)
    address = worker.start_storage().address
    host, _, port = address.rpartition(":")
    assert host == "localhost" and port.isdigit() and port != "0", address
    assert reachable(f"127.0.0.1:{port}"), f"nothing listens where {address} points"


def test_an_advertised_host_and_port_is_taken_as_given(tmp_path: Path, workers: list[WorkerContext]) -> None:
    worker = WorkerContext(settings(tmp_path, "127.0.0.1:0", "storage.example:7000"))
    workers.append(worker)
    assert worker.start_storage().address == "storage.example:7000"


def test_without_advertise_the_bound_address_is_used(tmp_path: Path, workers: list[WorkerContext]) -> None:
    worker = WorkerContext(settings(tmp_path, "127.0.0.1:0", None))
    workers.append(worker)
    address = worker.start_storage().address
    assert address.startswith("127.0.0.1:") and not address.endswith(":0")
    assert reachable(address)


def test_a_replica_the_suite_starts_is_told_to_allow_its_storage(tmp_path: Path, workers: list[WorkerContext]) -> None:
    """The embedded command passes `--storage-allow {storage}`: the worker's own storage service,
    whatever address it advertises (the replica's default allows only loopback)."""
    s = settings(tmp_path, "127.0.0.1:0", "localhost")
    worker = WorkerContext(Settings(**{**s.__dict__, "replica_addr": None}))
    workers.append(worker)
    target = worker.replica()
    assert target.process is not None and target.storage is not None
    argv = target.process.argv
    assert argv[argv.index("--storage-allow") + 1] == target.storage.address
    assert target.storage.address.startswith("localhost:")
