"""Opening a gRPC channel to a replica: insecure or TLS, with the message-size limits raised.

TRANS-1 makes the controller raise its limits: peek results and subscribe batches are
unbounded in the protocol, and gRPC's default 4 MiB receive limit would turn a large but legal
answer into a spurious stream failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

MAX_MESSAGE_BYTES = 1 << 30
"""1 GiB each way: far above anything the suite sends or expects, and below gRPC's int32 limit."""

CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
]


@dataclass(frozen=True)
class TlsConfig:
    """Files for a TLS connection; `server_name` overrides the name checked in the certificate."""

    root_certificates: Path | None = None
    client_certificate: Path | None = None
    client_key: Path | None = None
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        def read(p: Path | None) -> bytes | None:
            return p.read_bytes() if p is not None else None

        if (self.client_certificate is None) != (self.client_key is None):
            raise ValueError("a client certificate needs its key, and a key its certificate")
        return grpc.ssl_channel_credentials(
            root_certificates=read(self.root_certificates),
            private_key=read(self.client_key),
            certificate_chain=read(self.client_certificate),
        )


def open_channel(address: str, tls: TlsConfig | None = None, max_receive: int | None = None) -> grpc.Channel:
    """`max_receive` lowers the receive limit: a larger response is then refused unread (TRANS-6)."""
    options = list(CHANNEL_OPTIONS)
    if max_receive is not None:
        options = [o for o in options if o[0] != "grpc.max_receive_message_length"]
        options.append(("grpc.max_receive_message_length", min(max_receive, MAX_MESSAGE_BYTES)))
    if tls is None:
        return grpc.insecure_channel(address, options=options)
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return grpc.secure_channel(address, tls.credentials(), options=options)
