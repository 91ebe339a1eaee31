"""Hypothesis strategies for the pieces of steps: rows, plans, peek shapes, configurations.

Values come from tiny domains on purpose (ints in [-2, 4], two strings and null): joins
match, reduces group, retractions hit rows that exist, and counterexamples stay readable.
Plans are built from templates that are well typed by construction over the shard shapes
below; `safe` plans can never hold errors (DF-1 for materialized views and copy-tos).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

from conformance.session.capabilities import Capabilities

Json = Any

# Shard shapes: name -> column types. Column 0 is always a non-null int64 (keys, filters, joins).
SHAPES: Final[dict[str, list[str]]] = {
    "kv": ["int64", "int64"],
    "ks": ["int64", "string?"],
    "k": ["int64"],
}
INTS: Final = st.integers(-2, 4)
STRINGS: Final = st.sampled_from(["a", "b", None])
HUGE_LIMIT: Final = (1 << 63) - 1  # B15: a LIMIT this large once crashed replicas
MAX_RESULT_SIZES: Final = (1, 1 << 40)  # spec 1.5: only the extremes are tested (1 << 40: NO_LIMIT)


def datum_for(column: str) -> st.SearchStrategy[Json]:
    kind = column.rstrip("?")
    base: st.SearchStrategy[Json] = INTS if kind == "int64" else STRINGS
    return base


def rows_for(columns: list[str]) -> st.SearchStrategy[list[Json]]:
    return _rows_for(tuple(columns))


# The strategy factories below are cached: the same definition draws exactly the same values,
# and Hypothesis validates a strategy object on its first draw, which for these costs more than
# the draw itself (a new object per step made strategy validation the machines' largest cost).
@functools.lru_cache(maxsize=64)
def _rows_for(columns: tuple[str, ...]) -> st.SearchStrategy[list[Json]]:
    return st.tuples(*(datum_for(c) for c in columns)).map(list)


@dataclass(frozen=True)
class Source:
    """Something a plan can `get`: a shard or an imported index, with its column types."""

    name: str
    columns: tuple[str, ...]


def _get(s: Source) -> Json:
    return {"get": s.name}


@st.composite
def plans(draw: st.DrawFn, inputs: list[Source], caps: Capabilities, safe: bool) -> Json:
    """A well-typed plan over `inputs` using only operators the replica supports."""
    ops = caps.plan_operators
    templates = ["get"]
    for name, needs in _TEMPLATE_OPS.items():
        if needs <= ops and (not safe or name not in _FALLIBLE):
            templates.append(name)
    template = draw(st.sampled_from(templates))
    a = draw(st.sampled_from(inputs))
    same_shape = [s for s in inputs if s.columns == a.columns]
    b = draw(st.sampled_from(same_shape))
    if template == "get":
        return _get(a)
    if template == "filter":
        op = draw(st.sampled_from(["gt", "lte", "eq", "not_eq"]))
        pred: Json = {op: [{"column": 0}, {"literal": draw(INTS)}]}
        if len(a.columns) > 1 and a.columns[1] == "string?" and draw(st.booleans()):
            pred = {"or": [pred, {"is_null": {"column": 1}}]}
        projection = draw(st.sampled_from([list(range(len(a.columns))), [0]]))
        return {"mfp": {"input": _get(a), "predicates": [pred], "projection": projection}}
    if template == "arith":
        # int64 arithmetic can divide by zero: errors flow into the collection (PEEK-10, SUB-7).
        op = draw(st.sampled_from(["add", "mul", "div", "sub"]))
        expr = {op: [{"column": 0}, {"literal": draw(INTS)}]}
        return {"mfp": {"input": _get(a), "expressions": [expr], "projection": [0, len(a.columns)]}}
    if template == "union":
        return {"union": [_get(a), _get(b)]}
    if template == "negate":
        return {"union": [_get(a), {"negate": _get(b)}]}
    if template == "threshold":
        return {"threshold": {"union": [_get(a), {"negate": _get(b)}]}}
    if template == "join":
        c = draw(st.sampled_from(inputs))
        return {"join": {"left": _get(a), "right": _get(c), "keys": [[0, 0]]}}
    if template == "reduce":
        aggs = [
            {"func": "count", "column": 0},
            {"func": draw(st.sampled_from(["min", "max", "sum"])), "column": 0},
        ]
        if len(a.columns) > 1 and a.columns[1] != "int64":
            aggs.append({"func": "max", "column": 1})
        return {"reduce": {"input": _get(a), "group_key": [0], "aggregates": aggs}}
    # constant: a fixed collection in the shape of `a`, sometimes with an error (spec 5.3)
    updates = [
        {
            "row": draw(rows_for(list(a.columns))),
            "time": draw(st.integers(0, 3)),
            "diff": draw(st.integers(1, 2)),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    if not safe and draw(st.booleans()):
        updates.append({"error": "boom", "time": draw(st.integers(0, 3)), "diff": 1})
    const = {"constant": {"columns": list(a.columns), "updates": updates}}
    return {"union": [_get(a), const]} if "union" in ops else const


_TEMPLATE_OPS: Final[dict[str, frozenset[str]]] = {
    "filter": frozenset({"mfp"}),
    "arith": frozenset({"mfp"}),
    "union": frozenset({"union"}),
    "negate": frozenset({"union", "negate"}),
    "threshold": frozenset({"union", "negate", "threshold"}),
    "join": frozenset({"join"}),
    "reduce": frozenset({"reduce"}),
    "constant": frozenset({"constant"}),
}
_FALLIBLE: Final = frozenset({"arith", "reduce", "constant"})


def peek_mfps(columns: list[str]) -> st.SearchStrategy[Json]:
    """The MFP of a peek: identity, a filter on column 0, a projection, or a division that errors
    on rows where it divides by zero (an MFP error on a matching row: PEEK-10)."""
    return _peek_mfps(len(columns))


@functools.lru_cache(maxsize=16)
def _peek_mfps(width: int) -> st.SearchStrategy[Json]:
    return st.one_of(
        st.just({}),
        INTS.map(lambda v: {"predicates": [{"gte": [{"column": 0}, {"literal": v}]}]}),
        st.just({"projection": [0]}) if width > 1 else st.just({}),
        st.just({"expressions": [{"div": [{"literal": 12}, {"column": 0}]}], "projection": [0, width]}),
    )


@functools.lru_cache(maxsize=1)
def finishings() -> st.SearchStrategy[Json]:
    """Advisory finishing (spec 8.1): order by column 0, sometimes a limit (tiny or huge), an offset."""
    return st.one_of(
        st.just({}),
        st.builds(
            lambda desc, nulls_last, limit, offset: {
                "order_by": [{"column": 0, "desc": desc, "nulls_last": nulls_last}],
                "limit": limit,
                "offset": offset,
            },
            st.booleans(),
            st.booleans(),
            st.one_of(st.none(), st.integers(0, 3), st.just(HUGE_LIMIT)),
            st.integers(0, 2),
        ),
    )
