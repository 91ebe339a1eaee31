"""A connection the suite cannot make ends in one line naming the side and the reason.

Each misconfiguration between the suite (`--replica-tls-*`) and a replica (TLS or not,
client certificates required or not) is tried for real against an in-process server, with
certificates from `tests.pki` (trustme).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.driver import ConnectError, Replica, TlsConfig
from conformance.driver.handshake import explain
from tests.conformance.fake_servers import FakeReplica, answering
from tests.conformance.test_driver import good
from tests.pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def servers() -> Iterator[list[FakeReplica]]:
    made: list[FakeReplica] = []
    yield made
    for f in made:
        f.stop()


def _reason(address: str, tls: TlsConfig | None, timeout: float = 30.0) -> str:
    replica = Replica(address, tls=tls, patience=2.0, connect_timeout=timeout)
    with replica, pytest.raises(ConnectError) as caught:
        replica.connect()
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"could not reach the replica at {address}"), message
    return message


def _tls(pki: Pki, *, ca: Path | None = None, client: bool = False, stranger: bool = False) -> TlsConfig:
    cert, key = (pki.stranger_cert, pki.stranger_key) if stranger else (pki.client_cert, pki.client_key)
    return TlsConfig(
        root_certificates=ca or pki.ca,
        client_certificate=cert if client or stranger else None,
        client_key=key if client or stranger else None,
    )


@pytest.mark.parametrize(
    ("server", "client", "reason"),
    [
        ("tls", "wrong CA", "TLS: the replica's certificate is not signed by --replica-tls-ca"),
        ("tls", "wrong name", "TLS: the replica's certificate does not name 127.0.0.1"),
        ("mtls", "no client certificate", "it may require a client certificate (give --replica-tls-cert"),
        ("mtls", "untrusted client certificate", "it may not trust the client certificate of --replica-tls-cert"),
        ("mtls", "plaintext", "it may require TLS, and the suite connects in plaintext (give --replica-tls-ca)"),
        ("plaintext", "tls", "TLS: the replica does not speak TLS"),
    ],
)
def test_each_tls_mismatch_is_named_at_once(
    pki: Pki, servers: list[FakeReplica], server: str, client: str, reason: str
) -> None:
    creds = None if server == "plaintext" else pki.server_credentials(require_client=server == "mtls")
    fake = FakeReplica(answering(good), tls=creds)
    servers.append(fake)
    tls = {
        "wrong CA": _tls(pki, ca=pki.other_ca),
        "wrong name": TlsConfig(root_certificates=pki.ca, server_name="replica.elsewhere"),
        "no client certificate": _tls(pki),
        "untrusted client certificate": _tls(pki, stranger=True),
        "plaintext": None,
        "tls": _tls(pki, client=True),
    }[client]
    message = _reason(fake.address, tls)
    assert reason in message, message
    assert " within " not in message  # a mismatch is final: no waiting out the timeout
    assert fake.streams == 0  # the probe never opened a compute stream


def test_nothing_listening_is_told_apart_after_the_timeout() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: refused
        message = _reason(address, None, timeout=1.0)
    assert "within 1 s: nothing accepts connections there" in message, message


def test_a_matching_configuration_connects(pki: Pki, servers: list[FakeReplica]) -> None:
    fake = FakeReplica(answering(good), tls=pki.server_credentials(require_client=True))
    servers.append(fake)
    with Replica(fake.address, tls=_tls(pki, client=True), patience=2.0) as replica:
        replica.connect()
    assert fake.streams == 1


def test_unknown_transport_words_are_quoted() -> None:
    reason = explain("failed to connect to all addresses; last error: UNKNOWN: ipv4:1.2.3.4:5: odd thing", None, "h")
    assert reason.text == "no connection (odd thing)" and not reason.final
