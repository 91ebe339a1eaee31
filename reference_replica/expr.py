"""Scalar expressions (spec 5.3, `ProtoScalarExpr`), compiled to Python closures.

An expression is evaluated over one row, left to right, and the first error stops the
evaluation and becomes the result. Compiling each `ProtoScalarExpr` node once into a closure
keeps the per-row cost to a few Python calls. Errors travel as `EvalError` exceptions: they
are rare, and an exception is exactly "stop here and report this".

Rules implemented here, by function: NULL propagation (NOT, NEG, comparisons and arithmetic
give null for a null operand, IS_NULL never gives null); int64 overflow and division by zero
are errors; int64 division truncates toward zero; AND/OR are strictly left to right and
short-circuit, so arguments after the deciding one are never evaluated (and cannot error).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final

from compute_protocol.v1 import plan_pb2

from reference_replica import datum, faults
from reference_replica.datum import INT64_MAX, INT64_MIN, Value

Expr = Callable[[Sequence[Value]], Value]

OUT_OF_RANGE: Final = "integer out of range"
DIVISION_BY_ZERO: Final = "division by zero"


class EvalError(Exception):
    """An expression evaluated to an error (spec 5.3); the message is the error datum."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


ILL_TYPED_ERRORS: Final = (TypeError, ValueError, IndexError, OverflowError, AttributeError)
"""Exceptions an ill-typed expression can raise in Python. What such an expression yields is
undefined (spec 5.3); the replica turns it into an error instead of crashing."""


def compile_expr(e: plan_pb2.ProtoScalarExpr) -> Expr:
    kind = e.WhichOneof("kind")
    if kind == "column":
        return _column(e.column)
    if kind == "literal":
        return _literal(datum.from_proto(e.literal))
    if kind == "call_unary":
        return _unary(e.call_unary.func, compile_expr(e.call_unary.expr))
    if kind == "call_binary":
        b = e.call_binary
        return _binary(b.func, compile_expr(b.expr1), compile_expr(b.expr2))
    if kind == "call_variadic":
        v = e.call_variadic
        args = [compile_expr(x) for x in v.exprs]
        if v.func == plan_pb2.PROTO_VARIADIC_FUNC_AND:
            return _and(args)
        if v.func == plan_pb2.PROTO_VARIADIC_FUNC_OR:
            return _or(args)
        raise ValueError(f"unknown variadic function {v.func}")
    raise ValueError("scalar expression with no kind set")


def _column(i: int) -> Expr:
    def column(row: Sequence[Value]) -> Value:
        return row[i]

    return column


def _literal(value: Value) -> Expr:
    def literal(_: Sequence[Value]) -> Value:
        return value

    return literal


# --- unary functions -------------------------------------------------------------------


def _unary(func: int, arg: Expr) -> Expr:
    if func == plan_pb2.PROTO_UNARY_FUNC_NOT:

        def not_(row: Sequence[Value]) -> Value:
            v = arg(row)
            if v is None:
                return None
            if type(v) is not bool:
                raise TypeError("NOT of a non-bool")
            return not v

        return not_
    if func == plan_pb2.PROTO_UNARY_FUNC_IS_NULL:

        def is_null(row: Sequence[Value]) -> Value:
            return arg(row) is None

        return is_null
    if func == plan_pb2.PROTO_UNARY_FUNC_NEG:

        def neg(row: Sequence[Value]) -> Value:
            v = arg(row)
            if v is None:
                return None
            if type(v) is int:
                if v == INT64_MIN:
                    raise EvalError(OUT_OF_RANGE)
                return -v
            if type(v) is float:
                return datum.canonical_float(-v)
            raise TypeError("NEG of a non-number")

        return neg
    raise ValueError(f"unknown unary function {func}")


# --- binary functions ------------------------------------------------------------------


def _float_order(a: float, b: float) -> int:
    """Compare floats with NaN equal to NaN and above every other float (spec 5.3)."""
    a_nan = a != a
    b_nan = b != b
    if a_nan or b_nan:
        return int(a_nan) - int(b_nan)
    return -1 if a < b else (1 if a > b else 0)


def _order(a: Value, b: Value) -> int:
    if type(a) is not type(b):
        raise TypeError(f"comparison of {datum.kind_of(a)} with {datum.kind_of(b)}")
    if type(a) is float:
        return _float_order(a, b)  # type: ignore[arg-type]
    return -1 if a < b else (1 if a > b else 0)  # type: ignore[operator]


_COMPARISONS: Final[dict[int, Callable[[int], bool]]] = {
    plan_pb2.PROTO_BINARY_FUNC_EQ: lambda c: c == 0,
    plan_pb2.PROTO_BINARY_FUNC_NOT_EQ: lambda c: c != 0,
    plan_pb2.PROTO_BINARY_FUNC_LT: lambda c: c < 0,
    plan_pb2.PROTO_BINARY_FUNC_LTE: lambda c: c <= 0,
    plan_pb2.PROTO_BINARY_FUNC_GT: lambda c: c > 0,
    plan_pb2.PROTO_BINARY_FUNC_GTE: lambda c: c >= 0,
}


def _checked_int(v: int) -> int:
    if v < INT64_MIN or v > INT64_MAX:
        if faults.on("int-overflow-wraps"):
            return (v - INT64_MIN) % (1 << 64) + INT64_MIN  # FAULT: two's complement
        raise EvalError(OUT_OF_RANGE)
    return v


def _int_div(a: int, b: int) -> int:
    if b == 0:
        raise EvalError(DIVISION_BY_ZERO)
    if faults.on("int-division-floors"):
        return _checked_int(a // b)  # FAULT: Python's // rounds toward minus infinity
    q = abs(a) // abs(b)
    return _checked_int(q if (a < 0) == (b < 0) else -q)


def _float_div(a: float, b: float) -> float:
    if b == 0.0:
        if faults.on("float-division-by-zero-is-inf"):  # FAULT: IEEE instead of an error
            return math.nan if a == 0.0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
        raise EvalError(DIVISION_BY_ZERO)
    return a / b


_INT_ARITHMETIC: Final[dict[int, Callable[[int, int], int]]] = {
    plan_pb2.PROTO_BINARY_FUNC_ADD: lambda a, b: _checked_int(a + b),
    plan_pb2.PROTO_BINARY_FUNC_SUB: lambda a, b: _checked_int(a - b),
    plan_pb2.PROTO_BINARY_FUNC_MUL: lambda a, b: _checked_int(a * b),
    plan_pb2.PROTO_BINARY_FUNC_DIV: _int_div,
}

_FLOAT_ARITHMETIC: Final[dict[int, Callable[[float, float], float]]] = {
    plan_pb2.PROTO_BINARY_FUNC_ADD: lambda a, b: a + b,
    plan_pb2.PROTO_BINARY_FUNC_SUB: lambda a, b: a - b,
    plan_pb2.PROTO_BINARY_FUNC_MUL: lambda a, b: a * b,
    plan_pb2.PROTO_BINARY_FUNC_DIV: _float_div,
}


def _binary(func: int, left: Expr, right: Expr) -> Expr:
    test = _COMPARISONS.get(func)
    if test is not None:
        ieee = func == plan_pb2.PROTO_BINARY_FUNC_NOT_EQ  # what IEEE says of any comparison with NaN

        def comparison(row: Sequence[Value]) -> Value:
            a = left(row)  # both sides are evaluated, left first: errors before nulls
            if a is None and faults.on("null-hides-error"):
                return None  # FAULT: the right side (and its error) is never evaluated
            b = right(row)
            if a is None or b is None:
                if faults.on("null-equals-null"):  # FAULT: null as a value, below every other
                    return test((a is not None) - (b is not None))
                return None
            if faults.on("nan-compares-false") and (a != a or b != b):
                return ieee  # FAULT: IEEE comparisons
            return test(_order(a, b))

        return comparison
    int_op = _INT_ARITHMETIC.get(func)
    float_op = _FLOAT_ARITHMETIC.get(func)
    if int_op is None or float_op is None:
        raise ValueError(f"unknown binary function {func}")

    def arithmetic(row: Sequence[Value]) -> Value:
        a = left(row)
        if a is None and faults.on("null-hides-error"):
            return None  # FAULT: the right side (and its error) is never evaluated
        b = right(row)
        if a is None or b is None:
            return None
        ta = type(a)
        if ta is not type(b):
            raise TypeError("arithmetic on mixed kinds")
        if ta is int:
            return int_op(a, b)  # type: ignore[arg-type]
        if ta is float:
            return datum.canonical_float(float_op(a, b))  # type: ignore[arg-type]
        raise TypeError("arithmetic on non-numbers")

    return arithmetic


# --- variadic functions ------------------------------------------------------------------


def _and(args: list[Expr]) -> Expr:
    def and_(row: Sequence[Value]) -> Value:
        saw_null = False
        if faults.on("eager-and-or"):
            for arg in args:
                arg(row)  # FAULT: every argument evaluated first; an error in a skipped one is raised
        for arg in args:
            v = arg(row)
            if v is False:
                return False  # the first false decides; later arguments are not evaluated
            if v is None:
                saw_null = True
            elif v is not True:
                raise TypeError("AND of a non-bool")
        return None if saw_null else True

    return and_


def _or(args: list[Expr]) -> Expr:
    def or_(row: Sequence[Value]) -> Value:
        saw_null = False
        if faults.on("eager-and-or"):
            for arg in args:
                arg(row)  # FAULT: every argument evaluated first; an error in a skipped one is raised
        for arg in args:
            v = arg(row)
            if v is True:
                return True
            if v is None:
                saw_null = True
            elif v is not False:
                raise TypeError("OR of a non-bool")
        return None if saw_null else False

    return or_
