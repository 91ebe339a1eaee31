"""The suite's own row values: tagged datums, so `int64 1` and `bool true` never collide.

A datum is `(kind, value)` with kind one of the six ProtoDatum kinds; a row is a tuple of
datums. `-0.0` is normalised to `0.0` and every NaN to one canonical object, so that equal
datums (spec section 5.3) are equal, hashable Python values.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Final

from compute_protocol.v1 import common_pb2, response_pb2

from conformance import quotes

Datum = tuple[str, Any]
Row = tuple[Datum, ...]

NULL: Final[Datum] = ("null", None)
NAN: Final = float("nan")
KINDS: Final = ("null", "bool", "int64", "float64", "string", "bytes")
# Sort rank of each kind, used only to order rows deterministically in reports.
_RANK: Final = {kind: i for i, kind in enumerate(KINDS)}


def datum(kind: str, value: Any = None) -> Datum:
    if kind == "float64":
        value = float(value)
        if math.isnan(value):
            value = NAN
        elif value == 0.0:
            value = 0.0
    elif kind == "null":
        value = None
    return (kind, value)


def datum_from_proto(d: common_pb2.ProtoDatum) -> Datum:
    kind = d.WhichOneof("kind")
    if kind is None:
        raise ValueError("datum with no kind set")
    if kind == "null":
        return NULL
    return datum(kind, getattr(d, kind))


def datum_to_proto(d: Datum) -> common_pb2.ProtoDatum:
    kind, value = d
    if kind == "null":
        return common_pb2.ProtoDatum(null=common_pb2.ProtoNull())
    return common_pb2.ProtoDatum(**{kind: value})


_ROWS_SEEN: dict[bytes, Row] = {}
_ROWS_SEEN_MAX: Final = 1 << 14  # entries; the table starts afresh when full
_ROW_CACHED_BYTES: Final = 512  # longer rows are converted every time (they are rare, and big)


def row_from_proto(row: common_pb2.ProtoRow) -> Row:
    """The row as the suite's values. Memoized on its encoding (serializing is C, converting
    datum by datum is Python): answers repeat the same few rows, and both the oracle and the
    waiting controller convert every answer."""
    key = row.SerializeToString()
    out = _ROWS_SEEN.get(key)
    if out is None:
        out = tuple(datum_from_proto(d) for d in row.datums)
        if len(key) <= _ROW_CACHED_BYTES:
            if len(_ROWS_SEEN) >= _ROWS_SEEN_MAX:
                _ROWS_SEEN.clear()
            _ROWS_SEEN[key] = out
    return out


_ANSWERS_SEEN: dict[bytes, tuple[tuple[Row, int], ...]] = {}
_ANSWERS_SEEN_MAX: Final = 8
_ANSWER_CACHED_BYTES: Final = 1 << 18


def entries_from_proto(rows: response_pb2.ProtoRowCollection) -> tuple[tuple[Row, int], ...]:
    """The `(row, count)` entries of a Rows answer, in order. The oracle (on the reader thread)
    and the controller waiting for the answer both need them: the few latest answers are kept
    by their encoding, so each is converted once."""
    key = rows.SerializeToString()
    out = _ANSWERS_SEEN.get(key)
    if out is None:
        out = tuple((row_from_proto(e.row), e.count) for e in rows.rows)
        if len(key) <= _ANSWER_CACHED_BYTES:
            if len(_ANSWERS_SEEN) >= _ANSWERS_SEEN_MAX:
                _ANSWERS_SEEN.pop(next(iter(_ANSWERS_SEEN)))
            _ANSWERS_SEEN[key] = out
    return out


def row_to_proto(row: Row) -> common_pb2.ProtoRow:
    return common_pb2.ProtoRow(datums=[datum_to_proto(d) for d in row])


def row(*values: Any) -> Row:
    """Build a row from Python values: None, bool, int, float, str, bytes (for tests and scenarios)."""
    out: list[Datum] = []
    for v in values:
        if v is None:
            out.append(NULL)
        elif isinstance(v, bool):
            out.append(("bool", v))
        elif isinstance(v, int):
            out.append(("int64", v))
        elif isinstance(v, float):
            out.append(datum("float64", v))
        elif isinstance(v, str):
            out.append(("string", v))
        elif isinstance(v, bytes):
            out.append(("bytes", v))
        else:
            raise TypeError(f"no datum kind for {v!r}")
    return tuple(out)


@functools.lru_cache(maxsize=1 << 16)
def encoded_size(r: Row) -> int:
    """Serialized length of the row as a ProtoRow (spec section 1.5). Cached: every peek of a
    collection sizes the same rows again."""
    return row_to_proto(r).ByteSize()


def fmt_datum(d: Datum) -> str:
    """A datum as verdicts quote it: long strings and bytes are cut to the quote bound."""
    kind, value = d
    if kind == "null":
        return "null"
    most = quotes.limit()
    if kind == "string":
        text = repr(value[:most])
        return text if len(value) <= most else f"{text}...({len(value)} chars)"
    if kind == "bytes":
        text = "b" + repr(value[:most])[1:]
        return text if len(value) <= most else f"{text}...({len(value)} bytes)"
    if kind == "bool":
        return "true" if value else "false"
    return repr(value)


def fmt_row(r: Row) -> str:
    return "(" + ", ".join(fmt_datum(d) for d in r) + ")"


def report_key(r: Row) -> tuple[Any, ...]:
    """A total order over rows of any kinds, for stable report output only (not spec ordering)."""
    return tuple((_RANK[k], "" if v is None else (str(v) if k == "float64" else v)) for k, v in r)
