"""Hypothesis strategies for the pieces of steps: plans, peek shapes, configurations.

Plans are drawn over the shard shapes of `datums`, one operator over at most one level of
sub-plans, and well typed by construction (the catalog re-checks them: DF-1). Every
operator gets the inputs that make it interesting: a reduce with no key (a global
aggregate, over inputs that are empty or emptied), keys that hold null or NaN, inputs with
negative multiplicities (a negated input); joins on nullable keys; negate and threshold
over collections holding errors; MFPs from `expressions`. `safe` plans can never hold
errors (DF-1 for materialized views and copy-tos), so they use no arithmetic, no reduce and
no erroring constant.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

from conformance.machines.datums import SHAPES, datum_for, rows_for
from conformance.machines.edge_shapes import edge_plan, shapes_for
from conformance.machines.expressions import mfps
from conformance.session.capabilities import Capabilities
from conformance.steps.plans import ColType, Input, build_plan

Json = Any

HUGE_LIMIT: Final = (1 << 63) - 1  # B15: a LIMIT this large once crashed replicas
MAX_RESULT_SIZES: Final = (1, 1 << 40)  # spec 1.5: only the extremes are tested (1 << 40: NO_LIMIT)


@dataclass(frozen=True)
class Source:
    """Something a plan can `get`: a shard or an imported index, with its column types."""

    name: str
    columns: tuple[str, ...]
    may_error: bool = False


def _get(s: Source) -> Json:
    return {"get": s.name}


def columns_of(plan: Json, inputs: tuple[Source, ...]) -> tuple[tuple[str, ...], bool]:
    """The plan's column types (spelled) and whether it may hold errors, as the catalog infers them."""
    scope = {s.name: Input("u0", [ColType.parse(c, s.name) for c in s.columns], s.may_error) for s in inputs}
    built = build_plan(plan, lambda name, _: scope[name], "plan")
    return tuple(c.spelled() for c in built.columns), built.may_error


_TEMPLATE_OPS: Final[dict[str, frozenset[str]]] = {
    "filter": frozenset({"mfp"}),
    "map": frozenset({"mfp"}),
    "union": frozenset({"union"}),
    "negate": frozenset({"union", "negate"}),
    "threshold": frozenset({"union", "negate", "threshold"}),
    "join": frozenset({"join"}),
    "reduce": frozenset({"reduce"}),
    "constant": frozenset({"constant"}),
}
_WEIGHTS: Final = {"reduce": 4, "map": 3, "filter": 2, "threshold": 2, "join": 2, "negate": 2}
_FALLIBLE: Final = frozenset({"map", "reduce"})  # always may hold errors (arithmetic; reduce, DF-1)
_NESTING: Final = ("filter", "map", "union", "negate", "join", "constant")  # what may feed another operator


def _templates(caps: Capabilities, safe: bool, allowed: tuple[str, ...] | None = None) -> list[str]:
    out = ["get"]
    for name, needs in _TEMPLATE_OPS.items():
        fits = needs <= caps.plan_operators and (not safe or name not in _FALLIBLE)
        if fits and (allowed is None or name in allowed):
            out.append(name)
    return out


@functools.cache
@st.composite
def plans(draw: st.DrawFn, inputs: tuple[Source, ...], caps: Capabilities, safe: bool, edge: bool = False) -> Json:
    """A well-typed plan over `inputs` using only operators the replica supports; with `edge`,
    one of the edge shapes whenever the replica supports one."""
    templates = _templates(caps, safe)
    # The operators with the most edges come up more often; a bare get least. Half the time,
    # a plan built around one edge (`edge_shapes`).
    keyed = [s for s in inputs if s.columns[0] == "int64"]
    shapes = shapes_for(caps.plan_operators, safe)
    if keyed and shapes and (edge or draw(st.booleans(), label="edge shape")):
        a = draw(st.sampled_from(keyed))
        own = [c for c in shapes if a.columns == ("int64", c[1])]  # computed with the shard's rows
        combo = draw(st.sampled_from(own if bool(own) and draw(st.booleans()) else shapes))
        return draw(edge_plan(combo, a.name, a.columns))
    weighted = [t for t in templates for _ in range(_WEIGHTS.get(t, 1))]
    template = draw(st.sampled_from(weighted), label="template")
    nested = len(_templates(caps, safe, _NESTING)) > 1 and draw(st.integers(0, 2)) == 0
    return draw(_operator(template, inputs, caps, safe, nested))


@functools.cache
@st.composite
def _operator(
    draw: st.DrawFn, template: str, inputs: tuple[Source, ...], caps: Capabilities, safe: bool, nested: bool
) -> Json:
    if template == "get":
        return _get(draw(st.sampled_from(inputs)))
    # The one input an operator transforms: a shard or index, or a sub-plan over one.
    a = draw(st.sampled_from(inputs))
    a_plan: Json = _get(a)
    a_cols = a.columns
    fallible = not safe
    if nested and template != "constant":
        sub_template = draw(st.sampled_from(_templates(caps, safe, _NESTING)))
        a_plan = draw(_operator(sub_template, inputs, caps, safe, nested=False))
        a_cols, _ = columns_of(a_plan, inputs)
    same_shape = [s for s in inputs if s.columns == a_cols]
    if template in ("negate", "threshold") and fallible and "constant" in caps.plan_operators and draw(st.booleans()):
        # Errors pass through negate and threshold unchanged (spec 5.3): give them some.
        boom = {"error": "boom", "time": draw(st.integers(0, 3)), "diff": 1}
        a_plan = {"union": [a_plan, {"constant": {"columns": list(a_cols), "updates": [boom]}}]}
    if template in ("filter", "map"):
        mfp = draw(mfps(a_cols, fallible=fallible, keep_key=True))
        if template == "filter" and not mfp.get("predicates"):
            mfp.pop("expressions", None)
            mfp["predicates"] = [{"gt": [{"column": 0}, {"literal": 0}]}]
            mfp.pop("projection", None)
        return {"mfp": {"input": a_plan, **mfp}}
    if template == "union":
        other = _get(draw(st.sampled_from(same_shape))) if same_shape else a_plan
        return {"union": [a_plan, other]}
    if template == "negate":
        if same_shape and draw(st.integers(0, 3)) > 0:
            return {"union": [_get(draw(st.sampled_from(same_shape))), {"negate": a_plan}]}
        return {"negate": a_plan}
    if template == "threshold":
        b = _get(draw(st.sampled_from(same_shape))) if same_shape else a_plan
        inner = {"union": [a_plan, {"negate": b}]} if draw(st.integers(0, 3)) > 0 else {"union": [b, a_plan]}
        return {"threshold": inner}
    if template == "join":
        c = draw(st.sampled_from(inputs))
        keys = [[0, 0]]
        joinable = [
            [i, j]
            for i, x in enumerate(a_cols)
            for j, y in enumerate(c.columns)
            if x.endswith("?") and x.rstrip("?") == y.rstrip("?")
        ]
        pick = draw(st.integers(0, 5))
        if joinable and pick < 3:
            keys = [draw(st.sampled_from(joinable))]  # a nullable key: null never matches
        elif pick == 3:
            keys = []  # a cross join
        return {"join": {"left": a_plan, "right": _get(c), "keys": keys}}
    if template == "reduce":
        group_key, aggs, negated = draw(_reduce(a_cols, inputs, caps))
        if negated is not None:
            a_plan = {"union": [a_plan, {"negate": _get(negated)}]}
        return {"reduce": {"input": a_plan, "group_key": group_key, "aggregates": aggs}}
    # constant: a fixed collection in the shape of `a`, sometimes with an error (spec 5.3)
    updates: list[dict[str, Any]] = [
        {
            "row": draw(rows_for(a.columns)),
            "time": draw(st.integers(0, 3)),
            "diff": draw(st.sampled_from([1, 1, 2, -1])),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    if not safe and draw(st.booleans()):
        updates.append({"error": "boom", "time": draw(st.integers(0, 3)), "diff": 1})
    if safe:
        updates = [u for u in updates if u["diff"] > 0]
    const = {"constant": {"columns": list(a.columns), "updates": updates}}
    return {"union": [_get(a), const]} if "union" in caps.plan_operators else const


@functools.cache
@st.composite
def _reduce(
    draw: st.DrawFn, cols: tuple[str, ...], inputs: tuple[Source, ...], caps: Capabilities
) -> tuple[list[int], list[Json], Source | None]:
    """Group by nothing (a global aggregate: no row for an empty input), by the key, or by a
    column that holds nulls or NaN; aggregate every kind of column; sometimes over an input
    with negative multiplicities (the input minus a same-shaped one)."""
    width = len(cols)
    group_key = draw(st.sampled_from([[], [0], [0], *([[1], [0, 1]] if width > 1 else [])]))
    aggs: list[Json] = [{"func": "count", "column": 0}]
    for c in range(width):
        kind = cols[c].rstrip("?")
        funcs = ["min", "max", "sum"] if kind == "int64" else ["min", "max"]
        if draw(st.booleans()) or c == width - 1:
            aggs.append({"func": draw(st.sampled_from(funcs)), "column": c})
    negated = None
    if {"negate", "union"} <= caps.plan_operators and draw(st.integers(0, 3)) == 0:
        same_shape = [s for s in inputs if s.columns == cols]
        if same_shape:
            negated = draw(st.sampled_from(same_shape))
    return group_key, aggs, negated


@functools.cache
def peek_mfps(columns: tuple[str, ...]) -> st.SearchStrategy[Json]:
    """The MFP of a peek: identity, or one from `expressions` (which may error on a matching
    row: PEEK-10)."""
    return st.one_of(st.just({}), mfps(columns, fallible=True, keep_key=False))


@functools.cache
def peek_keys(columns: tuple[str, ...], key_columns: tuple[int, ...]) -> st.SearchStrategy[list[list[Json]]]:
    """Literal constraints: one to three literal rows over the key columns, sometimes the same
    literal twice (it counts once, spec 8.1)."""
    literal = st.tuples(*(datum_for(columns[k]) for k in key_columns)).map(list)

    def repeat(rows: list[list[Json]]) -> st.SearchStrategy[list[list[Json]]]:
        return st.sampled_from([rows, [*rows, rows[0]]])

    return st.lists(literal, min_size=1, max_size=3).flatmap(repeat)


@functools.cache
def thinning(width: int) -> st.SearchStrategy[Json]:
    """A finishing that lets the replica thin: ordered (by column 1, where the edge rows keep
    their nulls and NaNs, when there is one), every direction and null placement, and an
    offset + limit of 1 to 3."""
    order = st.builds(
        lambda desc, nulls_last: {"column": min(1, width - 1), "desc": desc, "nulls_last": nulls_last},
        st.booleans(),
        st.booleans(),
    )
    return st.builds(
        lambda o, limit, offset: {"order_by": [o], "limit": limit, "offset": offset},
        order,
        st.integers(1, 2),
        st.integers(0, 1),
    )


@functools.cache
def finishings(width: int = 1) -> st.SearchStrategy[Json]:
    """Advisory finishing (spec 8.1): order by one or two columns, each way and with nulls first
    or last, sometimes a limit (tiny, so that it thins, or huge) and an offset."""
    # Column 1, where the shapes keep their nulls and NaNs, half the time.
    column = st.one_of(st.just(min(1, width - 1)), st.integers(0, max(0, width - 1)))
    order = st.builds(
        lambda column, desc, nulls_last: {"column": column, "desc": desc, "nulls_last": nulls_last},
        column,
        st.booleans(),
        st.booleans(),
    )
    ordered = st.builds(
        lambda order_by, limit, offset: {"order_by": order_by, "limit": limit, "offset": offset},
        st.lists(order, min_size=1, max_size=2),
        st.one_of(st.none(), st.integers(0, 3), st.integers(1, 3), st.integers(1, 2), st.just(HUGE_LIMIT)),
        st.integers(0, 2),
    )
    return st.one_of(st.just({}), ordered, ordered, ordered)


__all__ = [
    "HUGE_LIMIT",
    "MAX_RESULT_SIZES",
    "SHAPES",
    "Source",
    "finishings",
    "peek_keys",
    "peek_mfps",
    "plans",
    "thinning",
]
