"""Well-typed scalar expressions, predicates and MFPs that walk into the plan language's edges.

Random expression trees over a handful of columns rarely meet an edge, so besides plain
comparisons and arithmetic the generators draw, at even odds, one of the shapes in which
replicas go wrong (spec 5.3): an `AND`/`OR` whose later argument divides by a column that is
zero exactly when an earlier argument decides (the skipped branch must not error); a null
operand beside an erroring one (the error wins); a division by a column that can be zero;
int64 arithmetic with min/max (out of range), NEG of a column that may hold min, a division
with a negative, inexact quotient (truncation toward zero); float arithmetic that reaches
infinity and float division by a column that can be 0.0 or -0.0; comparisons with NaN and
with null (also null against null); and an erroring expression that the projection drops.

`fallible` expressions (arithmetic, NEG) are drawn only where the collection may hold errors:
a materialized view or copy-to reads only collections that never do (DF-1).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

from hypothesis import strategies as st

from conformance.machines.datums import HUGE_FLOAT, I64_MAX, I64_MIN, NAN, literal_for

Json = Any

Cols = tuple[str, ...]  # column types, spelled; a tuple so that strategies can be cached by them

COMPARISONS: Final = ("eq", "not_eq", "lt", "lte", "gt", "gte")
ARITHMETIC: Final = ("add", "sub", "mul", "div")


@dataclass(frozen=True)
class Typed:
    """An expression with its kind (`int64`, `float64`, `bool`, `string`, or `null` for a bare
    null literal), whether it may be null, and whether it may error."""

    json: Json
    kind: str
    nullable: bool
    fallible: bool

    def spelled(self) -> str:
        kind = "string" if self.kind == "null" else self.kind
        return kind + ("?" if self.nullable else "")


def _kind(column: str) -> str:
    return column.rstrip("?")


def _columns(cols: Cols, kind: str) -> list[int]:
    return [i for i, c in enumerate(cols) if _kind(c) == kind]


def _col(cols: Cols, i: int) -> Typed:
    return Typed({"column": i}, _kind(cols[i]), cols[i].endswith("?"), False)


def _call(op: str, *args: Typed, kind: str | None = None, fallible: bool = False) -> Typed:
    """A binary or variadic call; the result kind defaults to the first argument's."""
    nullable = any(a.nullable for a in args)
    out_kind = kind or next((a.kind for a in args if a.kind != "null"), "null")
    spelled = [a.json for a in args]
    json = {op: spelled}
    return Typed(json, out_kind, nullable, fallible or any(a.fallible for a in args))


@functools.cache
@st.composite
def operand(draw: st.DrawFn, cols: Cols, kind: str) -> Typed:
    """A column of `kind` or a literal of it."""
    choices = _columns(cols, kind)
    if bool(choices) and draw(st.booleans()):
        return _col(cols, draw(st.sampled_from(choices)))
    return Typed({"literal": draw(literal_for(kind))}, kind, False, False)


@functools.cache
@st.composite
def comparison(draw: st.DrawFn, cols: Cols) -> Typed:
    """A comparison of a column with a literal, another column, or a null literal."""
    i = draw(st.integers(0, len(cols) - 1))
    left = _col(cols, i)
    pick = draw(st.integers(0, 5))
    if pick == 0:
        right = Typed({"literal": None}, "null", True, False)  # null: the comparison is null
    elif pick == 1 and left.kind == "float64":
        right = Typed({"literal": NAN}, "float64", False, False)  # NaN equals NaN, above every float
    else:
        right = draw(operand(cols, left.kind))
    op = draw(st.sampled_from(COMPARISONS))
    return _call(op, left, right, kind="bool")


@functools.cache
@st.composite
def arithmetic(draw: st.DrawFn, cols: Cols, kind: str) -> Typed:
    """int64 or float64 arithmetic with an edge operand at even odds."""
    left = draw(operand(cols, kind))
    op = draw(st.sampled_from(ARITHMETIC))
    if draw(st.booleans()):
        right = draw(operand(cols, kind))
    elif kind == "int64":
        right = Typed({"literal": draw(st.sampled_from([I64_MAX, I64_MIN, -2, 3]))}, kind, False, False)
    else:
        right = Typed({"literal": draw(st.sampled_from([HUGE_FLOAT, -HUGE_FLOAT, 0.0]))}, kind, False, False)
    if draw(st.integers(0, 3)) == 0:
        left, right = right, left
    return _call(op, left, right, fallible=True)


def key_column(cols: Cols) -> int | None:
    """The first non-null int64 column (column 0 of every shard shape), if any."""
    return next((i for i, c in enumerate(cols) if c == "int64"), None)


def zero_divisor(cols: Cols, key: int) -> Typed:
    """12 / key: an error exactly on the rows whose key is 0."""
    return _call("div", Typed({"literal": 12}, "int64", False, False), _col(cols, key), fallible=True)


@functools.cache
@st.composite
def edge_predicate(draw: st.DrawFn, cols: Cols, fallible: bool) -> Typed:
    """One of the shapes in which evaluation order and three-valued logic matter."""
    shapes = ["null_compare", "nan_compare", "is_null", "not"]
    k = key_column(cols)
    if fallible and k is not None:
        shapes += ["guarded_and", "guarded_or", "null_beside_error", "division", "overflow", "neg"]
    shape = draw(st.sampled_from(shapes))
    zero = Typed({"literal": 0}, "int64", False, False)
    if k is not None and shape in ("guarded_and", "guarded_or"):
        # x <> 0 AND 12 / x > 1, x = 0 OR 12 / x > 1: the division is skipped where it would fail
        risky = _call("gt", zero_divisor(cols, k), Typed({"literal": 1}, "int64", False, False), kind="bool")
        if shape == "guarded_and":
            return _call("and", _call("not_eq", _col(cols, k), zero, kind="bool"), risky, kind="bool")
        return _call("or", _call("eq", _col(cols, k), zero, kind="bool"), risky, kind="bool")
    nullable_ints = [i for i in _columns(cols, "int64") if cols[i].endswith("?")]
    if k is not None and shape == "null_beside_error":  # null = 12 / 0 is the error, not null
        left = _col(cols, nullable_ints[0]) if nullable_ints else Typed({"literal": None}, "null", True, False)
        return _call(draw(st.sampled_from(COMPARISONS)), left, zero_divisor(cols, k), kind="bool")
    if k is not None and shape in ("division", "overflow"):
        kind = draw(st.sampled_from(["int64", "float64"])) if _columns(cols, "float64") else "int64"
        value = zero_divisor(cols, k) if shape == "division" and kind == "int64" else draw(arithmetic(cols, kind))
        return _call(draw(st.sampled_from(COMPARISONS)), value, draw(operand(cols, kind)), kind="bool")
    if k is not None and shape == "neg":
        i = draw(st.sampled_from(_columns(cols, "int64")))
        negated = Typed({"neg": _col(cols, i).json}, "int64", cols[i].endswith("?"), True)
        return _call(draw(st.sampled_from(COMPARISONS)), negated, draw(operand(cols, "int64")), kind="bool")
    if shape == "nan_compare" and _columns(cols, "float64"):
        i = draw(st.sampled_from(_columns(cols, "float64")))
        other = Typed({"literal": draw(st.sampled_from([NAN, 1.0, 0.0]))}, "float64", False, False)
        return _call(draw(st.sampled_from(COMPARISONS)), _col(cols, i), other, kind="bool")
    nullable = [i for i, c in enumerate(cols) if c.endswith("?")]
    if shape == "is_null" and nullable:
        inner = Typed({"is_null": _col(cols, draw(st.sampled_from(nullable))).json}, "bool", False, False)
        return Typed({"not": inner.json}, "bool", False, False) if draw(st.booleans()) else inner
    if shape == "not":
        inner = draw(comparison(cols))
        return Typed({"not": inner.json}, "bool", inner.nullable, inner.fallible)
    if nullable:  # null_compare: a nullable column against null, a literal or itself
        i = draw(st.sampled_from(nullable))
        right = draw(st.sampled_from([Typed({"literal": None}, "null", True, False), _col(cols, i)]))
        return _call(draw(st.sampled_from(COMPARISONS)), _col(cols, i), right, kind="bool")
    return draw(comparison(cols))


@functools.cache
@st.composite
def predicate(draw: st.DrawFn, cols: Cols, fallible: bool) -> Typed:
    if draw(st.booleans()):
        return draw(edge_predicate(cols, fallible))
    first = draw(comparison(cols))
    if draw(st.integers(0, 2)) == 0:
        return _call(draw(st.sampled_from(["and", "or"])), first, draw(comparison(cols)), kind="bool")
    return first


@functools.cache
@st.composite
def mapped(draw: st.DrawFn, cols: Cols, fallible: bool) -> Typed:
    """An expression to append: arithmetic (when errors are allowed), a comparison, IS NULL."""
    kinds = [k for k in ("int64", "float64") if _columns(cols, k)]
    if fallible and kinds and draw(st.integers(0, 2)) > 0:
        return draw(arithmetic(cols, draw(st.sampled_from(kinds))))
    return draw(predicate(cols, fallible))


@functools.cache
@st.composite
def mfps(draw: st.DrawFn, cols: Cols, fallible: bool, keep_key: bool) -> Json:
    """An MFP over columns `cols`: expressions, predicates, and a projection that may drop an
    expression that errors (its error still counts), or keep a few columns in any order.
    `keep_key`: column 0 stays column 0 (plans build on it: keys, filters, joins)."""
    out: dict[str, Json] = {}
    work = cols
    expressions = []
    for _ in range(draw(st.integers(0, 2))):
        e = draw(mapped(work, fallible))
        expressions.append(e.json)
        work = (*work, e.spelled())
    if expressions:
        out["expressions"] = expressions
    predicates = []
    n_predicates = draw(st.integers(0, 2)) if expressions else draw(st.integers(1, 2))
    k = key_column(work)
    if fallible and k is not None and n_predicates == 2 and draw(st.booleans()):
        # A false predicate before an erroring one: the second is never reached on those rows.
        guard = _call("not_eq", _col(work, k), Typed({"literal": 0}, "int64", False, False), kind="bool")
        risky = _call("gt", zero_divisor(work, k), Typed({"literal": 1}, "int64", False, False), kind="bool")
        predicates = [guard.json, risky.json]
    else:
        predicates = [draw(predicate(work, fallible)).json for _ in range(n_predicates)]
    if predicates:
        out["predicates"] = predicates
    width = len(work)
    if draw(st.booleans()):
        keep = draw(st.lists(st.integers(0, width - 1), min_size=1, max_size=3, unique=True))
        out["projection"] = [0, *(c for c in keep if c != 0)] if keep_key else keep
    elif expressions:
        out["projection"] = list(range(len(cols)))  # every input column, no expression: errors still count
    return out
