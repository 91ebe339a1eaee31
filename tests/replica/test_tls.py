"""TLS on both sides of the reference replica: controllers connecting to it, and the replica
dialing the storage service. Certificates come from `tests.pki` (trustme), made per run.

Every storage misconfiguration ends the controller's stream with UNAVAILABLE and one line
that names the side (this replica, dialing the storage service at ADDRESS) and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from reference_replica.server import ReplicaServer, serve
from reference_replica.tls import ClientTls, ServerTls
from tests.pki import Pki, make_pki
from tests.replica import plans as p
from tests.replica.controller import Controller
from tests.replica.storage_server import StorageServer


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def opened() -> Iterator[list[object]]:
    """Everything a test starts (replicas, storage servers, controllers), stopped at the end."""
    things: list[object] = []
    yield things
    for thing in reversed(things):
        if isinstance(thing, Controller):
            thing.close()
        elif isinstance(thing, ReplicaServer):
            thing.stop(grace=0.2)
        elif isinstance(thing, StorageServer):
            thing.stop()


def _mtls_storage(pki: Pki, opened: list[object]) -> StorageServer:
    storage = StorageServer(credentials=pki.server_credentials(require_client=True))
    opened.append(storage)
    storage.create_shard("s")
    return storage


def _replica(opened: list[object], **kwargs: object) -> ReplicaServer:
    replica = serve("127.0.0.1:0", **kwargs)  # type: ignore[arg-type]
    opened.append(replica)
    return replica


def _controller(opened: list[object], address: str, credentials: grpc.ChannelCredentials | None) -> Controller:
    ctl = Controller(address, credentials)
    opened.append(ctl)
    return ctl


def _reads_source(ctl: Controller, storage: StorageServer) -> None:
    desc = p.dataflow(0, sources=[p.source(1, storage.address, "s", 1)], indexes=[p.index_export(2, 1, [0])])
    ctl.start(p.create_dataflow(desc), p.peek(1, 2, 3, 1))


def test_mutual_tls_on_both_sides_end_to_end(pki: Pki, opened: list[object]) -> None:
    storage = _mtls_storage(pki, opened)
    replica = _replica(
        opened,
        tls=ServerTls(pki.server_cert, pki.server_key, pki.ca),
        storage_tls=ClientTls(pki.ca, pki.client_cert, pki.client_key),
    )
    ctl = _controller(opened, replica.address, pki.channel_credentials())
    _reads_source(ctl, storage)
    ctl.sync()
    storage.append("s", [((1,), 0, 1)], 4)
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((1,), 1)])
    assert storage.listens and not ctl.ended


def test_a_controller_without_a_client_certificate_gets_nothing(pki: Pki, opened: list[object]) -> None:
    replica = _replica(opened, tls=ServerTls(pki.server_cert, pki.server_key, pki.ca))
    for credentials in (pki.channel_credentials(client=False), None):  # TLS without a certificate; plaintext
        ctl = _controller(opened, replica.address, credentials)
        ctl.handshake()
        code, details = ctl.wait_ended()
        assert code == grpc.StatusCode.UNAVAILABLE, details
        assert replica.engine.iteration is None  # no stream ever reached the engine


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong CA", "certificate is not signed by --storage-tls-ca"),
        ("no client certificate", "it may require a client certificate (give --storage-tls-cert"),
        ("plaintext to TLS", "it may require TLS, and this replica dials it in plaintext"),
        ("untrusted client certificate", "it may not trust the client certificate of --storage-tls-cert"),
    ],
)
def test_a_storage_misconfiguration_ends_the_stream_with_one_line(
    pki: Pki, opened: list[object], case: str, reason: str
) -> None:
    storage = _mtls_storage(pki, opened)
    storage_tls = {
        "wrong CA": ClientTls(pki.other_ca, pki.client_cert, pki.client_key),
        "no client certificate": ClientTls(pki.ca),
        "plaintext to TLS": None,
        "untrusted client certificate": ClientTls(pki.ca, pki.stranger_cert, pki.stranger_key),
    }[case]
    replica = _replica(opened, storage_tls=storage_tls)
    ctl = _controller(opened, replica.address, None)
    _reads_source(ctl, storage)
    code, details = ctl.wait_ended()
    assert code == grpc.StatusCode.UNAVAILABLE, (code, details)
    assert "\n" not in details
    assert details.startswith(f"this replica cannot reach the storage service at {storage.address}: "), details
    assert reason in details, details
    assert not storage.listens  # not one call got through


def test_a_storage_service_going_away_is_an_outage_not_a_misconfiguration(opened: list[object]) -> None:
    """A service that answered once and then refuses connections is retried, silently."""
    storage = StorageServer()
    opened.append(storage)
    storage.create_shard("s")
    replica = _replica(opened)
    ctl = _controller(opened, replica.address, None)
    _reads_source(ctl, storage)
    ctl.sync()
    storage.wait_until(lambda: storage.listens, "the replica's Listen")
    storage.stop()
    ctl.settle(1.5)
    assert not ctl.ended


def test_tls_files_that_cannot_be_read_name_the_option(tmp_path: Path) -> None:
    from reference_replica.tls import TlsFileError

    with pytest.raises(TlsFileError, match="--tls-cert"):
        ServerTls(tmp_path / "missing.pem", tmp_path / "missing.key").credentials()
