"""Which storage addresses the replica may dial (`--storage-allow`), checked per command.

Commands carry the address of the storage service they read or write (spec 5.4: sources,
materialized-view targets, copy-to blobs, persist peeks), and the replica dials it. Without a
check, anyone who can open a stream could make the replica connect to any host and port it
can reach. So a command that names an address outside the allow list ends its stream with
`PERMISSION_DENIED`, before anything is dialed, and the message names the address and the
option (spec 5.4).

An entry is `loopback` (127.0.0.0/8, ::1, localhost: the default), `any`, an IP address, a
network in CIDR form, or a host name, each optionally with `:PORT`. Names are compared as
written, never resolved; an address that is not a plain `HOST:PORT` (a gRPC URI such as
`unix:/path`) is never dialed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from compute_protocol.v1 import command_pb2

from reference_replica import addresses, validation
from reference_replica.errors import ProtocolError, refused

DEFAULT: Final = ("loopback",)
OPTION: Final = "--storage-allow"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Entry:
    text: str
    kind: str  # "loopback", "any", "network" or "name"
    network: Network | None = None
    name: str = ""
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.kind == "any":
            return True
        if self.kind == "loopback":
            return addresses.is_loopback(host)
        if self.kind == "name":
            return host == self.name
        ip = addresses.ip(host)
        return ip is not None and self.network is not None and ip.version == self.network.version and (
            ip in self.network
        )


def parse_entry(text: str) -> Entry:
    raw = text.strip()
    body, port = raw, None
    head, sep, tail = raw.rpartition(":")
    if sep and tail.isdigit() and (raw.startswith("[") or ":" not in head):  # HOST:PORT, [V6]:PORT
        body, port = head, int(tail)
        if not 0 < port < 65536:
            raise ValueError(f"{OPTION} entry {text!r}: port out of range")
    body = body.strip("[]").lower()
    if not body:
        raise ValueError(f"{OPTION} entry {text!r} is empty")
    if body in ("loopback", "any"):
        return Entry(raw, body, port=port)
    try:
        return Entry(raw, "network", network=ipaddress.ip_network(body, strict=False), port=port)
    except ValueError:
        pass
    if addresses.split(f"{body}:1") is None:
        raise ValueError(f"{OPTION} entry {text!r} is neither loopback, any, an IP, a CIDR network nor a host name")
    return Entry(raw, "name", name=body, port=port)


class StorageAllowList:
    def __init__(self, entries: Iterable[str] = DEFAULT) -> None:
        texts = [t for item in entries for t in item.split(",") if t.strip()]
        self.entries = [parse_entry(t) for t in texts or DEFAULT]

    def describe(self) -> str:
        return ",".join(e.text for e in self.entries)

    def allows(self, address: str) -> bool:
        parts = addresses.split(address)
        return parts is not None and any(e.matches(*parts) for e in self.entries)

    def check(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        """Raise PERMISSION_DENIED if `cmd` names a storage address outside the list."""
        for where, address in storage_addresses(cmd):
            if not self.allows(address):
                raise self.refusal(validation.command_name(cmd), where, address)

    def refusal(self, command: str, where: str, address: str) -> ProtocolError:
        shape = "" if addresses.split(address) is not None else " (not a HOST:PORT address)"
        return refused(
            command,
            f"storage address {address!r}{shape} in {where} is not allowed by this replica's "
            f"{OPTION} ({self.describe()}); the replica dials only allowed storage services",
        )


def storage_addresses(cmd: command_pb2.ProtoComputeCommand) -> Iterator[tuple[str, str]]:
    """(field path, address) for every storage address a command would make the replica dial."""
    kind = cmd.WhichOneof("kind")
    if kind == "create_dataflow":
        desc = cmd.create_dataflow
        for i, source in enumerate(desc.source_imports):
            yield f"source_imports[{i}]", source.storage_metadata.storage_address
        for i, sink in enumerate(desc.sink_exports):
            connection = sink.sink_desc.connection
            which = connection.WhichOneof("kind")
            if which == "materialized_view":
                yield f"sink_exports[{i}]", connection.materialized_view.storage_metadata.storage_address
            elif which == "copy_to":
                yield f"sink_exports[{i}]", connection.copy_to.storage_address
    elif kind == "peek" and cmd.peek.WhichOneof("target") == "persist":
        yield "target.persist", cmd.peek.persist.metadata.storage_address
