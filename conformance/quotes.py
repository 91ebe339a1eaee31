"""How much of any one message a verdict, a failure message or a report quotes.

A replica may send a 10 MB string in a row or an error: texts quote a bounded head of it and
say how long it was, so that no verdict, terminal line or artifact ever copies a message whole.
The bound is per process (`--conformance-quote-bytes`, set by the session when it starts).
"""

from __future__ import annotations

DEFAULT_LIMIT = 2048
_limit = DEFAULT_LIMIT


def set_limit(limit: int) -> None:
    global _limit
    _limit = max(16, int(limit))


def limit() -> int:
    return _limit


def clip(text: str, most: int | None = None) -> str:
    """`text`, or its head and how long it was (`most` characters at most, default the bound)."""
    n = _limit if most is None else most
    if len(text) <= n:
        return text
    return f"{text[:n]}... ({len(text)} characters in all)"


def clip_bytes(data: bytes, most: int | None = None) -> bytes:
    n = _limit if most is None else most
    return data if len(data) <= n else data[:n]
