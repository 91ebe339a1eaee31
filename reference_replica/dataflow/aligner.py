"""Lining up the batches of several inputs (for Union and Join).

Each input advances at its own pace. An operator with several inputs may only process the
times that are complete on *all* of them, that is, those below the minimum of the inputs'
frontiers. The aligner buffers what each input has delivered and releases, per input, the
updates of the interval between the last released frontier and the new minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference_replica.dataflow.batch import Batch, ErrUpdate, Update
from reference_replica.frontier import EMPTY


@dataclass
class _Input:
    upper: int
    oks: list[Update] = field(default_factory=list)
    errs: list[ErrUpdate] = field(default_factory=list)


@dataclass
class Aligned:
    lower: int
    upper: int
    parts: list[Batch]  # per input, its updates in [lower, upper)


class Aligner:
    def __init__(self, inputs: int, frontier: int) -> None:
        self.frontier = frontier
        self._inputs = [_Input(frontier) for _ in range(inputs)]

    def push(self, port: int, batch: Batch) -> Aligned | None:
        pending = self._inputs[port]
        pending.upper = batch.upper
        pending.oks.extend(batch.oks)
        pending.errs.extend(batch.errs)
        upper = min(p.upper for p in self._inputs)
        if upper <= self.frontier:
            return None
        lower = self.frontier
        self.frontier = upper
        parts: list[Batch] = []
        for p in self._inputs:
            if upper >= EMPTY or p.upper == upper:
                oks, errs = p.oks, p.errs
                p.oks, p.errs = [], []
            else:
                oks = [u for u in p.oks if u[1] < upper]
                p.oks = [u for u in p.oks if u[1] >= upper]
                errs = [e for e in p.errs if e[1] < upper]
                p.errs = [e for e in p.errs if e[1] >= upper]
            parts.append(Batch(lower, upper, oks, errs))
        return Aligned(lower, upper, parts)
