"""`max_result_size` over time, and the "acceptable configuration window" of an answer.

A replica may check the limit at any moment between the time an answer became producible and
the time it was sent, so an answer is acceptable if some value in effect during that window
explains it (spec 12, CONFIG-1). When none does, the verdict names the most likely mistake: a
value captured when the request arrived (CONFIG-1), an unset field read as "back to default"
(CONFIG-2), or neither (the answer's own rule).

Moments are event sequence numbers, which order commands, responses and storage events
exactly. The suite only uses extreme limits (section 1.5), so the size measure matters only
in telling "empty" from "non-empty".
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Literal

from compute_protocol.v1 import command_pb2

from conformance.wire.rows import Row, encoded_size

Limit = int | None
"""A `max_result_size`; None is unlimited (the value until a configuration sets one)."""

Reading = Literal["actual", "reset"]


def result_size(rows: Iterable[Row]) -> int:
    """Spec 1.5: serialized row length plus 8, per entry (summed in C: every answer is sized)."""
    entries = rows if isinstance(rows, Collection) else list(rows)
    return sum(map(encoded_size, entries)) + 8 * len(entries)


def fits(size: int, window: Iterable[Limit]) -> bool:
    """Some limit in the window lets a result of `size` through."""
    return any(v is None or size <= v for v in window)


def exceeds(size: int, window: Iterable[Limit]) -> bool:
    """Some limit in the window makes a result of `size` too large."""
    return any(v is not None and size > v for v in window)


@dataclass
class ConfigTimeline:
    """The limit after each `UpdateConfiguration` of one iteration, in two readings.

    `actual` is the spec's reading (an unset field keeps its value); `reset` is the mistaken
    reading in which an unset field returns to the default, kept only to name CONFIG-2.
    """

    actual: list[tuple[int, Limit]] = field(default_factory=lambda: [(0, None)])
    reset: list[tuple[int, Limit]] = field(default_factory=lambda: [(0, None)])
    carried: set[Limit] = field(default_factory=set)
    """Values an earlier iteration left, which may still be in effect until this iteration sets
    the field itself: a replica may keep its parameters across a reconnect (upstream's compute
    state survives reconciliation) or start from the defaults (spec 12)."""

    def apply(self, seq: int, params: command_pb2.ProtoComputeParameters) -> None:
        if params.HasField("max_result_size"):
            self.actual.append((seq, params.max_result_size))
            self.reset.append((seq, params.max_result_size))
        else:
            self.reset.append((seq, None))

    def _series(self, reading: Reading) -> list[tuple[int, Limit]]:
        return self.actual if reading == "actual" else self.reset

    def value_at(self, seq: int, reading: Reading = "actual") -> Limit:
        series = self._series(reading)
        i = bisect.bisect_right([s for s, _ in series], seq) - 1
        return series[max(i, 0)][1]

    def window(self, start: int, end: int, reading: Reading = "actual") -> set[Limit]:
        """Every value in effect at some moment in `[start, end]`."""
        values = {self.value_at(start, reading)}
        values.update(v for s, v in self._series(reading) if start < s <= end)
        if self.carried and start < self._first_set():
            values |= self.carried
        return values

    def _first_set(self) -> float:
        """The moment this iteration first set the field (a carried value ends there)."""
        return self.actual[1][0] if len(self.actual) > 1 else float("inf")

    def final(self) -> set[Limit]:
        """The values that may be in effect when the iteration ends (carried to the next one)."""
        if len(self.actual) > 1:
            return {self.actual[-1][1]}
        return {None} | self.carried


def classify(
    explains: Callable[[set[Limit]], bool],
    timeline: ConfigTimeline,
    *,
    request_seq: int,
    start: int,
    end: int,
    otherwise: str,
) -> str | None:
    """None if the answer is acceptable, else the rule its only explanation breaks."""
    if explains(timeline.window(start, end)):
        return None
    if explains(timeline.window(request_seq, request_seq)):
        return "CONFIG-1"
    if explains(timeline.window(start, end, "reset")):
        return "CONFIG-2"
    return otherwise


def describe_window(values: set[Limit]) -> str:
    shown = sorted("unlimited" if v is None else str(v) for v in values)
    return "{" + ", ".join(shown) + "}"
