"""Rows and their canonical encoding.

A row is a tuple of datums (see `datum`). Wherever the replica needs row *identity*
(consolidating updates, arrangements, join and reduce state, literal keys) it uses
`encode(row)`: the `marshal` format, version 2, of the tuple. That encoding

- records each datum's kind (`True`, `1` and `1.0` encode differently), so kinds never
  collide, and together with canonical floats it makes "equal datums" the same as "equal
  bytes";
- is produced and parsed in C, which keeps the hot paths fast;
- is compact, which lets arrangements store rows as bytes (see `arrangement`);
- is deterministic: version 2 writes no back-references, so the bytes depend only on the
  values (versions 3+ would vary with object identity).

The encoding is private to this process; rows leave the replica only as `ProtoRow`.
"""

from __future__ import annotations

import itertools
import marshal
from collections.abc import Iterable
from typing import Final

from compute_protocol.v1 import common_pb2

from reference_replica import datum, faults
from reference_replica.datum import Value

Row = tuple[Value, ...]

_VERSION: Final = 2


def encode(row: Row) -> bytes:
    if faults.on("kinds-conflated-by-value"):  # FAULT: the memo's key (1,) == (1.0,) == (True,)
        return _MEMO.setdefault(row, marshal.dumps(row, _VERSION))
    data = marshal.dumps(row, _VERSION)
    if faults.on("nan-rows-never-equal") and any(v != v for v in row):
        return data + next(_UNIQUE).to_bytes(8, "little")  # FAULT: NaN != NaN (marshal ignores the tail)
    return data


_MEMO: dict[Row, bytes] = {}  # only the fault kinds-conflated-by-value uses it
_UNIQUE = itertools.count()  # only the fault nan-rows-never-equal uses it


def decode(data: bytes) -> Row:
    row: Row = marshal.loads(data)
    return row


def encode_value(value: Value) -> bytes:
    """The encoding of one datum; `encode(row)` is a header followed by these."""
    return marshal.dumps(value, _VERSION)


def tuple_header(arity: int) -> bytes:
    """The bytes `encode` writes before the datums of a row of this arity."""
    return b"(" + arity.to_bytes(4, "little")


def from_proto(row: common_pb2.ProtoRow) -> Row:
    return tuple([datum.from_proto(d) for d in row.datums])


def fill_proto(target: common_pb2.ProtoRow, row: Row) -> None:
    """Append the datums of `row` to an (empty) ProtoRow in place: cheaper than building one."""
    datums = target.datums
    setters = datum.SETTERS
    if faults.on("bool-encoded-as-int64"):
        setters = {**setters, bool: _bool_as_int64}  # FAULT: a bool is an int
    for value in row:
        setters[type(value)](datums.add(), value)


def _bool_as_int64(d: common_pb2.ProtoDatum, value: Value) -> None:
    d.int64 = 1 if value else 0  # (only the fault bool-encoded-as-int64 writes a bool this way)


def to_proto(row: Row) -> common_pb2.ProtoRow:
    out = common_pb2.ProtoRow()
    fill_proto(out, row)
    return out


def proto_size(row: Row) -> int:
    """Serialized length of the row as a ProtoRow (the unit of spec 1.5's result size)."""
    return to_proto(row).ByteSize()


def fmt(row: Row) -> str:
    return "(" + ", ".join("null" if v is None else repr(v) for v in row) + ")"


def consolidate(updates: Iterable[tuple[Row, int, int]]) -> list[tuple[Row, int, int]]:
    """Sum the diffs of equal (row, time) pairs and drop zeros; the result is ordered by time."""
    diffs: dict[tuple[bytes, int], int] = {}
    originals: dict[bytes, Row] = {}
    for row, time, diff in updates:
        encoded = encode(row)
        key = (encoded, time)
        diffs[key] = diffs.get(key, 0) + diff
        originals[encoded] = row
    out = [(originals[encoded], time, diff) for (encoded, time), diff in diffs.items() if diff != 0]
    out.sort(key=lambda update: update[1])
    return out
