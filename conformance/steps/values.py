"""The JSON spelling of times, frontiers, datums, rows and column types in steps.

Plain JSON values stand for the common datums (`null`, `true`, `3`, `2.5`, `"a"`); a
one-key object tags anything JSON cannot say on its own (`{"bytes": "00ff"}`,
`{"float64": "nan"}`, `{"float64": 1}`). Frontiers use the spec's notation: `[5]` or `[]`.
A float spelled `-0.0` stays `-0.0` on the wire: it equals `0.0` (spec 5.3), and only a
replica that receives it can show that it knows.
Column types are `"int64"` or, when the column may hold null, `"int64?"`.

Every decoder raises `FieldError` naming the offending field, so a bad scenario file gets a
message that says where to look.
"""

from __future__ import annotations

import math
from typing import Any, Final

from compute_protocol.v1 import common_pb2

from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.rows import NULL, Datum, Row, datum

U64_MAX: Final = (1 << 64) - 1
I64_MIN: Final = -(1 << 63)
I64_MAX: Final = (1 << 63) - 1

SCALAR_TYPES: Final = {
    "bool": common_pb2.PROTO_SCALAR_TYPE_BOOL,
    "int64": common_pb2.PROTO_SCALAR_TYPE_INT64,
    "float64": common_pb2.PROTO_SCALAR_TYPE_FLOAT64,
    "string": common_pb2.PROTO_SCALAR_TYPE_STRING,
    "bytes": common_pb2.PROTO_SCALAR_TYPE_BYTES,
}
_SPECIAL_FLOATS: Final = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0.0": -0.0}


class FieldError(ValueError):
    """A value that does not fit its field; `path` names the field (`objects[0].plan.mfp`)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"field {path}: {problem}")
        self.path = path
        self.problem = problem


def is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def decode_time(v: object, path: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= U64_MAX:
        raise FieldError(path, f"expected a time (an integer in [0, 2^64)), got {v!r}")
    return v


def decode_frontier(v: object, path: str) -> Frontier:
    if not isinstance(v, list) or len(v) > 1:
        raise FieldError(path, f"expected a frontier, [t] or [], got {v!r}")
    return EMPTY if not v else decode_time(v[0], f"{path}[0]")


def encode_frontier(f: Frontier) -> list[int]:
    return [] if f == EMPTY else [f]


def float_datum(x: float) -> Datum:
    """A float64 datum as spelled: canonical NaN, but `-0.0` kept (it compares and hashes equal to
    `0.0`, so the model is unaffected, and the replica gets to see it)."""
    if x == 0.0 and math.copysign(1.0, x) < 0:
        return ("float64", -0.0)
    return datum("float64", x)


def decode_datum(v: object, path: str) -> Datum:
    if v is None:
        return NULL
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        if not I64_MIN <= v <= I64_MAX:
            raise FieldError(path, f"integer {v} is outside int64")
        return ("int64", v)
    if isinstance(v, float):
        return float_datum(v)
    if isinstance(v, str):
        return ("string", v)
    if isinstance(v, dict) and len(v) == 1:
        ((kind, raw),) = v.items()
        return _decode_tagged(kind, raw, path)
    raise FieldError(path, f"expected a datum (null, bool, number, string or a one-key tagged object), got {v!r}")


def _decode_tagged(kind: str, raw: object, path: str) -> Datum:
    if kind == "null" and raw is None:
        return NULL
    if kind == "bool" and isinstance(raw, bool):
        return ("bool", raw)
    if kind == "int64" and is_int(raw):
        return decode_datum(raw, path)
    if kind == "float64":
        if isinstance(raw, str) and raw in _SPECIAL_FLOATS:
            return float_datum(_SPECIAL_FLOATS[raw])
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float_datum(float(raw))
    if kind == "string" and isinstance(raw, str):
        return ("string", raw)
    if kind == "bytes" and isinstance(raw, str):
        try:
            return ("bytes", bytes.fromhex(raw))
        except ValueError:
            raise FieldError(path, f"bytes must be hex digits, got {raw!r}") from None
    raise FieldError(path, f"bad tagged datum {{{kind!r}: {raw!r}}}")


def encode_datum(d: Datum) -> Any:
    kind, value = d
    if kind in ("null", "bool", "string"):
        return value
    if kind == "int64":
        return int(value)
    if kind == "bytes":
        return {"bytes": bytes(value).hex()}
    f = float(value)
    if math.isnan(f):
        return {"float64": "nan"}
    if math.isinf(f):
        return {"float64": "inf" if f > 0 else "-inf"}
    if f == 0.0 and math.copysign(1.0, f) < 0:
        return {"float64": "-0.0"}
    return f


def decode_row(v: object, path: str) -> Row:
    if not isinstance(v, list):
        raise FieldError(path, f"expected a row (a list of datums), got {v!r}")
    return tuple(decode_datum(x, f"{path}[{i}]") for i, x in enumerate(v))


def encode_row(r: Row) -> list[Any]:
    return [encode_datum(d) for d in r]


def decode_column(v: object, path: str) -> common_pb2.ProtoColumnType:
    if isinstance(v, str):
        nullable = v.endswith("?")
        name = v.rstrip("?")
        if name in SCALAR_TYPES:
            return common_pb2.ProtoColumnType(scalar_type=SCALAR_TYPES[name], nullable=nullable)
    raise FieldError(
        path, f"expected a column type, one of {', '.join(SCALAR_TYPES)} (append ? if nullable), got {v!r}"
    )


def column_kind(col: common_pb2.ProtoColumnType) -> str:
    for name, value in SCALAR_TYPES.items():
        if value == col.scalar_type:
            return name
    return "unspecified"


def encode_column(col: common_pb2.ProtoColumnType) -> str:
    return column_kind(col) + ("?" if col.nullable else "")


def datum_fits(d: Datum, col: common_pb2.ProtoColumnType) -> bool:
    kind = d[0]
    return (kind == "null" and col.nullable) or kind == column_kind(col)
