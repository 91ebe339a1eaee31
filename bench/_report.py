"""How every bench prints a ratio against its baseline, and how `--strict` turns a miss into a failure.

Each bench measures its figures and their baselines in the same run (the machine is shared
and noisy: only ratios within one run compare), prints one row per target with both numbers,
and exits 1 under `--strict` when a target was missed (`make bench BENCH_ARGS=--strict`).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a ratio misses its target")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Targets:
    """The rows of one bench: a ratio, the way it compares with its target, and the verdict."""

    strict: bool
    missed: list[str] = field(default_factory=list)

    def row(self, label: str, ratio: float, op: str, target: float, detail: str = "") -> bool:
        ok = ratio <= target if op == "<=" else ratio >= target
        print(f"  {label:<46} {ratio:7.2f}   target {op} {target:<4g} {'ok' if ok else 'MISS'}")
        if detail:
            print(f"    {detail}")
        if not ok:
            self.missed.append(f"{label}: {ratio:.2f} (target {op} {target:g})")
        return ok

    def exit_status(self) -> int:
        if self.missed:
            print("missed: " + "; ".join(self.missed))
        return 1 if self.strict and self.missed else 0
