"""Copy-to sinks (spec section 10): the contents at as_of, written once as a blob.

The sink sums the collection's updates at `as_of` (inputs below as_of were advanced to it).
Once those contents are final and the replica is writable (a blob is a write, section 13),
it answers exactly once (COPY-1): `Error` if the collection holds errors or a negative
multiplicity at as_of, otherwise it writes the blob (each row repeated by its multiplicity)
and answers `RowCount(total multiplicity)`, or `Error` if the write failed. A drop before
that answers `Dropped` (COPY-4).

Across a reconnect the controller replays a copy-to that is still live, and the new
iteration must answer again (COPY-3), but the blob may already exist. The storage writer
remembers the blobs this process wrote; if the same key was written with exactly these
contents, the sink answers `RowCount` without writing again.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from compute_protocol.v1 import dataflow_pb2

from reference_replica import faults, frontier, responses, variants
from reference_replica.dataflow.batch import Batch
from reference_replica.dataflow.node import Node
from reference_replica.exports.base import Export
from reference_replica.rows import Row, encode
from reference_replica.services import Services
from reference_replica.storage.writes import BlobResult

if TYPE_CHECKING:
    from reference_replica.dataflow.dataflow import Dataflow


class CopyToExport(Export):
    kind = "copy_to"

    def __init__(
        self,
        collection: str,
        dataflow: Dataflow,
        node: Node,
        connection: dataflow_pb2.ProtoCopyToConnection,
        services: Services,
    ) -> None:
        super().__init__(collection, dataflow, node)
        self.address = connection.storage_address
        self.key = connection.blob_key
        self._services = services
        self._contents: dict[bytes, tuple[Row, int]] = {}
        self._errors: dict[str, int] = {}
        self.answered = False
        self._writing = False
        node.subscribe(self._on_batch)

    def _on_batch(self, batch: Batch) -> None:
        as_of = self.dataflow.as_of
        if faults.on("copy-to-off-by-one"):
            as_of -= 1  # FAULT: breaks COPY-4 (t < as_of)
        for row, time, diff in batch.oks:
            if time <= as_of:
                key = encode(row)
                entry = self._contents.get(key)
                count = diff if entry is None else entry[1] + diff
                if count:
                    self._contents[key] = (row, count)
                else:
                    self._contents.pop(key, None)
        for message, time, diff in batch.errs:
            if time <= as_of:
                self._errors[message] = self._errors.get(message, 0) + diff

    def _final(self) -> bool:
        return self.node.frontier > min(self.dataflow.as_of, self.dataflow.until - 1)

    def step(self) -> None:
        writable = self._services.writer.writable or variants.on("copy-to-ignores-read-only")  # VARIANT: RO-5
        if self.answered or self._writing or not self._final() or not writable:
            return
        if any(self._errors.values()):
            self._answer(responses.copy_to_error(self.collection, "the collection holds errors at as_of"))
            return
        if any(count < 0 for _, count in self._contents.values()):
            self._answer(responses.copy_to_error(self.collection, "negative multiplicity at as_of"))
            return
        blob_rows = [row for row, count in self._contents.values() for _ in range(count)]
        digest = hashlib.sha256(b"".join(sorted(encode(row) for row in blob_rows))).digest()
        written = self._services.writer.blobs_written.get((self.address, self.key))
        if written == digest:
            self._answer(responses.copy_to_rows(self.collection, len(blob_rows)))
            return
        self._writing = True
        self._services.writer.put_blob(
            self.address, self.key, blob_rows, lambda result: self._on_written(result, digest, len(blob_rows))
        )

    def _on_written(self, result: BlobResult, digest: bytes, count: int) -> None:
        self._writing = False
        if result.error is None:
            self._services.writer.blobs_written[(self.address, self.key)] = digest
        if self.answered:
            return  # dropped meanwhile, or torn down by reconciliation
        if result.error is None:
            self._answer(responses.copy_to_rows(self.collection, count))
        else:
            self._answer(responses.copy_to_error(self.collection, result.error))

    def _answer(self, response: responses.Response) -> None:
        self.answered = True
        self.node.unsubscribe(self._on_batch)
        rows = response.copy_to_response.resp.WhichOneof("kind") == "rows"
        if rows and faults.on("copy-to-never-answers"):
            return  # FAULT: breaks COPY-3
        send = self._services.responder.send
        send(response)
        if rows and faults.on("copy-to-twice"):
            send(response)  # FAULT: breaks COPY-1
        if faults.on("frontier-after-copy-to"):
            send(responses.frontiers(self.collection, frontier.EMPTY, frontier.EMPTY, frontier.EMPTY))  # FAULT

    def drop(self) -> None:
        self.dropped = True
        if not self.answered:
            self._answer(responses.copy_to_dropped(self.collection))

    def teardown(self) -> None:
        self.answered = True
        self.node.unsubscribe(self._on_batch)

    def finished(self) -> bool:
        return self.answered
