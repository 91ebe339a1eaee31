"""TLS for the replica's two sides: the server controllers connect to, and the client that
dials the storage service. Certificates are PEM files named on the command line.

Server: `--tls-cert`/`--tls-key` turn TLS on; `--tls-client-ca` also requires every
controller to present a certificate signed by that CA (mutual TLS), which is what keeps a
stranger who can reach the port from driving the replica. Storage client: `--storage-tls-ca`
turns TLS on and verifies the storage service; `--storage-tls-cert`/`--storage-tls-key`
present a client certificate to a storage service that asks for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc


class TlsFileError(ValueError):
    """A certificate or key file cannot be read."""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsFileError(f"cannot read {what} {path}: {error.strerror or error}") from None


@dataclass(frozen=True)
class ServerTls:
    cert: Path
    key: Path
    client_ca: Path | None = None  # set: clients must present a certificate signed by it

    def credentials(self) -> grpc.ServerCredentials:
        chain = _read(self.cert, "--tls-cert")
        key = _read(self.key, "--tls-key")
        roots = _read(self.client_ca, "--tls-client-ca") if self.client_ca else None
        return grpc.ssl_server_credentials(
            [(key, chain)], root_certificates=roots, require_client_auth=roots is not None
        )


@dataclass(frozen=True)
class ClientTls:
    ca: Path
    cert: Path | None = None
    key: Path | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "--storage-tls-ca"),
            private_key=_read(self.key, "--storage-tls-key") if self.key else None,
            certificate_chain=_read(self.cert, "--storage-tls-cert") if self.cert else None,
        )

    @property
    def mutual(self) -> bool:
        return self.cert is not None
