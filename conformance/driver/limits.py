"""What the controller accepts from a replica, and until when it keeps trying.

The driver enforces these on every stream: a response larger than `max_response_bytes` is
refused by gRPC itself before it is read into memory, and one that does not decode, or a
stream that sends more than `max_stream_responses` responses (or `max_stream_bytes` bytes),
is refused by the reader; each is a TRANS-6 violation, after which the controller closes the
stream. `deadline` is the whole run's deadline on the monotonic clock: every wait ends by
then with `RunDeadline` (not a verdict on the replica: the run is out of time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from conformance.driver.errors import RunDeadline

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_response_bytes: int = 16 * MIB
    max_stream_responses: int = 20_000
    max_stream_bytes: int = 256 * MIB
    quote_bytes: int = 2048
    deadline: float | None = None  # time.monotonic() value; None: no deadline

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def check(self, doing: str) -> None:
        """Raise `RunDeadline` if the run is out of time (`doing`: what was about to happen)."""
        if self.expired():
            raise RunDeadline(f"the whole-run deadline passed while {doing}")

    def bound(self, seconds: float) -> float:
        """`seconds`, or less if the run's deadline comes sooner (never below zero)."""
        left = self.remaining()
        return seconds if left is None else max(0.0, min(seconds, left))
