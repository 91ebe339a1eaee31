"""Times and frontiers (spec section 0 and 1.2).

Time is a totally ordered `uint64`, so a frontier has at most one element: `[t]` says "every
time below t is complete" and `[]` says "every time is complete". We represent a frontier by
a plain int: `[t]` is `t` and `[]` is `EMPTY`, one above the largest time. Then the order
`[0] < [1] < ... < []` is integer order, the meet of frontiers is `min`, and "t is final
below frontier f" is simply `t < f`.
"""

from __future__ import annotations

from typing import Final

from compute_protocol.v1 import common_pb2

EMPTY: Final = 1 << 64
"""The empty frontier `[]`: no time is still open."""

MAX_TIME: Final = EMPTY - 1


class MalformedFrontier(ValueError):
    """An antichain with several elements: time is totally ordered, so this is malformed."""


def from_proto(antichain: common_pb2.ProtoU64Antichain) -> int:
    elements = antichain.elements
    if not elements:
        return EMPTY
    if len(elements) > 1:
        raise MalformedFrontier(f"frontier with {len(elements)} elements {list(elements)}")
    return int(elements[0])


def to_proto(frontier: int) -> common_pb2.ProtoU64Antichain:
    if frontier >= EMPTY:
        return common_pb2.ProtoU64Antichain()
    return common_pb2.ProtoU64Antichain(elements=[frontier])


def fill(antichain: common_pb2.ProtoU64Antichain, frontier: int) -> None:
    """Write `frontier` into an existing message field (marking it present)."""
    antichain.SetInParent()
    if frontier < EMPTY:
        antichain.elements.append(frontier)


def fmt(frontier: int) -> str:
    return "[]" if frontier >= EMPTY else f"[{frontier}]"
