"""`HOST:PORT` addresses: splitting them, and telling loopback hosts from reachable ones.

Two decisions rest on this: whether the replica's own listening address exposes it to other
hosts (`exposure`), and whether a storage address a command names may be dialed
(`storage.allow`). Both read the address as written, without resolving names: a host name
other than `localhost` is never taken for loopback, so a name that resolves somewhere
unexpected cannot pass for a local one.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

_HOST_PORT: Final = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")
LOOPBACK_NAMES: Final = frozenset({"localhost"})


def split(address: str) -> tuple[str, int] | None:
    """`host:port` -> (host, port), brackets of IPv6 hosts removed; None for anything else
    (gRPC target URIs such as `unix:/path` or `dns:///host:port` included)."""
    m = _HOST_PORT.fullmatch(address.strip())
    if m is None:
        return None
    port = int(m.group(2))
    if not 0 <= port < 65536:
        return None
    return m.group(1).strip("[]").lower(), port


def ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; a wildcard (0.0.0.0, ::) is not loopback."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    address = ip(host)
    return address is not None and address.is_loopback
