"""Plans built around one edge of the plan language each: the shapes in which replicas go wrong.

Random plans over random rows meet most edges only by luck: a reduce whose group holds a
NaN key needs a reduce, a grouping column of floats, two rows with NaN there and a peek or a
subscribe that reads the result. Each shape below builds the whole situation, with the edge
data in a `Constant` unioned into the input (so it is there whatever the shards hold, and
at times Hypothesis draws, which also land at and around `until`):

- a global reduce (no key) over an input that is empty, or that holds a row and then loses
  it (emptied); a reduce grouped by a column holding null, NaN, repeated rows, values whose
  SUM overflows; a reduce over negative multiplicities;
- a join on a nullable column whose both sides hold null;
- negate and threshold over a collection that holds errors;
- a filter whose AND or OR skips a division by zero, whose later predicate errors after an
  earlier one is false, whose predicate is null; a map with int64 overflow, NEG of int64 min,
  division by zero and truncating division, float division by 0.0 and -0.0, a float product
  that reaches infinity, a null beside an error;
- a union holding the same row twice in separate updates: NaN rows, and 0.0 beside -0.0.

The values within each shape are still drawn, so Hypothesis varies and shrinks them.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from hypothesis import strategies as st

from conformance.machines.datums import (
    BEYOND_DOUBLE,
    HUGE_FLOAT,
    I64_MAX,
    I64_MIN,
    INF,
    LONG_STRING,
    NAN,
    NEG_ZERO,
    datum_for,
)

Json = Any
Cols = tuple[str, ...]

# Per kind of column 1, rows (key, value) that together hold every edge of the kind: null and
# NaN in the same group and as group keys, NaN twice, 0.0 beside -0.0, the infinities, int64
# max twice in one group (its SUM overflows), values a double cannot hold, the empty and a
# long string, booleans beside the integers 0 and 1 of other collections.
# Rows (0, 1), (1, 0) of every kind but strings are equal in value to those of the other kinds
# ((0, 1.0), (0, true)): a replica that keys rows by value alone confuses them.
_EDGE_ROWS: Final[dict[str, list[tuple[Json, Json]]]] = {
    "float64": [(0, NAN), (0, 1.0), (1, NAN), (1, None), (1, 0.0), (1, NEG_ZERO), (2, INF), (2, HUGE_FLOAT)],
    "int64": [(0, None), (0, I64_MAX), (0, I64_MAX), (1, I64_MIN), (1, -3), (2, BEYOND_DOUBLE), (1, 0), (0, 1)],
    "string": [(0, None), (0, ""), (1, LONG_STRING), (1, "a"), (2, None)],
    "bool": [(0, None), (0, True), (1, False), (1, True), (2, None)],
}
FALLIBLE_SHAPES: Final = ("keyed_reduce", "global_reduce", "negative_reduce", "erroring", "guarded", "arithmetic")
SAFE_SHAPES: Final = ("null_join", "duplicates")
_NEEDS: Final[dict[str, frozenset[str]]] = {
    "keyed_reduce": frozenset({"reduce", "union", "constant"}),
    "global_reduce": frozenset({"reduce", "union", "constant"}),
    "negative_reduce": frozenset({"reduce", "union", "negate", "constant"}),
    "erroring": frozenset({"union", "negate", "threshold", "constant"}),
    "guarded": frozenset({"mfp", "union", "constant"}),
    "arithmetic": frozenset({"mfp", "union", "constant"}),
    "null_join": frozenset({"join", "union", "constant"}),
    "duplicates": frozenset({"union", "constant"}),
}


# Each shape with the kinds of column 1 whose edges it exercises (twice: drawn twice as often).
# Drawing a (shape, kind) pair at once, rather than a shape and then a kind, keeps every cell of
# the coverage table a few percent likely per edge dataflow.
_COMBOS: Final[dict[str, tuple[str, ...]]] = {
    "keyed_reduce": ("int64?", "int64?", "float64?", "float64?", "string?", "bool?", "int64"),
    "global_reduce": ("int64?", "float64?"),
    "negative_reduce": ("int64?", "float64?"),
    "erroring": ("int64?", "string?", "float64?"),
    "guarded": ("int64?", "float64?", "string?"),
    "arithmetic": ("int64?", "int64", "float64?", "float64?"),
    "null_join": ("int64?", "float64?", "string?", "bool?"),
    "duplicates": ("float64?", "float64?", "int64?", "bool?"),
}


def shapes_for(operators: frozenset[str], safe: bool) -> list[tuple[str, str]]:
    """The (shape, kind of column 1) pairs the replica's operators allow."""
    names = SAFE_SHAPES if safe else SAFE_SHAPES + FALLIBLE_SHAPES
    return [(n, kind) for n in names if _NEEDS[n] <= operators for kind in _COMBOS[n]]


@functools.cache
def edge_rows(cols: Cols) -> st.SearchStrategy[list[Json]]:
    """Constant updates in shape `cols` that carry the edges of its column 1 (`_EDGE_ROWS`),
    each row kept three times out of four; keys 0, 1, 2 so that rows share groups and join
    partners (0 is also a divisor)."""
    if len(cols) == 1:
        template: list[list[Json]] = [[0], [1], [I64_MIN], [I64_MAX]]
    else:
        nullable = cols[1].endswith("?")
        pairs = [(k, v) for k, v in _EDGE_ROWS[cols[1].rstrip("?")] if nullable or v is not None]
        template = [[k, v] for k, v in pairs]
    rest = [datum_for(c) for c in cols[2:]]  # an imported index may be wider
    kept = st.integers(0, 3).map(bool)
    update = st.tuples(kept, st.integers(0, 3), st.sampled_from([1, 1, 2]), st.tuples(*rest).map(list))
    updates = st.tuples(*[update for _ in template])

    def build(drawn: tuple[tuple[bool, int, int, list[Json]], ...]) -> list[Json]:
        out = [
            {"row": [*row, *extra], "time": time, "diff": diff}
            for row, (keep, time, diff, extra) in zip(template, drawn, strict=True)
            if keep
        ]
        return out or [{"row": [*template[0], *drawn[0][3]], "time": drawn[0][1], "diff": 1}]

    return updates.map(build)


def _plus(a: Json | None, other: Json) -> Json:
    """`a` with `other` unioned in; just `other` when the shape has no input of its own."""
    return other if a is None else {"union": [a, other]}


def _with(a: Json | None, cols: Cols, updates: list[Json]) -> Json:
    return _plus(a, {"constant": {"columns": list(cols), "updates": updates}})


@functools.cache
@st.composite
def edge_plan(draw: st.DrawFn, combo: tuple[str, str], name: str, cols: Cols) -> Json:
    """A plan of shape `combo[0]` with edge rows whose column 1 is of kind `combo[1]`, over the
    input `name` of columns `cols` (column 0 a non-null int64).

    When the input is of shape (int64, kind), the edge rows are unioned into it (the replica
    computes them incrementally with the shard's rows); otherwise the plan reads only its
    constant rows: every kind's edges come up whatever shards the example has."""
    shape, kind = combo
    a: Json | None = {"get": name}
    if cols != ("int64", kind):
        a, cols = None, ("int64", kind)
    rows = draw(edge_rows(cols))
    width = len(cols)
    nullable = width > 1 and cols[1].endswith("?")
    if shape == "duplicates":  # the same rows again, in separate updates: NaN twice, 0.0 and -0.0
        again = [{**u, "time": u["time"] + 1, "diff": 1} for u in rows]
        flipped = [_flip_zero(u) for u in again]
        return _with(a, cols, rows + flipped)
    if shape == "null_join":
        left = _with(a, cols, rows)
        keys = [[1, 1]] if nullable else [[0, 0]]
        return {"join": {"left": left, "right": left, "keys": keys}}
    if shape == "keyed_reduce":
        group = draw(st.sampled_from([[1], [0, 1], [0]])) if width > 1 else [0]
        return {"reduce": {"input": _with(a, cols, rows), "group_key": group, "aggregates": _aggregates(cols)}}
    if shape == "global_reduce":
        if draw(st.booleans()) or a is None:  # emptied: rows that come and go again
            gone = [{**u, "time": u["time"] + 1, "diff": -u["diff"]} for u in rows]
            source: Json = {"constant": {"columns": list(cols), "updates": rows + gone}}
        else:  # empty: nothing passes the filter
            source = {"mfp": {"input": a, "predicates": [{"literal": False}]}}
        return {"reduce": {"input": source, "group_key": [], "aggregates": _aggregates(cols)}}
    if shape == "negative_reduce":
        negated = {"negate": {"constant": {"columns": list(cols), "updates": rows}}}
        return {"reduce": {"input": _plus(a, negated), "group_key": [0], "aggregates": _aggregates(cols)}}
    if shape == "erroring":
        boom = {"error": "boom", "time": draw(st.integers(0, 3)), "diff": 1}
        erroring = _with(a, cols, [*rows, boom])
        if draw(st.booleans()):
            return _plus(a, {"negate": erroring})
        return {"threshold": _plus(a, {"negate": erroring})}
    source = _with(a, cols, rows)
    key: Json = {"column": 0}
    zero: Json = {"literal": 0}
    risky: Json = {"gt": [{"div": [{"literal": 12}, key]}, {"literal": 1}]}
    kind = cols[1].rstrip("?") if width > 1 else "int64"
    col1: Json = {"column": 1} if width > 1 else key
    if shape == "guarded":
        # Several filters over the same rows, as one union: each keeps every column.
        filters: list[list[Json]] = [
            [{"and": [{"not_eq": [key, zero]}, risky]}],  # the division is skipped where key = 0
            [{"or": [{"eq": [key, zero]}, risky]}],
            [{"not_eq": [key, zero]}, risky],  # the second predicate is never reached where key = 0
        ]
        if width > 1:
            filters.append([{"eq": [col1, col1]}])  # null = null is null, NaN = NaN is true
        if kind == "float64":
            filters.append([{"lt": [col1, {"literal": NAN}]}])  # NaN is above every other float
        filters.append([risky])  # errors where key = 0
        picked = draw(st.lists(st.sampled_from(filters), min_size=3, max_size=6, unique_by=repr))
        return {"union": [{"mfp": {"input": source, "predicates": p}} for p in picked]}
    # arithmetic: several maps over the same rows, as one union, each with an edge of the kind
    # of column 1 (or of the key) and projecting to the same columns
    choices: list[Json]
    if kind == "float64":
        choices = [{"div": [{"literal": 1.0}, col1]}, {"mul": [col1, {"literal": HUGE_FLOAT}]}, {"neg": col1}]
    elif kind == "int64":
        choices = [
            {"add": [col1, {"literal": I64_MAX}]},
            {"neg": col1},
            {"div": [col1, {"literal": 2}]},
            {"mul": [col1, {"literal": -3}]},
            {"add": [col1, {"div": [{"literal": 12}, key]}]},  # null + error: the error
        ]
    else:
        choices = [{"div": [{"literal": 12}, key]}]
    picked = draw(st.lists(st.sampled_from(choices), min_size=min(3, len(choices)), max_size=5, unique_by=repr))
    drop = draw(st.booleans())  # the expression projected away: it errors all the same
    maps = [{"mfp": {"input": source, "expressions": [e], "projection": [0] if drop else [0, width]}} for e in picked]
    return maps[0] if len(maps) == 1 else {"union": maps}


def _aggregates(cols: Cols) -> list[Json]:
    aggs: list[Json] = [{"func": "count", "column": 0}]
    if len(cols) > 1:
        kind = cols[1].rstrip("?")
        aggs += [{"func": "min", "column": 1}, {"func": "max", "column": 1}]
        if kind == "int64":
            aggs.append({"func": "sum", "column": 1})
    else:
        aggs.append({"func": "sum", "column": 0})
    return aggs


def _flip_zero(update: Json) -> Json:
    row = [NEG_ZERO if v == 0.0 and isinstance(v, float) else (0.0 if v == NEG_ZERO else v) for v in update["row"]]
    return {**update, "row": row}
