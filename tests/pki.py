"""Certificates for the TLS tests, made fresh by `trustme` in a temporary directory.

Nothing is committed: every run makes its own CA, a server certificate valid for the loopback
addresses the tests use (127.0.0.1, 127.0.0.2, localhost, replica.test), a client certificate, and a second,
unrelated CA with a client certificate of its own (for "signed by the wrong CA").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
import trustme

SERVER_NAMES = ("127.0.0.1", "127.0.0.2", "localhost", "replica.test")


@dataclass(frozen=True)
class Pki:
    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # an unrelated CA: nothing above is signed by it
    stranger_cert: Path  # a client certificate signed by other_ca
    stranger_key: Path

    def server_credentials(self, *, require_client: bool = False) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.server_key.read_bytes(), self.server_cert.read_bytes())],
            root_certificates=self.ca.read_bytes() if require_client else None,
            require_client_auth=require_client,
        )

    def channel_credentials(self, *, client: bool = True, ca: Path | None = None) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=(ca or self.ca).read_bytes(),
            private_key=self.client_key.read_bytes() if client else None,
            certificate_chain=self.client_cert.read_bytes() if client else None,
        )


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca, other = trustme.CA(), trustme.CA()
    server = ca.issue_cert(*SERVER_NAMES)
    client = ca.issue_cert("controller.test")
    stranger = other.issue_cert("stranger.test")

    def write(name: str, *blobs: trustme.Blob) -> Path:
        path = directory / name
        for i, blob in enumerate(blobs):
            blob.write_to_path(str(path), append=i > 0)
        return path

    return Pki(
        directory=directory,
        ca=write("ca.pem", ca.cert_pem),
        server_cert=write("server.pem", *server.cert_chain_pems),
        server_key=write("server.key", server.private_key_pem),
        client_cert=write("client.pem", *client.cert_chain_pems),
        client_key=write("client.key", client.private_key_pem),
        other_ca=write("other-ca.pem", other.cert_pem),
        stranger_cert=write("stranger.pem", *stranger.cert_chain_pems),
        stranger_key=write("stranger.key", stranger.private_key_pem),
    )
