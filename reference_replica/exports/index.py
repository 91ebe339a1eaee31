"""Index exports: a collection arranged by key columns, peekable, with a since.

The arrangement receives every batch of the exported collection. The *logical* since is the
latest `AllowCompaction` frontier (spec 8.2: a peek below it is answered Error), starting at
the dataflow's as_of. The arrangement is compacted physically only up to the least of that
since and the times of pending peeks: a peek keeps its read access even if compaction passes
its time after it arrived (PEEK-13).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from reference_replica import faults, variants
from reference_replica.arrangement import Arrangement
from reference_replica.dataflow.batch import Batch
from reference_replica.dataflow.node import Node
from reference_replica.exports.base import Export
from reference_replica.frontier import EMPTY

if TYPE_CHECKING:
    from reference_replica.dataflow.dataflow import Dataflow


class IndexExport(Export):
    kind = "index"
    reports_frontiers = True

    def __init__(
        self,
        collection: str,
        dataflow: Dataflow,
        node: Node,
        key_columns: list[int],
        arity: int | None,
        workers: int,
    ) -> None:
        super().__init__(collection, dataflow, node)
        self.key_columns = key_columns
        self.since = dataflow.as_of
        self.arrangement = Arrangement(key_columns, arity, workers, since=dataflow.as_of)
        self._holds: Counter[int] = Counter()
        node.subscribe(self._on_batch)

    def _on_batch(self, batch: Batch) -> None:
        self.arrangement.insert(batch.oks, batch.errs)

    def frontiers(self) -> tuple[int, int, int]:
        done = self.node.frontier
        if faults.on("frontier-ahead-of-input") and done < EMPTY:
            return (done + 1, self.dataflow.input_frontier(), done)  # FAULT: breaks FRONT-10
        return (done, self.dataflow.input_frontier(), done)

    def final_at(self, time: int) -> bool:
        """Are the contents at `time` final? (With `until`, nothing changes from until-1 on.)"""
        return self.node.frontier > min(time, self.dataflow.until - 1)

    def allow_compaction(self, since: int) -> None:
        if since > self.since:
            self.since = since
            self._compact()

    def rebase(self, as_of: int) -> None:
        """Reconciliation reused this index for a new iteration whose as_of is `as_of`."""
        self.since = as_of
        self._compact()

    def hold(self, time: int) -> None:
        self._holds[time] += 1

    def release(self, time: int) -> None:
        self._holds[time] -= 1
        if self._holds[time] <= 0:
            del self._holds[time]
        if self.dropped and not self._holds:
            self.teardown()
        else:
            self._compact()

    def _compact(self) -> None:
        if variants.on("lazy-compaction"):
            return  # VARIANT: compaction stays logical (COMPACT-2); `since` still answers PEEK-9
        physical = min(self._holds) if self._holds else EMPTY
        self.arrangement.compact(min(self.since, physical))

    def drop(self) -> None:
        # Pending peeks keep their read access even past a drop (PEEK-13), so the
        # arrangement keeps following the collection until the last of them is done.
        self.dropped = True
        if not self._holds:
            self.teardown()

    def busy(self) -> bool:
        """Are peeks still reading this index?"""
        return bool(self._holds)

    def teardown(self) -> None:
        self.node.unsubscribe(self._on_batch)
