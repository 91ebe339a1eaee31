"""An index import: a collection arranged by an earlier dataflow of the same iteration.

The importing dataflow starts from the index's arrangement (every stored update; times below
the importer's as_of are advanced by the leaf) and then follows the exporting collection's
batches as they are produced. DF-1 guarantees that the index's compaction frontier is at
most the importer's as_of, so the arrangement still holds everything needed.
"""

from __future__ import annotations

from reference_replica.arrangement import Arrangement
from reference_replica.dataflow.batch import Batch
from reference_replica.dataflow.leaf import Leaf
from reference_replica.dataflow.node import Node


class IndexImportNode(Leaf):
    def __init__(self, as_of: int, until: int, exporter: Node, arrangement: Arrangement) -> None:
        super().__init__(as_of, until)
        self._exporter = exporter
        self._arrangement = arrangement
        self._following = False

    def start(self) -> None:
        oks, errs = self._arrangement.updates()
        self.deliver(self._exporter.frontier, oks, errs)
        self._exporter.subscribe(self._on_batch)
        self._following = True

    def stop(self) -> None:
        if self._following:
            self._exporter.unsubscribe(self._on_batch)
            self._following = False

    def _on_batch(self, batch: Batch) -> None:
        self.deliver(batch.upper, batch.oks, batch.errs)
