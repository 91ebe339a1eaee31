"""Datums: the values rows are made of (spec sections 1.2 and 5.3).

A datum is held as a plain Python value whose *type is its kind*:

    null -> None, bool -> bool, int64 -> int, float64 -> float, string -> str, bytes -> bytes

Python's numeric tower makes `1 == True == 1.0`, and those are three different datums
(spec 5.3: "an int64 1 and a bool true are different datums"). So values are never compared
or hashed directly where identity matters: rows are compared through their canonical
encoding (`rows.encode`), which records the kind, and the expression evaluator checks
`type(v)` before comparing. Floats are kept canonical from the moment they enter the
replica: `-0.0` becomes `0.0` (they are equal datums) and every NaN becomes the one `NAN`
object (NaN equals NaN), so equal datums always encode to equal bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from compute_protocol.v1 import common_pb2

from reference_replica import faults

Value = None | bool | int | float | str | bytes
"""One datum; its Python type is its kind."""

NAN: Final = float("nan")

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1


def canonical_float(x: float) -> float:
    """`-0.0` -> `0.0`, any NaN -> `NAN`; every other float is returned unchanged."""
    if x != x:
        return NAN
    if x == 0.0 and not faults.on("negative-zero-distinct"):  # FAULT: -0.0 stays, and never meets 0.0
        return 0.0
    return x


def kind_of(value: Value) -> str:
    return _KIND_NAMES[type(value)]


_KIND_NAMES: Final[dict[type, str]] = {
    type(None): "null",
    bool: "bool",
    int: "int64",
    float: "float64",
    str: "string",
    bytes: "bytes",
}


class MalformedDatum(ValueError):
    """A ProtoDatum with no kind set."""


def from_proto(d: common_pb2.ProtoDatum) -> Value:
    kind = d.WhichOneof("kind")
    if kind == "int64":
        if faults.on("ints-through-double"):  # FAULT: through a double, saturating at the ends
            return max(INT64_MIN, min(INT64_MAX, int(float(d.int64))))
        return d.int64
    if kind == "string":
        if faults.on("empty-string-is-null") and not d.string:
            return None  # FAULT
        if faults.on("long-strings-truncated"):
            return d.string.encode()[:255].decode(errors="ignore")  # FAULT: a fixed-size buffer
        return d.string
    if kind == "null":
        return None
    if kind == "bool":
        return d.bool
    if kind == "float64":
        return canonical_float(d.float64)
    if kind == "bytes":
        return d.bytes
    raise MalformedDatum("datum with no kind set")


def _set_null(d: common_pb2.ProtoDatum, _: Any) -> None:
    d.null.SetInParent()


def _set_bool(d: common_pb2.ProtoDatum, v: Any) -> None:
    d.bool = v


def _set_int64(d: common_pb2.ProtoDatum, v: Any) -> None:
    d.int64 = v


def _set_float64(d: common_pb2.ProtoDatum, v: Any) -> None:
    d.float64 = v


def _set_string(d: common_pb2.ProtoDatum, v: Any) -> None:
    d.string = v


def _set_bytes(d: common_pb2.ProtoDatum, v: Any) -> None:
    d.bytes = v


SETTERS: Final[dict[type, Callable[[common_pb2.ProtoDatum, Any], None]]] = {
    type(None): _set_null,
    bool: _set_bool,
    int: _set_int64,
    float: _set_float64,
    str: _set_string,
    bytes: _set_bytes,
}
"""Per kind, how to write a value into an empty ProtoDatum (the hot path of responses)."""


def to_proto(value: Value) -> common_pb2.ProtoDatum:
    d = common_pb2.ProtoDatum()
    SETTERS[type(value)](d, value)
    return d


# Ordering (spec 5.3): within a kind, natural order (false < true, numbers numerically with
# NaN above every other float, strings by code point, bytes lexicographically). A well-typed
# plan never compares across kinds; we still give kinds a fixed rank so that sorting a
# mixed column cannot raise.
_KIND_RANK: Final[dict[type, int]] = {
    type(None): 0,
    bool: 1,
    int: 2,
    float: 3,
    str: 4,
    bytes: 5,
}


def order_key(value: Value) -> tuple[int, Any]:
    """A sort key that orders datums as spec 5.3 says (null sorts first here)."""
    t = type(value)
    if t is float:
        assert isinstance(value, float)
        if math.isnan(value):
            return (3, (1, 0.0))
        return (3, (0, value))
    if value is None:
        return (0, 0)
    return (_KIND_RANK[t], value)


def compare(a: Value, b: Value) -> int:
    """-1, 0 or 1 under the datum order (kinds ranked when they differ)."""
    ka = order_key(a)
    kb = order_key(b)
    return -1 if ka < kb else (1 if ka > kb else 0)
