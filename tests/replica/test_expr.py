"""Scalar expressions and MFPs against spec 5.3, hand-computed."""

from __future__ import annotations

import math

import pytest
from compute_protocol.v1 import plan_pb2 as pb

from reference_replica.expr import DIVISION_BY_ZERO, OUT_OF_RANGE, EvalError, compile_expr
from reference_replica.mfp import Mfp
from tests.replica.plans import binary, col, lit, mfp, unary, variadic

I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1


def ev(e: pb.ProtoScalarExpr, row: tuple[object, ...] = ()) -> object:
    return compile_expr(e)(row)  # type: ignore[arg-type]


def err(e: pb.ProtoScalarExpr, row: tuple[object, ...] = ()) -> str:
    with pytest.raises(EvalError) as info:
        ev(e, row)
    return info.value.message


def test_columns_and_literals_keep_their_kind() -> None:
    assert ev(col(1), (1, "x")) == "x"
    assert ev(lit(True)) is True
    assert type(ev(lit(1))) is int
    assert type(ev(lit(1.0))) is float


def test_not_is_null_neg() -> None:
    assert ev(unary(pb.PROTO_UNARY_FUNC_NOT, lit(True))) is False
    assert ev(unary(pb.PROTO_UNARY_FUNC_NOT, lit(None))) is None
    assert ev(unary(pb.PROTO_UNARY_FUNC_IS_NULL, lit(None))) is True
    assert ev(unary(pb.PROTO_UNARY_FUNC_IS_NULL, lit(0))) is False
    assert ev(unary(pb.PROTO_UNARY_FUNC_NEG, lit(5))) == -5
    assert ev(unary(pb.PROTO_UNARY_FUNC_NEG, lit(None))) is None
    assert err(unary(pb.PROTO_UNARY_FUNC_NEG, lit(I64_MIN))) == OUT_OF_RANGE
    neg_zero = ev(unary(pb.PROTO_UNARY_FUNC_NEG, lit(0.0)))
    assert isinstance(neg_zero, float)
    assert neg_zero == 0.0 and math.copysign(1.0, neg_zero) == 1.0


@pytest.mark.parametrize(
    ("func", "a", "b", "expected"),
    [
        (pb.PROTO_BINARY_FUNC_EQ, 1, 1, True),
        (pb.PROTO_BINARY_FUNC_NOT_EQ, 1, 2, True),
        (pb.PROTO_BINARY_FUNC_LT, "a", "b", True),
        (pb.PROTO_BINARY_FUNC_LTE, 2, 2, True),
        (pb.PROTO_BINARY_FUNC_GT, False, True, False),
        (pb.PROTO_BINARY_FUNC_GTE, b"b", b"a", True),
        (pb.PROTO_BINARY_FUNC_EQ, float("nan"), float("nan"), True),
        (pb.PROTO_BINARY_FUNC_GT, float("nan"), float("inf"), True),
        (pb.PROTO_BINARY_FUNC_EQ, -0.0, 0.0, True),
        (pb.PROTO_BINARY_FUNC_EQ, None, 1, None),
        (pb.PROTO_BINARY_FUNC_LT, 1, None, None),
    ],
)
def test_comparisons(func: int, a: object, b: object, expected: object) -> None:
    assert ev(binary(func, lit(a), lit(b))) is expected


@pytest.mark.parametrize(
    ("func", "a", "b", "expected"),
    [
        (pb.PROTO_BINARY_FUNC_ADD, 2, 3, 5),
        (pb.PROTO_BINARY_FUNC_SUB, 2, 3, -1),
        (pb.PROTO_BINARY_FUNC_MUL, -4, 3, -12),
        (pb.PROTO_BINARY_FUNC_DIV, 7, 2, 3),
        (pb.PROTO_BINARY_FUNC_DIV, -7, 2, -3),  # truncates toward zero
        (pb.PROTO_BINARY_FUNC_DIV, 7, -2, -3),
        (pb.PROTO_BINARY_FUNC_DIV, 1.0, 4.0, 0.25),
        (pb.PROTO_BINARY_FUNC_ADD, None, 1, None),
    ],
)
def test_arithmetic(func: int, a: object, b: object, expected: object) -> None:
    assert ev(binary(func, lit(a), lit(b))) == expected


def test_arithmetic_errors() -> None:
    assert err(binary(pb.PROTO_BINARY_FUNC_ADD, lit(I64_MAX), lit(1))) == OUT_OF_RANGE
    assert err(binary(pb.PROTO_BINARY_FUNC_MUL, lit(I64_MIN), lit(-1))) == OUT_OF_RANGE
    assert err(binary(pb.PROTO_BINARY_FUNC_DIV, lit(I64_MIN), lit(-1))) == OUT_OF_RANGE
    assert err(binary(pb.PROTO_BINARY_FUNC_DIV, lit(1), lit(0))) == DIVISION_BY_ZERO
    assert err(binary(pb.PROTO_BINARY_FUNC_DIV, lit(1.0), lit(0.0))) == DIVISION_BY_ZERO
    # Both sides are evaluated before the null check: an error on the right beats a null on the left.
    assert err(binary(pb.PROTO_BINARY_FUNC_ADD, lit(None), binary(pb.PROTO_BINARY_FUNC_DIV, lit(1), lit(0))))
    # Left to right: the first error wins.
    first = binary(pb.PROTO_BINARY_FUNC_ADD, lit(I64_MAX), lit(1))
    second = binary(pb.PROTO_BINARY_FUNC_DIV, lit(1), lit(0))
    assert err(binary(pb.PROTO_BINARY_FUNC_ADD, first, second)) == OUT_OF_RANGE


def test_and_or_short_circuit_left_to_right() -> None:
    boom = binary(pb.PROTO_BINARY_FUNC_DIV, lit(1), lit(0))
    and_ = pb.PROTO_VARIADIC_FUNC_AND
    or_ = pb.PROTO_VARIADIC_FUNC_OR
    assert ev(variadic(and_, lit(False), boom)) is False  # never evaluates the error
    assert err(variadic(and_, boom, lit(False))) == DIVISION_BY_ZERO
    assert ev(variadic(and_, lit(None), lit(False))) is False
    assert ev(variadic(and_, lit(None), lit(True))) is None
    assert ev(variadic(and_)) is True
    assert ev(variadic(or_, lit(True), boom)) is True
    assert ev(variadic(or_, lit(None), lit(False))) is None
    assert ev(variadic(or_)) is False


def test_mfp_maps_then_filters_then_projects() -> None:
    # (a, b) -> keep a > 1, output (a + b, a)
    m = Mfp(
        mfp(
            2,
            projection=[2, 0],
            expressions=[binary(pb.PROTO_BINARY_FUNC_ADD, col(0), col(1))],
            predicates=[binary(pb.PROTO_BINARY_FUNC_GT, col(0), lit(1))],
        )
    )
    oks, errs = m.apply([((1, 10), 0, 1), ((2, 20), 0, 3)])
    assert oks == [((22, 2), 0, 3)]
    assert errs == []


def test_mfp_errors_replace_rows_with_their_multiplicity() -> None:
    m = Mfp(
        mfp(
            1,
            projection=[1],
            expressions=[binary(pb.PROTO_BINARY_FUNC_DIV, lit(10), col(0))],
            predicates=[binary(pb.PROTO_BINARY_FUNC_GT, col(0), lit(-100))],
        )
    )
    oks, errs = m.apply([((0,), 5, 2), ((5,), 5, 1)])
    assert oks == [((2,), 5, 1)]
    assert errs == [(DIVISION_BY_ZERO, 5, 2)]


def test_mfp_predicate_false_or_null_drops_before_a_later_erroring_predicate() -> None:
    boom = binary(pb.PROTO_BINARY_FUNC_EQ, binary(pb.PROTO_BINARY_FUNC_DIV, lit(1), col(0)), lit(1))
    m = Mfp(mfp(1, predicates=[binary(pb.PROTO_BINARY_FUNC_GT, col(0), lit(0)), boom]))
    oks, errs = m.apply([((0,), 0, 1), ((None,), 0, 1), ((1,), 0, 1)])
    assert oks == [((1,), 0, 1)]
    assert errs == []


def test_ill_typed_expressions_are_errors_not_crashes() -> None:
    m = Mfp(mfp(1, projection=[1], expressions=[binary(pb.PROTO_BINARY_FUNC_ADD, col(0), lit(1))]))
    oks, errs = m.apply([(("text",), 0, 1)])
    assert oks == [] and len(errs) == 1
