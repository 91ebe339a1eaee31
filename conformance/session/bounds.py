"""The bounds a run keeps whatever the replica does: time, memory and disk.

A hostile or broken replica is an ordinary input of a CI gate. These bounds make sure it
gets a verdict, and that the machine running the suite survives it: a whole-run deadline,
the largest response the controller accepts, how many responses (and bytes) it holds per
stream, how much of any message a text or a file quotes, and how many bytes of artifacts a
run may write. The defaults protect a 2-core CI machine and sit far above anything a correct
replica reaches under the suite's workloads; every one is an option (docs/usage.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from conformance.driver.limits import Limits

KIB: Final = 1024
MIB: Final = 1024 * KIB
GIB: Final = 1024 * MIB

DEADLINES: Final[dict[str, float]] = {"quick": 600.0, "ci": 1800.0, "deep": 7200.0}
"""Seconds a whole run may take, per profile: about ten to twenty times what it takes on a
2-core machine, so that only a replica that hangs (or a machine far too small) reaches it."""

DEFAULT_DEADLINE: Final = 1800.0
MAX_RESPONSE_BYTES: Final = 16 * MIB
MAX_STREAM_RESPONSES: Final = 20_000
MAX_STREAM_BYTES: Final = 256 * MIB
QUOTE_BYTES: Final = 2 * KIB
MAX_ARTIFACT_BYTES: Final = 256 * MIB

_SIZE = re.compile(r"\s*(\d+)\s*([kmg]?)(i?b)?\s*", re.IGNORECASE)
_UNITS: Final = {"": 1, "k": KIB, "m": MIB, "g": GIB}


def parse_size(text: str, option: str) -> int:
    """`1048576`, `512K`, `16M`, `1G` (powers of 1024; `MiB`, `MB` accepted too) -> bytes (>0)."""
    m = _SIZE.fullmatch(text)
    value = int(m.group(1)) * _UNITS[m.group(2).lower()] if m else 0
    if value <= 0:
        raise ValueError(f"{option} must be a positive size in bytes (e.g. 16M), got {text!r}")
    return value


def parse_seconds(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{option} must be a positive number of seconds, got {text!r}")
    return value


def fmt_size(n: int) -> str:
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class Bounds:
    deadline: float = DEFAULT_DEADLINE  # seconds for the whole run (each worker counts from its start)
    max_response_bytes: int = MAX_RESPONSE_BYTES  # one response; larger is a TRANS-6 violation
    max_stream_responses: int = MAX_STREAM_RESPONSES  # responses held per stream; more is TRANS-6
    max_stream_bytes: int = MAX_STREAM_BYTES  # response bytes held per stream; more is TRANS-6
    quote_bytes: int = QUOTE_BYTES  # the most of any one message a text or file quotes
    max_artifact_bytes: int = MAX_ARTIFACT_BYTES  # failure artifacts and replica logs, per run

    def limits(self, deadline_at: float | None) -> Limits:
        """What the driver enforces; `deadline_at` is the run's deadline on the monotonic clock."""
        return Limits(
            max_response_bytes=self.max_response_bytes,
            max_stream_responses=self.max_stream_responses,
            max_stream_bytes=self.max_stream_bytes,
            quote_bytes=self.quote_bytes,
            deadline=deadline_at,
        )

    def describe(self) -> dict[str, Any]:
        """The bounds as the report shows them."""
        return {
            "deadline": f"{self.deadline:g} s",
            "max response": fmt_size(self.max_response_bytes),
            "per stream": f"{self.max_stream_responses} responses or {fmt_size(self.max_stream_bytes)}",
            "quotes": fmt_size(self.quote_bytes),
            "artifacts": fmt_size(self.max_artifact_bytes),
        }
