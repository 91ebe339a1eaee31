"""`Negate(input)`: row multiplicities negated; errors pass through unchanged (spec 5.3)."""

from __future__ import annotations

from reference_replica import faults
from reference_replica.dataflow.batch import Batch
from reference_replica.dataflow.node import Node


class NegateNode(Node):
    def __init__(self, source: Node) -> None:
        super().__init__(source.frontier)
        source.subscribe(self.on_batch)

    def on_batch(self, batch: Batch) -> None:
        oks = [(row, time, -diff) for row, time, diff in batch.oks]
        errs = batch.errs
        if faults.on("negate-negates-errors"):
            errs = [(message, time, -diff) for message, time, diff in errs]  # FAULT: errors are not rows
        self.emit(Batch(batch.lower, batch.upper, oks, errs))
