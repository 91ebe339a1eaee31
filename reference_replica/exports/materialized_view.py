"""Materialized-view sinks (spec DF-4 and section 13): keep a storage shard equal to a view.

The sink follows its target shard with Listen, so it always knows the shard's contents and
upper `L`. It keeps one trace, `difference`: the view's updates minus the shard's. Once
writable, whenever the view's frontier `N` is beyond `L` it appends, with
`CompareAndAppend(expected L, new N)`:

- at time `L`, the difference's contents at `L`: the view's contents minus the shard's
  (this corrects whatever the shard held, so the sink is self-correcting, DF-4), and
- the difference's updates at times in `(L, N)`, which are the view's (the shard has
  nothing at or beyond its upper).

After that the shard equals the view at every time in `[L, N)`, and once Listen has shown
the append the difference below `N` sums to nothing, so the next correction is cheap. If
another writer moved the upper, the append is refused and the sink waits until Listen shows
the new state.

Frontiers (RO-3): output and input follow the dataflow. The write frontier is the shard's
upper as far as the sink knows it, which never runs ahead of the shard (FRONT-10): while
read-only that is all it can be, and once writable the sink's own appends move it.

Reading the initial shard state: Listen(as_of) sends nothing until the upper passes as_of,
and a fresh target shard sits exactly at `[as_of]`. So the sink asks GetShard first, and
listens from `as_of - 1` when it can (then the first batch comes at once and holds every
update below the upper). A shard at upper `[0]` is known to be empty.
"""

from __future__ import annotations

import logging
import time as clock
from typing import TYPE_CHECKING

from compute_protocol.v1 import dataflow_pb2

from reference_replica import faults
from reference_replica.dataflow.batch import Batch, Update
from reference_replica.dataflow.node import Node
from reference_replica.exports.base import Export
from reference_replica.exports.trace import Trace
from reference_replica.rows import consolidate
from reference_replica.services import Services
from reference_replica.storage.listen import ListenReader
from reference_replica.storage.writes import AppendResult

if TYPE_CHECKING:
    from reference_replica.dataflow.dataflow import Dataflow

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.2


class MaterializedViewExport(Export):
    kind = "materialized_view"
    reports_frontiers = True

    def __init__(
        self,
        collection: str,
        dataflow: Dataflow,
        node: Node,
        connection: dataflow_pb2.ProtoMaterializedViewConnection,
        services: Services,
    ) -> None:
        super().__init__(collection, dataflow, node)
        self.address = connection.storage_metadata.storage_address
        self.shard = connection.storage_metadata.shard_id
        self._services = services
        self.difference = Trace()  # view updates minus target-shard updates
        self.known_upper = 0  # the shard's upper as far as Listen has shown it
        self.known = False  # has the shard's state been learned yet?
        self.written_upper = 0  # the upper our last successful append (or a refusal) revealed
        self._in_flight = False  # an append is on its way
        self._asking = False  # GetShard is on its way
        self._retry_at = 0.0
        self._reader: ListenReader | None = None
        self._stopped = False
        self._writable_at_creation = services.writer.writable  # only the fault below reads it
        self._stuck = False  # only under the fault sink-stuck-if-shard-sealed
        node.subscribe(self._on_batch)

    def start(self) -> None:
        self._ask_shard_state()

    def _ask_shard_state(self) -> None:
        self._asking = True
        self._services.writer.get_shard(self.address, self.shard, self._on_shard_state)

    def _on_shard_state(self, upper: int, since: int, error: str | None) -> None:
        self._asking = False
        if self._stopped:
            return
        if error is not None:
            log.warning("materialized view %s: %s; retrying", self.collection, error)
            self._retry_at = clock.monotonic() + RETRY_SECONDS
            return
        if upper > 0 and since < upper:
            # Readable below the upper: listen from as high as possible but below the
            # upper, so that the first batch comes at once with every update.
            read_as_of = max(since, min(self.dataflow.as_of, upper - 1))
        else:
            # Upper 0: nothing was ever written. Since at the upper: unreadable, taken as empty.
            read_as_of = max(since, self.dataflow.as_of)
            self.known_upper = max(self.known_upper, upper)
            self.known = True
        self._reader = ListenReader(
            self._services.storage,
            self.address,
            self.shard,
            read_as_of,
            self._services.post,
            self._on_target_batch,
        )
        self._reader.start()

    def _on_target_batch(self, upper: int, updates: list[Update]) -> None:
        if self._stopped:
            return
        if faults.on("mv-sink-ignores-target-contents"):
            updates = [u for u in updates if u[1] >= self.dataflow.as_of]  # FAULT: DF-4 (nothing before us)
        self.difference.add([(row, time, -diff) for row, time, diff in updates])
        self.known_upper = max(self.known_upper, upper)
        self.known = True

    def _on_batch(self, batch: Batch) -> None:
        self.difference.add(batch.oks)  # a view written to storage holds no errors (DF-1)

    def frontiers(self) -> tuple[int, int, int]:
        write = max(self.known_upper, self.written_upper)
        if faults.on("sink-stuck-if-shard-sealed") and (self._stuck or write > self.node.frontier):
            self._stuck = True  # FAULT: breaks RO-3 (another writer got ahead; the sink waits for ever)
            write = max(self.dataflow.as_of, self.written_upper)
        return (write, self.dataflow.input_frontier(), self.node.frontier)

    def step(self) -> None:
        if self._stopped or self._in_flight or not self.dataflow.running:
            return  # not started yet (variant suspend-until-scheduled): start() asks the shard's state
        if self._reader is None:
            if not self._asking and clock.monotonic() >= self._retry_at:
                self._ask_shard_state()
            return
        if not self.known:
            return
        if not self._may_write():
            # Read-only: below the shard's upper only the sum matters; keep it summed.
            self.difference.settle(self.known_upper)
            return
        lower = self.known_upper
        new_upper = self.node.frontier
        if lower < self.written_upper or new_upper <= lower or clock.monotonic() < self._retry_at:
            return
        updates = self._correction(lower, new_upper)
        self._in_flight = True
        self._services.writer.compare_and_append(
            self.address,
            self.shard,
            lower,
            new_upper,
            updates,
            lambda result: self._on_append(lower, new_upper, result),
        )

    def _may_write(self) -> bool:
        writer = self._services.writer
        if faults.on("write-before-allow"):
            return True  # FAULT: breaks RO-1
        if faults.on("allow-writes-forgotten"):
            return writer.allowed_on_this_stream  # FAULT: breaks RO-2
        if faults.on("read-only-sink-stays-read-only"):
            return self._writable_at_creation  # FAULT: breaks RO-3
        return writer.writable

    def _correction(self, lower: int, new_upper: int) -> list[Update]:
        updates: list[Update] = [
            (row, lower, count) for row, count in self.difference.contents_at(lower).values()
        ]
        if faults.on("mv-sink-no-correction"):
            updates = []  # FAULT: breaks DF-4
        updates += self.difference.between(lower + 1, new_upper)
        return consolidate(updates)

    def _on_append(self, lower: int, new_upper: int, result: AppendResult) -> None:
        self._in_flight = False
        if self._stopped:
            return
        if result.error is not None:
            log.info("materialized view %s: append failed (%s); retrying", self.collection, result.error)
            self._retry_at = clock.monotonic() + RETRY_SECONDS
            return
        # Applied: our new upper. Refused: someone else's. Either way, wait for Listen to
        # show the shard at that upper before computing the next correction.
        self.written_upper = max(self.written_upper, result.current_upper)
        if not result.applied and result.current_upper <= lower:
            self._retry_at = clock.monotonic() + RETRY_SECONDS  # the shard went backwards?!
        self.difference.settle(lower)

    def teardown(self) -> None:
        self._stopped = True
        self.node.unsubscribe(self._on_batch)
        if self._reader is not None:
            self._reader.stop()
