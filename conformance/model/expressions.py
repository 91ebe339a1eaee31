"""Scalar expressions and map-filter-project, as spec 5.3 defines them.

Each `ProtoScalarExpr` is compiled once into a plain Python closure `row -> datum`, so the
oracle's frequent evaluations never touch protobuf objects. A runtime error of the plan
language ("division by zero", "integer out of range") is raised as `EvalError` and becomes
an error of the collection; `IllTyped` means the plan breaks DF-1, which the suite never
sends, so the model refuses instead of guessing what the replica should do.

Evaluation order is the spec's: arguments strictly left to right, the first error wins, and
AND/OR stop at the first deciding argument without evaluating the rest.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from compute_protocol.v1 import plan_pb2

from conformance.model.contents import Contents, add_to
from conformance.model.ordering import compare_datums
from conformance.wire.rows import NULL, Datum, Row, datum, datum_from_proto

INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1
TRUE: Final[Datum] = ("bool", True)
FALSE: Final[Datum] = ("bool", False)

OUT_OF_RANGE: Final = "integer out of range"
DIVISION_BY_ZERO: Final = "division by zero"

# Reads the columns of one (possibly extended) row; raises EvalError.
Expr = Callable[[Sequence[Datum]], Datum]


class EvalError(Exception):
    """A runtime error of the plan language; `str(e)` is the error the collection holds."""


class IllTyped(ValueError):
    """The plan is not well typed (DF-1): what it yields is undefined, so the model refuses."""


def int64(value: int) -> Datum:
    if value < INT64_MIN or value > INT64_MAX:
        raise EvalError(OUT_OF_RANGE)
    return ("int64", value)


def compile_expr(expr: plan_pb2.ProtoScalarExpr, arity: int) -> Expr:
    """Compile an expression that may read columns [0, arity)."""
    kind = expr.WhichOneof("kind")
    if kind == "column":
        return _column(expr.column, arity)
    if kind == "literal":
        value = datum_from_proto(expr.literal)
        return lambda row: value
    if kind == "call_unary":
        return _unary(expr.call_unary.func, compile_expr(expr.call_unary.expr, arity))
    if kind == "call_binary":
        call = expr.call_binary
        return _binary(call.func, compile_expr(call.expr1, arity), compile_expr(call.expr2, arity))
    if kind == "call_variadic":
        call_v = expr.call_variadic
        return _variadic(call_v.func, tuple(compile_expr(e, arity) for e in call_v.exprs))
    raise IllTyped("scalar expression with no kind set")


def _column(i: int, arity: int) -> Expr:
    if i >= arity:
        raise IllTyped(f"column {i} read from a row of {arity} columns")
    return lambda row: row[i]


def _unary(func: int, arg: Expr) -> Expr:
    if func == plan_pb2.PROTO_UNARY_FUNC_IS_NULL:
        return lambda row: TRUE if arg(row)[0] == "null" else FALSE
    if func == plan_pb2.PROTO_UNARY_FUNC_NOT:

        def not_(row: Sequence[Datum]) -> Datum:
            kind, value = arg(row)
            if kind == "null":
                return NULL
            if kind != "bool":
                raise IllTyped(f"NOT of {kind}")
            return FALSE if value else TRUE

        return not_
    if func == plan_pb2.PROTO_UNARY_FUNC_NEG:

        def neg(row: Sequence[Datum]) -> Datum:
            kind, value = arg(row)
            if kind == "null":
                return NULL
            if kind == "int64":
                return int64(-value)
            if kind == "float64":
                return datum("float64", -value)
            raise IllTyped(f"NEG of {kind}")

        return neg
    raise IllTyped(f"unknown unary function {func}")


_COMPARISONS: Final[dict[int, Callable[[int], bool]]] = {
    plan_pb2.PROTO_BINARY_FUNC_EQ: lambda c: c == 0,
    plan_pb2.PROTO_BINARY_FUNC_NOT_EQ: lambda c: c != 0,
    plan_pb2.PROTO_BINARY_FUNC_LT: lambda c: c < 0,
    plan_pb2.PROTO_BINARY_FUNC_LTE: lambda c: c <= 0,
    plan_pb2.PROTO_BINARY_FUNC_GT: lambda c: c > 0,
    plan_pb2.PROTO_BINARY_FUNC_GTE: lambda c: c >= 0,
}


def _binary(func: int, left: Expr, right: Expr) -> Expr:
    if func in _COMPARISONS:
        holds = _COMPARISONS[func]

        def compare(row: Sequence[Datum]) -> Datum:
            a, b = left(row), right(row)
            if a[0] == "null" or b[0] == "null":
                return NULL
            if a[0] != b[0]:
                raise IllTyped(f"comparison of {a[0]} with {b[0]}")
            return TRUE if holds(compare_datums(a, b)) else FALSE

        return compare
    if func in _INT_ARITHMETIC:
        int_op, float_op = _INT_ARITHMETIC[func], _FLOAT_ARITHMETIC[func]
        divides = func == plan_pb2.PROTO_BINARY_FUNC_DIV

        def arithmetic(row: Sequence[Datum]) -> Datum:
            a, b = left(row), right(row)
            if a[0] == "null" or b[0] == "null":
                return NULL
            if a[0] != b[0] or a[0] not in ("int64", "float64"):
                raise IllTyped(f"arithmetic on {a[0]} and {b[0]}")
            if divides and b[1] == 0:  # 0 and 0.0 (and -0.0) alike
                raise EvalError(DIVISION_BY_ZERO)
            if a[0] == "int64":
                return int64(int_op(a[1], b[1]))
            return datum("float64", float_op(a[1], b[1]))

        return arithmetic
    raise IllTyped(f"unknown binary function {func}")


def _truncating_div(a: int, b: int) -> int:
    """Integer division rounding toward zero (Python's // rounds toward minus infinity)."""
    quotient = abs(a) // abs(b)
    return -quotient if (a < 0) != (b < 0) else quotient


_INT_ARITHMETIC: Final[dict[int, Callable[[int, int], int]]] = {
    plan_pb2.PROTO_BINARY_FUNC_ADD: operator.add,
    plan_pb2.PROTO_BINARY_FUNC_SUB: operator.sub,
    plan_pb2.PROTO_BINARY_FUNC_MUL: operator.mul,
    plan_pb2.PROTO_BINARY_FUNC_DIV: _truncating_div,
}
# IEEE arithmetic: overflow gives an infinity, never an error.
_FLOAT_ARITHMETIC: Final[dict[int, Callable[[float, float], float]]] = {
    plan_pb2.PROTO_BINARY_FUNC_ADD: operator.add,
    plan_pb2.PROTO_BINARY_FUNC_SUB: operator.sub,
    plan_pb2.PROTO_BINARY_FUNC_MUL: operator.mul,
    plan_pb2.PROTO_BINARY_FUNC_DIV: operator.truediv,
}


def _variadic(func: int, args: tuple[Expr, ...]) -> Expr:
    if func == plan_pb2.PROTO_VARIADIC_FUNC_AND:
        decisive, otherwise = FALSE, TRUE
    elif func == plan_pb2.PROTO_VARIADIC_FUNC_OR:
        decisive, otherwise = TRUE, FALSE
    else:
        raise IllTyped(f"unknown variadic function {func}")

    def call(row: Sequence[Datum]) -> Datum:
        saw_null = False
        for arg in args:
            value = arg(row)
            if value == decisive:
                return decisive  # later arguments are not evaluated, so cannot error
            if value[0] == "null":
                saw_null = True
            elif value[0] != "bool":
                raise IllTyped(f"AND/OR argument of kind {value[0]}")
        return NULL if saw_null else otherwise

    return call


@dataclass(frozen=True)
class Mfp:
    """A compiled map-filter-project: append expressions, keep rows whose predicates are all
    true, then project."""

    input_arity: int
    expressions: tuple[Expr, ...]
    predicates: tuple[Expr, ...]
    projection: tuple[int, ...]

    def is_identity(self) -> bool:
        return (
            not self.expressions
            and not self.predicates
            and self.projection == tuple(range(self.input_arity))
        )

    def apply(self, row: Row) -> Row | None:
        """The output row, or None when a predicate drops it; raises EvalError."""
        if len(row) != self.input_arity:
            raise IllTyped(f"MFP with input_arity {self.input_arity} applied to a row of {len(row)}")
        extended = list(row)
        for expression in self.expressions:
            extended.append(expression(extended))
        for predicate in self.predicates:
            verdict = predicate(extended)
            if verdict != TRUE:
                if verdict[0] not in ("bool", "null"):
                    raise IllTyped(f"predicate of kind {verdict[0]}")
                return None  # false or null drops the row; later predicates are not reached
        return tuple(extended[i] for i in self.projection)

    def apply_to(self, contents: Contents) -> Contents:
        """Every row through the MFP; a row whose evaluation errors becomes that error with the
        row's multiplicity. Input errors pass through."""
        if self.is_identity():
            return contents
        out = Contents(errors=dict(contents.errors))
        for row, m in contents.rows.items():
            try:
                result = self.apply(row)
            except EvalError as error:
                add_to(out.errors, str(error), m)
                continue
            if result is not None:
                add_to(out.rows, result, m)
        return out.consolidated()


_COMPILED: dict[bytes, Mfp] = {}
_COMPILED_MAX: Final = 256


def compile_mfp(mfp: plan_pb2.ProtoMapFilterProject) -> Mfp:
    """Expression i reads columns [0, input_arity + i); predicates and projection read all.

    Kept by the message's encoding (a few hundred at most): every peek's MFP is compiled when
    its answer is judged, on the reader thread, and peeks repeat the same few MFPs."""
    key = mfp.SerializeToString(deterministic=True)
    known = _COMPILED.get(key)
    if known is None:
        known = _compile_mfp(mfp)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = known
    return known


def _compile_mfp(mfp: plan_pb2.ProtoMapFilterProject) -> Mfp:
    arity = mfp.input_arity
    expressions = tuple(compile_expr(e, arity + i) for i, e in enumerate(mfp.expressions))
    width = arity + len(expressions)
    predicates = tuple(compile_expr(p, width) for p in mfp.predicates)
    for column in mfp.projection:
        if column >= width:
            raise IllTyped(f"projection of column {column} from a row of {width} columns")
    return Mfp(arity, expressions, predicates, tuple(mfp.projection))
