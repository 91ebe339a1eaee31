"""Frontiers as plain integers, so that comparisons read like the spec.

A frontier `[t]` is the int `t`; the empty frontier `[]` is `EMPTY`, one above every u64
time, so `[0] < [1] < ... < []` is ordinary integer order and `meet` is `min`.
"""

from __future__ import annotations

from typing import Final

from compute_protocol.v1 import common_pb2

EMPTY: Final = 1 << 64
Frontier = int


class MalformedFrontier(ValueError):
    """An antichain with more than one element: time is totally ordered, so this is malformed."""


def from_proto(antichain: common_pb2.ProtoU64Antichain) -> Frontier:
    elements = list(antichain.elements)
    if not elements:
        return EMPTY
    if len(elements) > 1:
        raise MalformedFrontier(f"frontier with {len(elements)} elements: {elements}")
    return int(elements[0])


def to_proto(frontier: Frontier) -> common_pb2.ProtoU64Antichain:
    if frontier == EMPTY:
        return common_pb2.ProtoU64Antichain()
    return common_pb2.ProtoU64Antichain(elements=[frontier])


def fmt(frontier: Frontier | None) -> str:
    """`[5]`, `[]`, or `absent` for a field that was not reported."""
    if frontier is None:
        return "absent"
    return "[]" if frontier == EMPTY else f"[{frontier}]"
