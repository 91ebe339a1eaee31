"""`Threshold(input)`: keep rows whose multiplicity is positive (spec 5.3).

State: the accumulated multiplicity of every row. For each time, in order, a row whose count
moves from `old` to `new` changes the output by `max(new, 0) - max(old, 0)`.
"""

from __future__ import annotations

from reference_replica import faults
from reference_replica.dataflow.batch import Batch, Update, by_time
from reference_replica.dataflow.node import Node
from reference_replica.rows import Row, encode


class ThresholdNode(Node):
    def __init__(self, source: Node) -> None:
        super().__init__(source.frontier)
        self._counts: dict[bytes, int] = {}
        source.subscribe(self.on_batch)

    def on_batch(self, batch: Batch) -> None:
        out: list[Update] = []
        counts = self._counts
        for time, changes in by_time(batch.oks):
            touched: dict[bytes, tuple[Row, int]] = {}  # row -> its count before this time
            for row, diff in changes:
                key = encode(row)
                old = counts.get(key, 0)
                if key not in touched:
                    touched[key] = (row, old)
                new = old + diff
                if new:
                    counts[key] = new
                else:
                    counts.pop(key, None)
            for key, (row, old) in touched.items():
                change = max(counts.get(key, 0), 0) - max(old, 0)
                if change:
                    out.append((row, time, change))
        errs = [] if faults.on("threshold-drops-errors") else batch.errs  # FAULT: rows only
        self.emit(Batch(batch.lower, batch.upper, out, errs))
