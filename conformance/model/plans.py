"""The operators of the plan language (spec 5.3), evaluated from scratch at one time.

`compile_plan` turns a `ProtoPlan` into a tree of the classes below, once per dataflow.
`evaluate(t, get)` computes the operator's contents at time `t` from its inputs' contents
at `t` (`get` resolves a `Get` id); nothing is incremental, so each operator reads like its
sentence in the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from compute_protocol.v1 import plan_pb2

from conformance.model.contents import Contents, add_to, drop_zeros
from conformance.model.expressions import (
    INT64_MAX,
    INT64_MIN,
    OUT_OF_RANGE,
    EvalError,
    IllTyped,
    Mfp,
    compile_mfp,
)
from conformance.model.ordering import datum_key
from conformance.wire.ids import GlobalId, gid_str
from conformance.wire.rows import NULL, Datum, Row, row_from_proto

NEGATIVE_IN_REDUCE: Final = "negative multiplicity in reduce"

Resolver = Callable[[GlobalId], Contents]


class Plan:
    def evaluate(self, t: int, get: Resolver) -> Contents:
        raise NotImplementedError

    def inputs(self) -> tuple[Plan, ...]:
        return ()

    def walk(self) -> Iterator[Plan]:
        yield self
        for child in self.inputs():
            yield from child.walk()

    def gets(self) -> frozenset[GlobalId]:
        """Every id the plan reads. Kept once computed (a plan never changes): the oracle asks
        for it on every event, for every frontier it owes."""
        known: frozenset[GlobalId] | None = self.__dict__.get("_gets")
        if known is None:
            known = frozenset(node.id for node in self.walk() if isinstance(node, Get))
            object.__setattr__(self, "_gets", known)  # frozen: fields only; this is a cache
        return known

    def constant_times(self) -> set[int]:
        return {u.time for node in self.walk() if isinstance(node, Constant) for u in node.updates}


@dataclass(frozen=True)
class Get(Plan):
    id: GlobalId

    def evaluate(self, t: int, get: Resolver) -> Contents:
        return get(self.id)


@dataclass(frozen=True)
class ConstantUpdate:
    row: Row | None     # None when the update is an error
    error: str
    time: int
    diff: int


@dataclass(frozen=True)
class Constant(Plan):
    arity: int
    updates: tuple[ConstantUpdate, ...]

    def evaluate(self, t: int, get: Resolver) -> Contents:
        # Times below as_of count as as_of; the catalog never evaluates below as_of, so
        # "every update at a time <= t" is the whole rule here.
        out = Contents()
        for u in self.updates:
            if u.time <= t:
                if u.row is None:
                    add_to(out.errors, u.error, u.diff)
                else:
                    add_to(out.rows, u.row, u.diff)
        return out.consolidated()


@dataclass(frozen=True)
class MapFilterProject(Plan):
    input: Plan
    mfp: Mfp

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)

    def evaluate(self, t: int, get: Resolver) -> Contents:
        return self.mfp.apply_to(self.input.evaluate(t, get))


@dataclass(frozen=True)
class Union(Plan):
    parts: tuple[Plan, ...]

    def inputs(self) -> tuple[Plan, ...]:
        return self.parts

    def evaluate(self, t: int, get: Resolver) -> Contents:
        out = Contents()
        for part in self.parts:
            c = part.evaluate(t, get)
            for row, m in c.rows.items():
                add_to(out.rows, row, m)
            for error, m in c.errors.items():
                add_to(out.errors, error, m)
        return out.consolidated()


@dataclass(frozen=True)
class Negate(Plan):
    input: Plan

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)

    def evaluate(self, t: int, get: Resolver) -> Contents:
        c = self.input.evaluate(t, get)
        return Contents({row: -m for row, m in c.rows.items()}, dict(c.errors))


@dataclass(frozen=True)
class Threshold(Plan):
    input: Plan

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)

    def evaluate(self, t: int, get: Resolver) -> Contents:
        c = self.input.evaluate(t, get)
        return Contents({row: m for row, m in c.rows.items() if m > 0}, dict(c.errors))


@dataclass(frozen=True)
class Join(Plan):
    left: Plan
    right: Plan
    keys: tuple[tuple[int, int], ...]   # (left column, right column)

    def inputs(self) -> tuple[Plan, ...]:
        return (self.left, self.right)

    def evaluate(self, t: int, get: Resolver) -> Contents:
        left, right = self.left.evaluate(t, get), self.right.evaluate(t, get)
        out = Contents()
        for error, m in (*left.errors.items(), *right.errors.items()):
            add_to(out.errors, error, m)
        left_cols = tuple(lc for lc, _ in self.keys)
        right_cols = tuple(rc for _, rc in self.keys)
        # Hash the right side by its key; a null key datum never matches anything.
        by_key: dict[Row, list[tuple[Row, int]]] = {}
        for row, b in right.rows.items():
            key = _key(row, right_cols)
            if key is not None:
                by_key.setdefault(key, []).append((row, b))
        for row, a in left.rows.items():
            key = _key(row, left_cols)
            for other, b in by_key.get(key, ()) if key is not None else ():
                add_to(out.rows, row + other, a * b)
        return out.consolidated()


def _key(row: Row, columns: tuple[int, ...]) -> Row | None:
    try:
        key = tuple(row[c] for c in columns)
    except IndexError:
        raise IllTyped(f"key columns {columns} of a row of {len(row)} columns") from None
    return None if NULL in key else key


@dataclass(frozen=True)
class Reduce(Plan):
    input: Plan
    group_key: tuple[int, ...]
    aggregates: tuple[tuple[int, int], ...]   # (ProtoAggregateFunc, column)

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)

    def evaluate(self, t: int, get: Resolver) -> Contents:
        c = self.input.evaluate(t, get)
        out = Contents(errors=dict(c.errors))
        groups: dict[Row, list[tuple[Row, int]]] = {}
        for row, m in c.rows.items():
            try:
                key = tuple(row[i] for i in self.group_key)
            except IndexError:
                raise IllTyped(f"group key {self.group_key} of a row of {len(row)} columns") from None
            groups.setdefault(key, []).append((row, m))
        for key, members in groups.items():
            if any(m < 0 for _, m in members):
                add_to(out.errors, NEGATIVE_IN_REDUCE, 1)
                continue
            try:
                values = tuple(_aggregate(func, column, members) for func, column in self.aggregates)
            except EvalError as error:  # SUM out of range: the group yields the error instead
                add_to(out.errors, str(error), 1)
                continue
            add_to(out.rows, key + values, 1)
        return Contents(out.rows, drop_zeros(out.errors))


def _aggregate(func: int, column: int, members: list[tuple[Row, int]]) -> Datum:
    """One aggregate over a group whose multiplicities are all positive."""
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_COUNT:
        return ("int64", sum(m for _, m in members))
    try:
        values = [(row[column], m) for row, m in members if row[column][0] != "null"]
    except IndexError:
        raise IllTyped(f"aggregate over column {column} of a shorter row") from None
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_SUM:
        if not values:
            return NULL
        if any(d[0] != "int64" for d, _ in values):
            raise IllTyped("SUM of a non-int64 column")
        total = sum(d[1] * m for d, m in values)
        if total < INT64_MIN or total > INT64_MAX:
            raise EvalError(OUT_OF_RANGE)
        return ("int64", total)
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_MIN:
        return min((d for d, _ in values), key=datum_key, default=NULL)
    if func == plan_pb2.PROTO_AGGREGATE_FUNC_MAX:
        return max((d for d, _ in values), key=datum_key, default=NULL)
    raise IllTyped(f"unknown aggregate function {func}")


def compile_plan(plan: plan_pb2.ProtoPlan) -> Plan:
    kind = plan.WhichOneof("kind")
    if kind == "get":
        return Get(gid_str(plan.get.id))
    if kind == "constant":
        updates = []
        for u in plan.constant.updates:
            if u.WhichOneof("value") == "error":
                updates.append(ConstantUpdate(None, u.error, u.time, u.diff))
            else:
                updates.append(ConstantUpdate(row_from_proto(u.row), "", u.time, u.diff))
        return Constant(plan.constant.arity, tuple(updates))
    if kind == "mfp":
        return MapFilterProject(compile_plan(plan.mfp.input), compile_mfp(plan.mfp.mfp))
    if kind == "union":
        return Union(tuple(compile_plan(p) for p in plan.union.inputs))
    if kind == "negate":
        return Negate(compile_plan(plan.negate.input))
    if kind == "threshold":
        return Threshold(compile_plan(plan.threshold.input))
    if kind == "join":
        j = plan.join
        keys = tuple((k.left_column, k.right_column) for k in j.keys)
        return Join(compile_plan(j.left), compile_plan(j.right), keys)
    if kind == "reduce":
        r = plan.reduce
        aggregates = tuple((a.func, a.column) for a in r.aggregates)
        return Reduce(compile_plan(r.input), tuple(r.group_key), aggregates)
    raise IllTyped("plan with no kind set")
