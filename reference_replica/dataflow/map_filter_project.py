"""`Mfp(input, mfp)`: a stateless operator; each output batch is its input batch mapped."""

from __future__ import annotations

from reference_replica.dataflow.batch import Batch
from reference_replica.dataflow.node import Node
from reference_replica.mfp import Mfp


class MfpNode(Node):
    def __init__(self, source: Node, mfp: Mfp) -> None:
        super().__init__(source.frontier)
        self.mfp = mfp
        source.subscribe(self.on_batch)

    def on_batch(self, batch: Batch) -> None:
        oks, new_errs = self.mfp.apply(batch.oks)
        errs = batch.errs + new_errs if new_errs else batch.errs  # input errors pass through
        self.emit(Batch(batch.lower, batch.upper, oks, errs))
