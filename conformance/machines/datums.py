"""Datums for generated rows, literals and peek keys: small domains with the edges mixed in.

Most values come from tiny domains (ints in [-2, 4], two short strings) so that joins match,
reduces group and retractions hit rows that exist. Mixed into every kind are the values that
real replicas get wrong (spec 5.3): null in every nullable column, int64 min and max and
integers a double cannot hold, NaN, -0.0, the infinities and floats whose value is an
integer, the empty string and a long string beyond the Basic Multilingual Plane, and the
booleans beside integers of equal value. Each edge is one `sampled_from` element among a
few ordinary ones, so an example meets several of them without drowning in them.

Values are in the steps' JSON spelling (`conformance.steps.values`): `{"float64": "nan"}`
and `{"float64": "-0.0"}` survive a replay file, where a bare NaN would not.
"""

from __future__ import annotations

import functools
from typing import Any, Final

from hypothesis import strategies as st

Json = Any

I64_MIN: Final = -(1 << 63)
I64_MAX: Final = (1 << 63) - 1
BEYOND_DOUBLE: Final = (1 << 53) + 1  # the first integer a float64 cannot hold

NAN: Final = {"float64": "nan"}
NEG_ZERO: Final = {"float64": "-0.0"}
INF: Final = {"float64": "inf"}
NEG_INF: Final = {"float64": "-inf"}
HUGE_FLOAT: Final = 1e308  # doubling it overflows to inf
LONG_STRING: Final = "\u01c5\U0001f980\u00e9" * 40 + "z"  # 321 UTF-8 bytes, 121 code points, beyond the BMP

# Shard shapes: name -> column types. Column 0 is always a non-null int64 (keys, filters, joins);
# column 1, when there is one, is where the other kinds and their nulls live.
SHAPES: Final[dict[str, list[str]]] = {
    "kv": ["int64", "int64"],
    "ks": ["int64", "string?"],
    "k": ["int64"],
    "kn": ["int64", "int64?"],
    "kf": ["int64", "float64?"],
    "kb": ["int64", "bool?"],
}

# What the machines draw shard shapes from: the float and nullable-int shapes, whose column 1
# holds the most edges (NaN, -0.0, infinities, null, int64 extremes), twice as often.
SHAPE_DRAWS: Final = ("kf", "kf", "kn", "kn", "kb", "ks", "kv", "k")

SMALL_INTS: Final = st.integers(-2, 4)
KEY_INTS: Final = st.one_of(*[st.integers(-1, 3)] * 11, st.sampled_from([I64_MAX, I64_MIN]))  # keys collide
INTS: Final = st.one_of(
    SMALL_INTS,
    SMALL_INTS,
    SMALL_INTS,
    st.sampled_from([I64_MAX, I64_MIN, BEYOND_DOUBLE, -BEYOND_DOUBLE]),
)
FLOATS: Final = st.one_of(
    st.sampled_from([0.0, 1.0, -2.5, 0.5]),
    st.sampled_from([NAN, NEG_ZERO, INF, NEG_INF, HUGE_FLOAT, 2.0]),
)
STRINGS: Final = st.one_of(st.sampled_from(["a", "b"]), st.sampled_from(["a", "b", "", LONG_STRING]))
BOOLS: Final = st.booleans()


@functools.cache
def datum_for(column: str) -> st.SearchStrategy[Json]:
    """A datum of the column's kind (`int64`, `float64?`, ...); null in a nullable column."""
    kind = column.rstrip("?")
    base: st.SearchStrategy[Json]
    if kind == "int64":
        base = KEY_INTS if column == "int64" else INTS
    elif kind == "float64":
        base = FLOATS
    elif kind == "bool":
        base = BOOLS
    else:
        base = STRINGS
    if column.endswith("?"):
        return st.one_of(base, base, st.none())
    return base


@functools.cache
def rows_for(columns: tuple[str, ...]) -> st.SearchStrategy[list[Json]]:
    return st.tuples(*(datum_for(c) for c in columns)).map(list)


def literal_for(kind: str) -> st.SearchStrategy[Json]:
    """A literal of an expression of `kind` (no null: a null literal is drawn on its own)."""
    return datum_for(kind.rstrip("?"))
