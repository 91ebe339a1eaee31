"""`Reduce(input, group_key, aggregates)`: one row per group (spec 5.3).

State: every group's accumulated input rows, and the output last emitted for it. For each
time, in order, the groups whose input changed are re-aggregated, and the output changes by
"retract the old result, insert the new one". Only changed groups are recomputed.

A group's result is, in this order of precedence: nothing (no row with non-zero
multiplicity), the error "negative multiplicity in reduce" (some row is negative), the first
aggregate error ("integer out of range" from SUM), or the row `key ++ aggregates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from compute_protocol.v1 import plan_pb2

from reference_replica import datum, faults
from reference_replica.dataflow.batch import Batch, ErrUpdate, Update, by_time
from reference_replica.dataflow.keyed_rows import KeyedRows
from reference_replica.dataflow.node import Node
from reference_replica.datum import INT64_MAX, INT64_MIN, Value
from reference_replica.expr import OUT_OF_RANGE
from reference_replica.mfp import projector
from reference_replica.rows import Row, encode

NEGATIVE_MULTIPLICITY: Final = "negative multiplicity in reduce"


@dataclass(frozen=True)
class Aggregate:
    func: int  # a ProtoAggregateFunc
    column: int


class AggregateError(Exception):
    pass


@dataclass(frozen=True)
class Result:
    """What a group contributes: one row, or one error, with multiplicity 1."""

    row: Row | None = None
    error: str | None = None

    def identity(self) -> tuple[bytes | None, str | None]:
        return (None if self.row is None else encode(self.row), self.error)


def aggregate_group(
    key: Row, rows: Sequence[tuple[Row, int]], aggregates: Sequence[Aggregate]
) -> Result | None:
    """The result of one group, from its rows with non-zero multiplicities."""
    if not rows:
        if not key and faults.on("global-reduce-over-empty-row"):  # FAULT: SQL's row over nothing
            return Result(row=tuple(0 if a.func == plan_pb2.PROTO_AGGREGATE_FUNC_COUNT else None for a in aggregates))
        return None
    if any(count < 0 for _, count in rows) and not faults.on("reduce-accepts-negative"):  # FAULT
        return Result(error=NEGATIVE_MULTIPLICITY)
    values: list[Value] = list(key)
    try:
        for aggregate in aggregates:
            values.append(_aggregate(aggregate, rows))
    except AggregateError as error:
        return Result(error=str(error))
    except (TypeError, IndexError):
        return Result(error="ill-typed aggregate")
    return Result(row=tuple(values))


def _aggregate(aggregate: Aggregate, rows: Sequence[tuple[Row, int]]) -> Value:
    func = aggregate.func
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_COUNT:
        if faults.on("count-counts-rows"):
            return len(rows)  # FAULT: distinct rows, not their multiplicities
        return sum(count for _, count in rows)
    column = aggregate.column
    present = [(row[column], count) for row, count in rows if row[column] is not None]
    if func != plan_pb2.PROTO_AGGREGATE_FUNC_SUM:
        if faults.on("min-max-see-null"):
            present = [(row[column], count) for row, count in rows]  # FAULT: null ranks lowest
        if faults.on("min-max-skip-nan"):
            present = [(v, c) for v, c in present if v == v]  # FAULT: NaN skipped, as pandas does
    if not present:
        return None
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_SUM:
        total: Any = sum(value * count for value, count in present)  # type: ignore[misc,operator]
        if type(total) is int:
            if total < INT64_MIN or total > INT64_MAX:
                if faults.on("sum-overflow-wraps"):
                    return (total - INT64_MIN) % (1 << 64) + INT64_MIN  # FAULT: two's complement
                raise AggregateError(OUT_OF_RANGE)
            return total
        return datum.canonical_float(total)  # a float column: not in the spec, but total
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_MIN:
        return min((value for value, _ in present), key=datum.order_key)
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_MAX:
        return max((value for value, _ in present), key=datum.order_key)
    raise AggregateError(f"unknown aggregate function {func}")


class ReduceNode(Node):
    def __init__(self, source: Node, group_key: list[int], aggregates: list[Aggregate]) -> None:
        super().__init__(source.frontier)
        self._key_of = projector(group_key)
        self._aggregates = aggregates
        self._groups = KeyedRows()
        self._keys: dict[bytes, Row] = {}
        self._results: dict[bytes, Result] = {}
        self._global = not group_key
        self._primed = False  # only the fault global-reduce-over-empty-row reads it
        source.subscribe(self.on_batch)

    def on_batch(self, batch: Batch) -> None:
        oks: list[Update] = []
        errs: list[ErrUpdate] = list(batch.errs)  # input errors pass through
        if self._global and not self._primed and faults.on("global-reduce-over-empty-row"):
            self._primed = True  # FAULT: the global group exists from the start, rows or not
            self._keys[encode(())] = ()
            self._update_group(encode(()), batch.lower, oks, errs)
        for time, changes in by_time(batch.oks):
            dirty: set[bytes] = set()
            for row, diff in changes:
                key = self._key_of(row)
                if None in key and faults.on("reduce-drops-null-keys"):
                    continue  # FAULT: null never equals null, as in a join
                encoded_key = encode(key)
                self._keys[encoded_key] = key
                self._groups.add(encoded_key, encode(row), row, diff)
                dirty.add(encoded_key)
            for encoded_key in dirty:
                self._update_group(encoded_key, time, oks, errs)
        self.emit(Batch(batch.lower, batch.upper, oks, errs))

    def _update_group(self, encoded_key: bytes, time: int, oks: list[Update], errs: list[ErrUpdate]) -> None:
        rows = list(self._groups.get(encoded_key).values())
        new = aggregate_group(self._keys[encoded_key], rows, self._aggregates)
        old = self._results.get(encoded_key)
        if _same(old, new) or (new is None and faults.on("reduce-keeps-emptied-group")):
            return  # (the fault keeps an emptied group's last row)
        if old is not None:
            _emit(old, time, -1, oks, errs)
        if new is not None:
            _emit(new, time, 1, oks, errs)
            self._results[encoded_key] = new
        else:
            del self._results[encoded_key]
            del self._keys[encoded_key]


def _same(a: Result | None, b: Result | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.identity() == b.identity()


def _emit(result: Result, time: int, diff: int, oks: list[Update], errs: list[ErrUpdate]) -> None:
    if result.row is not None:
        oks.append((result.row, time, diff))
    elif result.error is not None:
        errs.append((result.error, time, diff))
