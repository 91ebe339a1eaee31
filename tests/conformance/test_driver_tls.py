"""The driver over TLS, with and without a client certificate (certificates made by trustme)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from conformance.driver import ConnectError, Replica, TlsConfig
from conformance.wire.frontiers import EMPTY
from tests.conformance.fake_servers import FakeReplica, answering
from tests.conformance.test_driver import constant_index, good
from tests.pki import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pki(tmp_path_factory.mktemp("pki")).directory


def _server(pki: Path, *, require_client: bool) -> Iterator[FakeReplica]:
    creds = grpc.ssl_server_credentials(
        [((pki / "server.key").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes() if require_client else None,
        require_client_auth=require_client,
    )
    f = FakeReplica(answering(good), tls=creds)
    yield f
    f.stop()


@pytest.fixture
def tls_server(pki: Path) -> Iterator[FakeReplica]:
    yield from _server(pki, require_client=False)


@pytest.fixture
def mtls_server(pki: Path) -> Iterator[FakeReplica]:
    yield from _server(pki, require_client=True)


def _tour(replica: Replica) -> None:
    s = replica.connect()
    constant_index(s)
    assert s.wait_peek(1).kind == "rows"
    assert s.wait_frontier("u1", "write", 0) == EMPTY
    assert replica.violations == []


def test_server_authenticated_tls(pki: Path, tls_server: FakeReplica) -> None:
    tls = TlsConfig(root_certificates=pki / "ca.pem", server_name="replica.test")
    with Replica(tls_server.address, tls=tls, patience=2.0) as replica:
        _tour(replica)


def test_mutual_tls(pki: Path, mtls_server: FakeReplica) -> None:
    tls = TlsConfig(
        root_certificates=pki / "ca.pem",
        client_certificate=pki / "client.pem",
        client_key=pki / "client.key",
        server_name="replica.test",
    )
    with Replica(mtls_server.address, tls=tls, patience=2.0) as replica:
        _tour(replica)


def test_missing_client_certificate_is_not_a_hang(pki: Path, mtls_server: FakeReplica) -> None:
    """The TLS handshake fails, so the channel never becomes ready: a bounded ConnectError."""
    tls = TlsConfig(root_certificates=pki / "ca.pem", server_name="replica.test")
    replica = Replica(mtls_server.address, tls=tls, patience=2.0, connect_timeout=0.5)
    with replica, pytest.raises(ConnectError, match="could not reach the replica"):
        replica.connect()


def test_a_key_without_its_certificate_is_refused(pki: Path) -> None:
    with pytest.raises(ValueError, match="certificate needs its key"):
        TlsConfig(client_key=pki / "client.key").credentials()
