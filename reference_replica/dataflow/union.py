"""`Union(inputs)`: the sum of the inputs, rows and errors (spec 5.3)."""

from __future__ import annotations

from reference_replica.dataflow.aligner import Aligner
from reference_replica.dataflow.batch import Batch
from reference_replica.dataflow.node import Node


class UnionNode(Node):
    def __init__(self, as_of: int, sources: list[Node]) -> None:
        super().__init__(as_of)
        self._aligner = Aligner(len(sources), as_of)
        for port, source in enumerate(sources):
            source.subscribe(lambda batch, port=port: self.on_batch(port, batch))  # type: ignore[misc]

    def on_batch(self, port: int, batch: Batch) -> None:
        aligned = self._aligner.push(port, batch)
        if aligned is None:
            return
        out = Batch(aligned.lower, aligned.upper)
        for part in aligned.parts:
            out.oks.extend(part.oks)
            out.errs.extend(part.errs)
        self.emit(out)
