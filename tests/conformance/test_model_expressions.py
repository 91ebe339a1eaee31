"""Scalar expressions and MFP against hand-computed values (spec 5.3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from compute_protocol.v1 import common_pb2, plan_pb2

from conformance.model.build import (
    add,
    and_,
    binary,
    col,
    div,
    eq,
    gt,
    is_null,
    lit,
    lt,
    mfp,
    neg,
    not_,
    or_,
)
from conformance.model.contents import Contents
from conformance.model.expressions import (
    INT64_MAX,
    INT64_MIN,
    EvalError,
    IllTyped,
    compile_expr,
    compile_mfp,
)
from conformance.wire.rows import NULL, Datum, datum, row

NAN = float("nan")
INF = float("inf")
ZERO_DIV = div(lit(1), lit(0))                      # errors "division by zero"
OVERFLOW = neg(lit(INT64_MIN))                      # errors "integer out of range"


def ev(expr: plan_pb2.ProtoScalarExpr, values: Sequence[Any] = ()) -> Datum | str:
    """The datum, or the error text the expression yields over row(*values)."""
    r = row(*values)
    try:
        return compile_expr(expr, len(r))(r)
    except EvalError as error:
        return f"error: {error}"


def d(value: Any) -> Datum:
    return row(value)[0]


T, F = d(True), d(False)


# -- column, literal -----------------------------------------------------------------------

def test_column_and_literal() -> None:
    assert ev(col(1), [1, "x"]) == d("x")
    assert ev(lit(b"\x00"), []) == d(b"\x00")
    assert ev(lit(None)) == NULL


def test_column_beyond_the_row_is_ill_typed_at_compile_time() -> None:
    with pytest.raises(IllTyped, match="column 2"):
        compile_expr(col(2), 2)


# -- unary -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [(True, F), (False, T), (None, NULL)])
def test_not(value: Any, expected: Datum) -> None:
    assert ev(not_(col(0)), [value]) == expected


@pytest.mark.parametrize(("value", "expected"), [(None, T), (0, F), (False, F), ("", F), (NAN, F)])
def test_is_null_is_never_null(value: Any, expected: Datum) -> None:
    assert ev(is_null(col(0)), [value]) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, d(-5)),
        (INT64_MAX, d(-INT64_MAX)),
        (INT64_MIN, "error: integer out of range"),
        (1.5, d(-1.5)),
        (0.0, d(0.0)),
        (None, NULL),
    ],
)
def test_neg(value: Any, expected: Datum | str) -> None:
    assert ev(neg(col(0)), [value]) == expected


def test_neg_of_nan_is_the_canonical_nan() -> None:
    out = ev(neg(lit(NAN)))
    assert out == d(NAN)  # equal only because both are the canonical NaN object


def test_neg_of_zero_is_not_negative_zero() -> None:
    out = ev(neg(lit(0.0)))
    assert isinstance(out, tuple)
    assert str(out[1]) == "0.0"


# -- comparisons -----------------------------------------------------------------------------

CMP_CASES = [
    # (a, b, eq, not_eq, lt, lte, gt, gte)
    (1, 2, F, T, T, T, F, F),
    (2, 2, T, F, F, T, F, T),
    (3, -2, F, T, F, F, T, T),
    ("a", "b", F, T, T, T, F, F),
    ("Z", "a", F, T, T, T, F, F),          # code points, not case-insensitive
    ("z", "\u00e9", F, T, T, T, F, F),     # é (U+00E9) sorts after z
    (b"\x01", b"\x01\x00", F, T, T, T, F, F),
    (False, True, F, T, T, T, F, F),
    (NAN, NAN, T, F, F, T, F, T),          # NaN equals NaN
    (NAN, INF, F, T, F, F, T, T),          # NaN above every other float
    (-0.0, 0.0, T, F, F, T, F, T),
    (1.5, 2, None, None, None, None, None, None),  # ill-typed: skipped below
]


@pytest.mark.parametrize("case", [c for c in CMP_CASES if c[2] is not None])
def test_comparisons(case: tuple[Any, ...]) -> None:
    a, b, *expected = case
    for name, want in zip(("eq", "not_eq", "lt", "lte", "gt", "gte"), expected, strict=True):
        assert ev(binary(name, col(0), col(1)), [a, b]) == want, (name, a, b)


@pytest.mark.parametrize("name", ["eq", "not_eq", "lt", "lte", "gt", "gte"])
def test_comparison_with_null_is_null(name: str) -> None:
    assert ev(binary(name, col(0), col(1)), [None, 1]) == NULL
    assert ev(binary(name, col(0), col(1)), [1, None]) == NULL
    assert ev(binary(name, col(0), col(1)), [None, None]) == NULL


def test_comparison_evaluates_both_sides_first_error_wins() -> None:
    assert ev(eq(ZERO_DIV, OVERFLOW)) == "error: division by zero"
    assert ev(eq(OVERFLOW, ZERO_DIV)) == "error: integer out of range"
    # Both sides are evaluated even when one is null: the error beats the null.
    assert ev(eq(lit(None), ZERO_DIV)) == "error: division by zero"


def test_comparison_of_two_kinds_is_ill_typed() -> None:
    with pytest.raises(IllTyped):
        ev(eq(lit(1), lit(True)))
    with pytest.raises(IllTyped):
        ev(lt(lit(1), lit(1.0)))


# -- arithmetic ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "a", "b", "expected"),
    [
        ("add", 2, 3, d(5)),
        ("add", INT64_MAX, 1, "error: integer out of range"),
        ("add", INT64_MIN, -1, "error: integer out of range"),
        ("add", INT64_MAX, INT64_MIN, d(-1)),
        ("sub", 2, 3, d(-1)),
        ("sub", INT64_MIN, 1, "error: integer out of range"),
        ("sub", -1, INT64_MAX, d(INT64_MIN)),
        ("mul", 6, -7, d(-42)),
        ("mul", 1 << 32, 1 << 31, "error: integer out of range"),
        ("mul", -(1 << 32), 1 << 31, d(INT64_MIN)),
        ("div", 7, 2, d(3)),
        ("div", -7, 2, d(-3)),                 # toward zero, not -4
        ("div", 7, -2, d(-3)),
        ("div", -7, -2, d(3)),
        ("div", INT64_MIN, -1, "error: integer out of range"),
        ("div", 5, 0, "error: division by zero"),
        ("div", 0, 0, "error: division by zero"),
        ("add", 0.5, 0.25, d(0.75)),
        ("sub", 0.5, 0.25, d(0.25)),
        ("mul", 1e308, 10.0, d(INF)),          # IEEE overflow is no error
        ("div", 7.0, 2.0, d(3.5)),
        ("div", 1.0, 0.0, "error: division by zero"),
        ("div", 1.0, -0.0, "error: division by zero"),
        ("sub", INF, INF, d(NAN)),
    ],
)
def test_arithmetic(name: str, a: Any, b: Any, expected: Datum | str) -> None:
    assert ev(binary(name, col(0), col(1)), [a, b]) == expected


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_arithmetic_with_null_is_null_even_for_a_zero_divisor(name: str) -> None:
    assert ev(binary(name, col(0), col(1)), [None, 0]) == NULL
    assert ev(binary(name, col(0), col(1)), [0, None]) == NULL
    assert ev(binary(name, col(0), col(1)), [None, 0.0]) == NULL


def test_arithmetic_left_error_before_right_error() -> None:
    assert ev(add(OVERFLOW, ZERO_DIV)) == "error: integer out of range"
    assert ev(add(ZERO_DIV, OVERFLOW)) == "error: division by zero"
    assert ev(div(OVERFLOW, lit(0))) == "error: integer out of range"
    assert ev(add(lit(None), OVERFLOW)) == "error: integer out of range"


def test_arithmetic_on_strings_or_mixed_kinds_is_ill_typed() -> None:
    with pytest.raises(IllTyped):
        ev(add(lit("a"), lit("b")))
    with pytest.raises(IllTyped):
        ev(add(lit(1), lit(1.0)))


# -- AND / OR --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], T),
        ([T, T], T),
        ([T, F], F),
        ([None, F], F),
        ([None, T], NULL),
        ([F, "err"], F),               # short-circuit: the error is never evaluated
        (["err", F], "error: division by zero"),
        ([None, "err"], "error: division by zero"),
        ([T, "err", F], "error: division by zero"),
    ],
)
def test_and(args: list[Any], expected: Datum | str) -> None:
    assert ev(and_(*[_arg(a) for a in args])) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], F),
        ([F, F], F),
        ([F, T], T),
        ([None, T], T),
        ([None, F], NULL),
        ([T, "err"], T),
        (["err", T], "error: division by zero"),
        ([None, "err", T], "error: division by zero"),
    ],
)
def test_or(args: list[Any], expected: Datum | str) -> None:
    assert ev(or_(*[_arg(a) for a in args])) == expected


def _arg(a: Any) -> plan_pb2.ProtoScalarExpr:
    if a == "err":
        return ZERO_DIV
    if a is None:
        return lit(None)
    return plan_pb2.ProtoScalarExpr(literal=common_pb2.ProtoDatum(bool=a[1]))


def test_and_of_a_non_bool_is_ill_typed() -> None:
    with pytest.raises(IllTyped):
        ev(and_(lit(True), lit(1)))


def test_unset_expression_is_ill_typed() -> None:
    with pytest.raises(IllTyped):
        compile_expr(plan_pb2.ProtoScalarExpr(), 0)


# -- MFP -------------------------------------------------------------------------------------

def apply(m: plan_pb2.ProtoMapFilterProject, rows: dict[tuple[Any, ...], int],
          errors: dict[str, int] | None = None) -> Contents:
    contents = Contents({row(*r): n for r, n in rows.items()}, dict(errors or {}))
    return compile_mfp(m).apply_to(contents)


def test_mfp_maps_in_order_with_later_expressions_reading_earlier_ones() -> None:
    m = mfp(1, expressions=[add(col(0), lit(1)), add(col(1), lit(10))])
    assert apply(m, {(1,): 2}).rows == {row(1, 2, 12): 2}


def test_mfp_filters_on_true_only() -> None:
    m = mfp(1, predicates=[gt(col(0), lit(1))])
    out = apply(m, {(0,): 1, (2,): 1, (None,): 1})   # 0 > 1 false, 2 > 1 true, null > 1 null
    assert out.rows == {row(2): 1}


def test_mfp_projects_and_consolidates() -> None:
    m = mfp(2, projection=[0])
    assert apply(m, {(1, "a"): 1, (1, "b"): 2, (2, "c"): -1}).rows == {row(1): 3, row(2): -1}
    assert apply(m, {(1, "a"): 1, (1, "b"): -1}).rows == {}


def test_mfp_expression_error_replaces_the_row_with_its_multiplicity() -> None:
    m = mfp(1, expressions=[div(lit(10), col(0))])
    out = apply(m, {(0,): 3, (5,): 1})
    assert out.rows == {row(5, 2): 1}
    assert out.errors == {"division by zero": 3}


def test_mfp_expression_error_wins_even_when_a_predicate_would_drop_the_row() -> None:
    # Map comes before filter: the expression is evaluated before any predicate.
    m = mfp(1, expressions=[div(lit(10), col(0))], predicates=[lit(False)])
    assert apply(m, {(0,): 1}).errors == {"division by zero": 1}


def test_mfp_predicate_after_a_dropping_predicate_is_not_reached() -> None:
    m = mfp(1, predicates=[gt(col(0), lit(1)), eq(div(lit(1), col(0)), lit(1))])
    out = apply(m, {(0,): 1})            # dropped by the first predicate: no error
    assert out.rows == {} and out.errors == {}
    m2 = mfp(1, predicates=[is_null(col(0)), eq(div(lit(1), col(0)), lit(1))])
    assert apply(m2, {(0,): 1}).errors == {}
    m3 = mfp(1, predicates=[not_(is_null(col(0))), eq(div(lit(1), col(0)), lit(1))])
    assert apply(m3, {(0,): 1}).errors == {"division by zero": 1}


def test_mfp_null_predicate_drops_the_row_before_later_predicates() -> None:
    m = mfp(1, predicates=[lt(col(0), lit(5)), eq(div(lit(1), lit(0)), lit(1))])
    assert apply(m, {(None,): 1}).errors == {}


def test_mfp_errors_carry_negative_multiplicities_and_sum() -> None:
    m = mfp(1, expressions=[div(lit(1), col(0))])
    out = apply(m, {(0,): -2}, errors={"division by zero": 2, "other": 1})
    assert out.errors == {"other": 1}    # -2 + 2 cancels
    out = apply(m, {(0,): -2})
    assert out.errors == {"division by zero": -2}


def test_mfp_passes_input_errors_through() -> None:
    out = apply(mfp(1, predicates=[lit(False)]), {(1,): 1}, errors={"boom": 2})
    assert out.rows == {} and out.errors == {"boom": 2}


def test_mfp_identity() -> None:
    m = compile_mfp(mfp(2))
    assert m.is_identity()
    assert not compile_mfp(mfp(2, projection=[1, 0])).is_identity()
    assert compile_mfp(mfp(2, projection=[1, 0])).apply(row(1, 2)) == row(2, 1)


def test_mfp_compile_rejects_forward_references() -> None:
    with pytest.raises(IllTyped):
        compile_mfp(mfp(1, expressions=[col(1)]))          # expression 0 may read column 0 only
    compile_mfp(mfp(1, expressions=[col(0), col(1)]))      # expression 1 may read column 1
    with pytest.raises(IllTyped):
        compile_mfp(mfp(1, predicates=[col(1)]))
    with pytest.raises(IllTyped):
        compile_mfp(mfp(1, projection=[1]))


def test_mfp_rejects_rows_of_another_arity() -> None:
    with pytest.raises(IllTyped):
        compile_mfp(mfp(2, predicates=[lit(True)])).apply(row(1))


def test_mfp_floats_are_normalised() -> None:
    m = mfp(1, expressions=[binary("mul", col(0), lit(-1.0))], projection=[1])
    [(out,)] = apply(m, {(0.0,): 1}).rows
    assert out == datum("float64", 0.0) and str(out[1]) == "0.0"   # not -0.0
