"""Subscribe sinks (spec section 9): the changes of a collection, as a chain of batches.

The chain starts at `[0]` and each batch starts where the previous one ended (SUB-1), so
the first batch covers everything below the first upper; every interval is non-empty
(SUB-2). Each time the collection's frontier advances, one batch goes out with the updates
of the newly complete times, consolidated (SUB-5): times at or beyond `up_to` are left out,
and so is the snapshot at `as_of` without `with_snapshot`. When the frontier reaches
`up_to` (or `[]`) the batch gets upper `[]` and the subscribe is finished (SUB-10, SUB-11).

A batch whose interval contains a time at which the collection holds errors, or whose
updates are larger than `max_result_size` (read when the batch is built, CONFIG-1), carries
an error instead (SUB-7, SUB-9), and so does every batch after it (SUB-8). Dropped before
its end, the subscribe says `DroppedAt(upper of the last batch)` once and then nothing
(SUB-12, SUB-13).
"""

from __future__ import annotations

import bisect
import time
from typing import TYPE_CHECKING

from reference_replica import faults, responses, rows, variants
from reference_replica.dataflow.batch import Batch, ErrUpdate, Update, by_time
from reference_replica.dataflow.node import Node
from reference_replica.exports.base import Export
from reference_replica.frontier import EMPTY
from reference_replica.services import Services

if TYPE_CHECKING:
    from reference_replica.dataflow.dataflow import Dataflow

ERROR_IN_COLLECTION = "the subscribed collection holds errors"


class SubscribeExport(Export):
    kind = "subscribe"

    def __init__(
        self,
        collection: str,
        dataflow: Dataflow,
        node: Node,
        with_snapshot: bool,
        up_to: int,
        services: Services,
    ) -> None:
        super().__init__(collection, dataflow, node)
        self.with_snapshot = with_snapshot
        self.up_to = up_to
        self.as_of = dataflow.as_of
        self._services = services
        self.sent_upper = 0  # the upper of the last batch sent ([0]: none sent)
        self.sent_lower = 0  # the lower of the last batch sent (only a fault reads it)
        self.done = False  # final batch or DroppedAt sent
        self.poisoned = False  # an error batch was sent (SUB-8)
        self._errors: dict[str, int] = {}  # accumulated error multiset below the frontier
        self._merged: Batch | None = None  # progress held back (variant merge-subscribe-batches)
        self._merged_since = 0.0
        node.subscribe(self._receive)

    def start(self) -> None:
        if variants.on("suppress-early-progress") and self.dataflow.early():
            return  # VARIANT: FRONT-12, nothing until the inputs pass as_of (the first batch covers [0, ...))
        if self.up_to <= self.as_of:
            self._send(EMPTY, None)  # nothing can ever be emitted
        elif self.as_of > 0:
            if self.as_of > 1 and faults.on("subscribe-raw-initial-upper"):
                self._send(1, None)  # FAULT: breaks SUB-3 (the operator's initial frontier)
            self._send(self.as_of, None)  # below as_of there is nothing to say: cover it

    def _receive(self, batch: Batch) -> None:
        """A batch of the collection: turned into subscribe batches as they come (or, under the
        batching variants, split per time or held to merge with the next ones)."""
        if self.done:
            return
        if variants.on("split-subscribe-batches"):
            for part in _split(batch):
                self._on_batch(part)
            return
        if variants.on("merge-subscribe-batches") and batch.upper < min(EMPTY, self.up_to):
            if self._merged is None:
                self._merged, self._merged_since = batch, time.monotonic()
            else:
                m = self._merged
                self._merged = Batch(m.lower, batch.upper, m.oks + batch.oks, m.errs + batch.errs)
            return
        if self._merged is not None:
            m, self._merged = self._merged, None
            batch = Batch(m.lower, batch.upper, m.oks + batch.oks, m.errs + batch.errs)
        self._on_batch(batch)

    def step(self) -> None:
        if self._merged is not None and time.monotonic() - self._merged_since > 0.1 and not self.done:
            m, self._merged = self._merged, None  # VARIANT merge-subscribe-batches: held long enough
            self._on_batch(m)

    def _on_batch(self, batch: Batch) -> None:
        if self.done:
            return
        upper = EMPTY if batch.upper >= self.up_to else batch.upper
        error = ERROR_IN_COLLECTION if self._holds_errors(batch) else None
        if variants.on("no-snapshot-skips-errors"):
            error = ERROR_IN_COLLECTION if self._error_updates(batch) else None  # VARIANT: SUB-15
        if faults.on("subscribe-ignores-errors"):
            error = None  # FAULT: breaks SUB-7
        updates = []
        if error is None and not self.poisoned:
            first = self.as_of if self.with_snapshot else self.as_of + 1
            if faults.on("subscribe-no-snapshot"):
                first = self.as_of + 1  # FAULT: breaks SUB-6
            up_to = self.up_to + 1 if faults.on("up-to-inclusive") else self.up_to  # FAULT: t <= up_to
            updates = rows.consolidate(u for u in batch.oks if first <= u[1] < up_to)
            if upper < EMPTY and faults.on("subscribe-stamps-upper"):
                updates = [(row, upper, diff) for row, _, diff in updates]  # FAULT: breaks SUB-4
            if faults.on("subscribe-unconsolidated"):
                updates = [u for row, t, d in updates for u in ((row, t, d + 1), (row, t, -1))]  # FAULT: SUB-5
        self._send(upper, error, updates)

    def _error_updates(self, batch: Batch) -> bool:
        """Does the batch carry error updates a subscribe emits: at times from as_of (with the
        snapshot) or after it (without), below up_to? (Only the variant no-snapshot-skips-errors.)"""
        first = self.as_of if self.with_snapshot else self.as_of + 1
        net: dict[tuple[str, int], int] = {}
        for message, t, diff in batch.errs:
            if first <= t < self.up_to:
                net[(message, t)] = net.get((message, t), 0) + diff
        return any(net.values())

    def _holds_errors(self, batch: Batch) -> bool:
        """Does the collection hold errors at some time of the batch (below up_to)?"""
        limit = min(batch.upper, self.up_to)
        holds = batch.lower < limit and any(self._errors.values())
        for _, changes in by_time(e for e in batch.errs if e[1] < limit):
            for message, diff in changes:
                self._errors[message] = self._errors.get(message, 0) + diff
            holds = holds or any(self._errors.values())
        return holds

    def _send(
        self, upper: int, error: str | None, updates: list[tuple[rows.Row, int, int]] | None = None
    ) -> None:
        if upper == EMPTY and faults.on("subscribe-never-ends"):
            return  # FAULT: breaks SUB-10
        if not updates and error is None and upper < EMPTY and faults.on("subscribe-gap"):
            self.sent_upper = upper  # FAULT: breaks SUB-1 (the batch is not sent)
            return
        lower = self.sent_upper
        if lower > 0 and faults.on("subscribe-overlap"):
            lower -= 1  # FAULT: breaks SUB-1
        response = responses.subscribe_batch(self.collection, lower, upper)
        contents = response.subscribe_response.resp.batch.updates
        if error is None and not self.poisoned:
            out = contents.updates
            out.SetInParent()
            size = 0
            for row, time, diff in updates or []:
                update = out.updates.add()
                rows.fill_proto(update.row, row)
                update.timestamp = time
                update.diff = diff
                size += update.row.ByteSize() + 8  # spec 1.5
            if self._services.params.exceeds_result_size(size) and not faults.on(
                "subscribe-ignores-max-result-size"  # FAULT: breaks SUB-9
            ):
                error = f"subscribe batch of {size} bytes exceeds max_result_size"
        if error is not None or self.poisoned:
            contents.error = error or "the subscribe failed earlier"
            self.poisoned = True
        self._services.responder.send(response)
        self.sent_lower, self.sent_upper = self.sent_upper, upper
        if upper < EMPTY and faults.on("subscribe-empty-batch"):
            self._services.responder.send(responses.subscribe_batch(self.collection, upper, upper))  # FAULT
        if upper == EMPTY:
            self._finish()

    def drop(self) -> None:
        self.dropped = True
        if not self.done or faults.on("droppedat-after-final"):  # FAULT: droppedat-after-final, SUB-11
            at = self.sent_lower if faults.on("droppedat-wrong-frontier") else self.sent_upper  # FAULT: SUB-12
            if not faults.on("no-droppedat"):  # FAULT: breaks SUB-13
                self._services.responder.send(responses.subscribe_dropped_at(self.collection, at))
            self._finish()

    def _finish(self) -> None:
        self.done = True
        self.node.unsubscribe(self._receive)

    def teardown(self) -> None:
        self.done = True
        self.node.unsubscribe(self._receive)

    def finished(self) -> bool:
        return self.done


def _split(batch: Batch) -> list[Batch]:
    """One batch per update time (variant split-subscribe-batches): `[lower, t1 + 1)`,
    `[t1 + 1, t2 + 1)`, ..., then the rest up to the batch's upper. Each update goes to the
    first part whose upper is beyond its time."""
    cuts = sorted({t + 1 for _, t, _ in batch.oks} | {t + 1 for _, t, _ in batch.errs})
    bounds = [c for c in cuts if batch.lower < c < batch.upper] + [batch.upper]
    oks: list[list[Update]] = [[] for _ in bounds]
    errs: list[list[ErrUpdate]] = [[] for _ in bounds]
    for u in batch.oks:
        oks[min(bisect.bisect_right(bounds, u[1]), len(bounds) - 1)].append(u)
    for e in batch.errs:
        errs[min(bisect.bisect_right(bounds, e[1]), len(bounds) - 1)].append(e)
    lowers = [batch.lower, *bounds[:-1]]
    return [Batch(lo, hi, o, e) for lo, hi, o, e in zip(lowers, bounds, oks, errs, strict=True)]
