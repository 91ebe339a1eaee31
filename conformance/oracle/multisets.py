"""Row multisets (row -> multiplicity): building them from responses and explaining differences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from conformance.wire.rows import Row, fmt_row, report_key

_SHOWN = 6


def consolidate(pairs: Iterable[tuple[Row, int]]) -> dict[Row, int]:
    acc: dict[Row, int] = {}
    for r, m in pairs:
        acc[r] = acc.get(r, 0) + m
    return {r: m for r, m in acc.items() if m != 0}


def subtract(a: Mapping[Row, int], b: Mapping[Row, int]) -> dict[Row, int]:
    return consolidate([*a.items(), *((r, -m) for r, m in b.items())])


def fmt_multiset(rows: Mapping[Row, int]) -> str:
    if not rows:
        return "{}"
    items = sorted(rows.items(), key=lambda kv: report_key(kv[0]))
    shown = ", ".join(f"{fmt_row(r)} x{m}" for r, m in items[:_SHOWN])
    more = f", ... ({len(items)} rows)" if len(items) > _SHOWN else ""
    return "{" + shown + more + "}"


def explain_difference(expected: Mapping[Row, int], got: Mapping[Row, int]) -> str:
    """`missing {...}; extra {...}` where missing = expected - got, extra = got - expected."""
    diff = subtract(got, expected)
    extra = {r: m for r, m in diff.items() if m > 0}
    missing = {r: -m for r, m in diff.items() if m < 0}
    parts = []
    if missing:
        parts.append(f"missing {fmt_multiset(missing)}")
    if extra:
        parts.append(f"extra {fmt_multiset(extra)}")
    return "; ".join(parts) or "no difference"
