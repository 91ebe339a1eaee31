"""Replica addresses as the user gives them: `HOST:PORT`, checked before anything starts.

An empty `--replica-addr` (an unset `$REPLICA_ADDR` in a CI script) must not silently test
the bundled replica, and `localhost`, `127.0.0.1:abc`, `:99999` or `http://host:port` must not
cost a run of failing tests: each is a usage error naming the option and what is wrong.
"""

from __future__ import annotations

import re
from typing import Final

_HOST: Final = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?")


def check_address(text: str, option: str) -> str:
    """`text` stripped if it is `HOST:PORT` (`[v6]:PORT` for IPv6), else ValueError saying why."""
    addr = text.strip()
    example = "expected HOST:PORT, e.g. 127.0.0.1:6876"
    if not addr:
        raise ValueError(f"{option} is empty (an unset variable?); {example}")
    if "://" in addr:
        scheme, _, rest = addr.partition("://")
        bare = rest.rstrip("/")
        raise ValueError(f"{option} {addr!r} is a URL; give HOST:PORT without the {scheme}:// scheme ({bare})")
    if any(c.isspace() for c in addr) or "/" in addr:
        raise ValueError(f"{option} {addr!r} is not HOST:PORT; {example}")
    host, sep, port = addr.rpartition(":")
    if not sep:
        raise ValueError(f"{option} {addr!r} has no port; {example}")
    if not port.isdigit():
        raise ValueError(f"{option} {addr!r}: port {port!r} is not a number; {example}")
    if not 0 < int(port) < 65536:
        raise ValueError(f"{option} {addr!r}: port {port} is out of range (1-65535)")
    if not host:
        raise ValueError(f"{option} {addr!r} has no host; {example}")
    if not _HOST.fullmatch(host):
        hint = " (an IPv6 address goes in brackets: [::1]:6876)" if ":" in host else ""
        raise ValueError(f"{option} {addr!r}: {host!r} is not a host name or IP address{hint}")
    return addr


def split_addresses(text: str, option: str, sep: str) -> list[str]:
    """Every address of a `sep`-separated list, each checked; an empty list is an error too."""
    if not text.strip():
        raise ValueError(f"{option} is empty (an unset variable?); expected HOST:PORT")
    parts = [p for p in text.split(sep)]
    if any(not p.strip() for p in parts) and sep == ",":
        raise ValueError(f"{option} {text!r} has an empty address between commas")
    return [check_address(p, option) for p in parts if p.strip()]
