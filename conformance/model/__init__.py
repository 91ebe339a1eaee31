"""The model evaluator: expected contents of any collection at any time (spec section 5).

The model is deliberately simple and non-incremental: `Model.contents(id, t)` evaluates the
plan from scratch on the shards' contents at `t`, with `as_of`/`until` applied (spec 5.2).
It shares no code with the reference replica's engine.

- contents.py: `Contents`, rows and errors with multiplicities.
- ordering.py: the datum and row order (MIN/MAX, comparisons, finishing).
- expressions.py: scalar expressions and MFP, compiled to closures.
- plans.py: the operators, each evaluated at one time.
- catalog.py: `Model`, the dataflows of one iteration, as_of/until, index imports.
- peeks.py: the expected answer of a peek and the finishing sufficiency check.
- build.py: terse constructors for plan, dataflow and peek protos (tests, scenarios).

Not locked: the caches only memoise, so concurrent readers at worst recompute.
"""

from __future__ import annotations

from conformance.model.catalog import Dataflow, Export, ExportKind, Model
from conformance.model.contents import Contents, count_rows
from conformance.model.expressions import EvalError, IllTyped, Mfp, compile_expr, compile_mfp
from conformance.model.peeks import (
    PeekExpectation,
    apply_finishing,
    check_finishing,
    expected_peek,
    result_size,
)
from conformance.model.plans import Plan, compile_plan

__all__ = [
    "Contents",
    "Dataflow",
    "EvalError",
    "Export",
    "ExportKind",
    "IllTyped",
    "Mfp",
    "Model",
    "PeekExpectation",
    "Plan",
    "apply_finishing",
    "check_finishing",
    "compile_expr",
    "compile_mfp",
    "compile_plan",
    "count_rows",
    "expected_peek",
    "result_size",
]
