"""Data-edge coverage: which corners of the data model (spec 5.3, 8.1) the run's verdicts reached.

A rule that passed says nothing about the data it passed on: a suite whose generators never
write NaN passes every replica that mishandles NaN. So the report also counts *cells*, each a
feature crossed with an edge ("NaN in a reduce key", "null join key", "error in the skipped
branch of AND"). A cell counts once per judged collection and time (or per peek) whose
expected value went through that edge: `edge_watch` notes them while the oracle asks the model
for what a response must hold, so a cell is exercised only when a replica's answer was
actually compared with a value that depended on the edge.

Counts are plain `Counter`s in `RunResults`, merged across pytest-xdist workers like the
per-rule counts. A full ci or deep run that leaves an applicable cell at zero fails, the way
an unexercised MUST rule does: the generators have lost their reach. A cell whose features
the replica does not declare (`--capabilities`) is not applicable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from conformance.session.capabilities import Capabilities


@dataclass(frozen=True)
class Cell:
    id: str
    feature: str  # what computes with the value
    edge: str  # the value or shape at its edge
    needs: tuple[frozenset[str], ...] = ()  # capability features, as capabilities.RULE_NEEDS

    def applicable(self, caps: Capabilities) -> bool:
        return all(group & caps.features for group in self.needs)


_MFP: Final = frozenset({"op:mfp", "peek:index", "peek:persist"})  # plan MFPs and peek MFPs
_PEEK: Final = frozenset({"peek:index", "peek:persist"})
_ERRORS: Final = frozenset({"op:mfp", "op:constant", "op:reduce"})


def _op(name: str) -> frozenset[str]:
    return frozenset({f"op:{name}"})


def _sink(kind: str) -> frozenset[str]:
    return frozenset({f"sink:{kind}"})


CELLS: Final[dict[str, Cell]] = {
    c.id: c
    for c in [
        # --- datums in judged rows ---------------------------------------------------------
        Cell("row.nan", "rows", "NaN"),
        Cell("row.nan-consolidated", "rows", "NaN row written twice or retracted"),
        Cell("row.neg-zero", "rows", "-0.0 beside 0.0 in one input column"),
        Cell("row.inf", "rows", "+inf or -inf"),
        Cell("row.integral-float", "rows", "float64 with an integral value"),
        Cell("row.bool", "rows", "bool"),
        Cell("row.kinds-collide", "rows", "rows equal in value, different in kind (1, 1.0, true)"),
        Cell("row.big-int", "rows", "int64 beyond 2^53 (min and max included)"),
        Cell("row.empty-string", "rows", "empty string"),
        Cell("row.long-string", "rows", "string over 255 UTF-8 bytes, beyond the BMP"),
        Cell("null.int64", "nullable int64 column", "null"),
        Cell("null.float64", "nullable float64 column", "null"),
        Cell("null.string", "nullable string column", "null"),
        Cell("null.bool", "nullable bool column", "null"),
        # --- scalar expressions (plan and peek MFPs) -----------------------------------------
        Cell("expr.null-compare", "comparison", "null operand", (_MFP,)),
        Cell("expr.nan-compare", "comparison", "NaN operand", (_MFP,)),
        Cell("expr.null-beside-error", "comparison or arithmetic", "null beside an error (the error wins)", (_MFP,)),
        Cell("expr.skipped-and", "AND", "error in the skipped branch", (_MFP,)),
        Cell("expr.skipped-or", "OR", "error in the skipped branch", (_MFP,)),
        Cell("expr.int-overflow", "int64 add, sub, mul", "result out of range", (_MFP,)),
        Cell("expr.neg-min", "int64 NEG", "NEG of int64 min", (_MFP,)),
        Cell("expr.int-div-zero", "int64 division", "division by zero", (_MFP,)),
        Cell("expr.int-div-truncates", "int64 division", "negative inexact quotient", (_MFP,)),
        Cell("expr.float-div-zero", "float64 division", "division by zero (0.0 or -0.0)", (_MFP,)),
        Cell("expr.float-inf", "float64 arithmetic", "finite operands, infinite result", (_MFP,)),
        Cell("mfp.null-predicate", "filter", "predicate null", (_MFP,)),
        Cell("mfp.error-predicate", "filter", "predicate errors", (_MFP,)),
        Cell("mfp.error-after-false", "filter", "erroring predicate after a false one", (_MFP,)),
        Cell("mfp.error-projected-away", "map", "erroring expression the projection drops", (_MFP,)),
        # --- operators ----------------------------------------------------------------------
        Cell("reduce.global-empty", "global reduce", "empty input", (_op("reduce"),)),
        Cell("reduce.emptied", "reduce", "group emptied by retractions", (_op("reduce"),)),
        Cell("reduce.negative", "reduce", "negative multiplicity in a group", (_op("reduce"),)),
        Cell("reduce.sum-overflow", "reduce SUM", "sum beyond int64", (_op("reduce"),)),
        Cell("reduce.null-key", "reduce", "null in the group key", (_op("reduce"),)),
        Cell("reduce.nan-key", "reduce", "NaN in the group key", (_op("reduce"),)),
        Cell("reduce.null-agg", "reduce MIN, MAX, SUM", "null beside values", (_op("reduce"),)),
        Cell("reduce.nan-agg", "reduce MIN, MAX", "NaN beside other floats", (_op("reduce"),)),
        Cell("reduce.count-multiplicity", "reduce COUNT", "row with multiplicity above 1", (_op("reduce"),)),
        Cell("join.null-key", "join", "null key on both sides", (_op("join"),)),
        Cell("negate.errors", "negate", "input holding errors", (_op("negate"), _ERRORS)),
        Cell("threshold.errors", "threshold", "input holding errors", (_op("threshold"), _ERRORS)),
        Cell("threshold.negative", "threshold", "negative multiplicity", (_op("threshold"),)),
        # --- peeks --------------------------------------------------------------------------
        Cell("peek.literal-non-prefix", "peek literal", "key columns that are not the row's prefix", (_PEEK,)),
        Cell("peek.literal-repeated", "peek literal", "the same literal twice", (_PEEK,)),
        Cell("finishing.nulls-asc-first", "finishing that thins", "nulls, ascending, nulls first", (_PEEK,)),
        Cell("finishing.nulls-asc-last", "finishing that thins", "nulls, ascending, nulls last", (_PEEK,)),
        Cell("finishing.nulls-desc-first", "finishing that thins", "nulls, descending, nulls first", (_PEEK,)),
        Cell("finishing.nulls-desc-last", "finishing that thins", "nulls, descending, nulls last", (_PEEK,)),
        Cell("finishing.nan", "finishing that thins", "NaN beside other floats", (_PEEK,)),
        # --- time bounds and sinks ------------------------------------------------------------
        Cell("until.update-at-until", "until", "input update at until, read at or after it"),
        Cell("up-to.update-at-up-to", "subscribe up_to", "input update at up_to", (_sink("subscribe"),)),
        Cell("mv.stale-target", "materialized view", "target holding rows below as_of", (_sink("materialized_view"),)),
    ]
}


def unexercised(counts: Mapping[str, int], caps: Capabilities) -> list[Cell]:
    return [c for c in CELLS.values() if c.applicable(caps) and not counts.get(c.id)]


def to_json(counts: Mapping[str, int], caps: Capabilities) -> list[dict[str, Any]]:
    return [
        {
            "cell": c.id,
            "feature": c.feature,
            "edge": c.edge,
            "exercised": counts.get(c.id, 0),
            "applicable": c.applicable(caps),
        }
        for c in CELLS.values()
    ]


def summary_line(counts: Mapping[str, int], caps: Capabilities) -> str:
    applicable = [c for c in CELLS.values() if c.applicable(caps)]
    reached = [c for c in applicable if counts.get(c.id)]
    return f"data edges: {len(reached)} of {len(applicable)} cells exercised"


def terminal_lines(counts: Mapping[str, int], caps: Capabilities, width: int = 3) -> list[str]:
    """The summary line, then every applicable cell with its count, a few to a line."""
    cells = [c for c in CELLS.values() if c.applicable(caps)]
    lines = [summary_line(counts, caps)]
    missing = [c.id for c in cells if not counts.get(c.id)]
    if missing:
        lines.append("  NOT exercised: " + ", ".join(missing))
    entries = [f"{c.id} {counts.get(c.id, 0)}" for c in cells]
    pad = max((len(e) for e in entries), default=0) + 2
    for i in range(0, len(entries), width):
        lines.append("  " + "".join(e.ljust(pad) for e in entries[i : i + width]).rstrip())
    return lines


def markdown_lines(counts: Mapping[str, int], caps: Capabilities) -> list[str]:
    out = [
        "## Data edges",
        "",
        summary_line(counts, caps) + " (how many judged values went through each edge).",
        "",
        "| cell | feature | edge | exercised |",
        "|---|---|---|---|",
    ]
    for c in CELLS.values():
        n = counts.get(c.id, 0)
        shown = "n/a" if not c.applicable(caps) else (str(n) if n else "**0**")
        out.append(f"| `{c.id}` | {c.feature} | {c.edge} | {shown} |")
    return [*out, ""]
