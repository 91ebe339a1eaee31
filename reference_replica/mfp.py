"""Map, filter, project (spec 5.3, `ProtoMapFilterProject`).

The order is fixed by the spec: append every expression (expression i becomes column
`input_arity + i` and may read earlier ones), then test the predicates in order (the first
that is false or null drops the row), then keep the projection. An error in an expression,
or in a predicate reached before the row is dropped, replaces the row by that error with the
row's multiplicity. The same object serves the `Mfp` operator and every peek.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from compute_protocol.v1 import plan_pb2

from reference_replica import faults
from reference_replica.datum import Value
from reference_replica.expr import ILL_TYPED_ERRORS, EvalError, Expr, compile_expr
from reference_replica.rows import Row

Update = tuple[Row, int, int]
ErrUpdate = tuple[str, int, int]

ILL_TYPED: Final = "ill-typed expression"


def projector(columns: Sequence[int]) -> Callable[[Sequence[Value]], Row]:
    """A fast `lambda values: tuple(values[c] for c in columns)`."""
    cols = list(columns)
    if not cols:
        return lambda _: ()
    if len(cols) == 1:
        only = cols[0]
        return lambda values: (values[only],)
    getter = operator.itemgetter(*cols)
    return getter  # itemgetter with several items returns a tuple


class Mfp:
    def __init__(self, proto: plan_pb2.ProtoMapFilterProject) -> None:
        self.input_arity = proto.input_arity
        self.expressions: list[Expr] = [compile_expr(e) for e in proto.expressions]
        self.predicates: list[Expr] = [compile_expr(p) for p in proto.predicates]
        self.projection = list(proto.projection)
        self.output_arity = len(self.projection)
        self.is_identity = (
            not self.expressions and not self.predicates and self.projection == list(range(self.input_arity))
        )
        self._project = projector(self.projection)

    def evaluate(self, row: Row) -> Row | None:
        """The output row, or None if a predicate drops it; raises EvalError."""
        if self.is_identity:
            return row
        values: Sequence[Value] = row
        if self.expressions:
            extended = list(row)
            lazy = faults.on("projected-away-expressions-skipped") and not self.predicates
            for i, expression in enumerate(self.expressions):
                if lazy and self.input_arity + i not in self.projection:
                    extended.append(None)  # FAULT: a dead expression is never evaluated, nor its error
                    continue
                extended.append(expression(extended))
            values = extended
        if faults.on("predicates-evaluated-eagerly"):
            verdicts = [predicate(values) for predicate in self.predicates]  # FAULT: all of them, always
            return self._project(values) if all(v is True for v in verdicts) else None
        for predicate in self.predicates:
            try:
                verdict = predicate(values)
            except EvalError:
                if faults.on("erroring-predicate-drops-row"):
                    return None  # FAULT: the error is swallowed with the row
                raise
            if verdict is not True and not (verdict is None and faults.on("null-predicate-keeps-row")):
                return None  # (the fault null-predicate-keeps-row drops only on false)
        return self._project(values)

    def apply(self, updates: Iterable[Update]) -> tuple[list[Update], list[ErrUpdate]]:
        """Apply to (row, time, diff) updates: kept rows, and errors that replace rows."""
        if self.is_identity:
            return list(updates), []
        oks: list[Update] = []
        errs: list[ErrUpdate] = []
        evaluate = self.evaluate
        for row, time, diff in updates:
            try:
                out = evaluate(row)
            except EvalError as error:
                errs.append((error.message, time, diff))
                continue
            except ILL_TYPED_ERRORS:
                errs.append((ILL_TYPED, time, diff))
                continue
            if out is not None:
                oks.append((out, time, diff))
        return oks, errs


def identity(arity: int) -> Mfp:
    return Mfp(plan_pb2.ProtoMapFilterProject(projection=range(arity), input_arity=arity))
