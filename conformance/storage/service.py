"""`ProtoStorage` over gRPC: translates requests to the harness and its answers back.

Every Listen holds one server thread while open; a cancellation callback wakes it so that a
departed reader frees its thread at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import grpc
from compute_protocol.v1 import storage_pb2, storage_pb2_grpc

from conformance.storage.events import Update
from conformance.wire import frontiers
from conformance.wire.rows import Row, row_from_proto, row_to_proto

if TYPE_CHECKING:
    from conformance.storage.harness import StorageHarness


class StorageRejection(Exception):
    """A request the storage service refuses; `code` names the gRPC status to answer with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def update_from_proto(u: storage_pb2.ProtoStorageUpdate) -> Update:
    return (row_from_proto(u.row), u.timestamp, u.diff)


def update_to_proto(u: Update) -> storage_pb2.ProtoStorageUpdate:
    row, t, diff = u
    return storage_pb2.ProtoStorageUpdate(row=row_to_proto(row), timestamp=t, diff=diff)


class StorageService(storage_pb2_grpc.ProtoStorageServicer):
    def __init__(self, harness: StorageHarness) -> None:
        self._harness = harness

    def Listen(self, request: storage_pb2.ProtoListenRequest, context: Any,
               ) -> Iterator[storage_pb2.ProtoListenBatch]:
        h = self._harness
        try:
            h.open_listen(request.shard_id, request.as_of, request.reader_id, context.peer())
        except StorageRejection as refusal:
            context.abort(refusal.code, refusal.message)
        try:
            context.add_callback(h.wake)
            for lower, upper, updates in h.listen_batches(request.shard_id, request.as_of, context.is_active):
                yield storage_pb2.ProtoListenBatch(
                    lower=frontiers.to_proto(lower),
                    upper=frontiers.to_proto(upper),
                    updates=[update_to_proto(u) for u in updates],
                )
            if h.stopping:
                context.abort(grpc.StatusCode.UNAVAILABLE, "storage harness stopping")
        finally:
            h.close_listen()

    def CompareAndAppend(self, request: storage_pb2.ProtoCompareAndAppendRequest, context: Any,
                         ) -> storage_pb2.ProtoCompareAndAppendResponse:
        try:
            expected = frontiers.from_proto(request.expected_upper)
            new_upper = frontiers.from_proto(request.new_upper)
            updates = [update_from_proto(u) for u in request.updates]
        except ValueError as error:  # a malformed frontier or a datum with no kind
            detail = f"CompareAndAppend to {request.shard_id}: {error}"
            self._harness.reject_undecodable("append_rejected", detail, shard_id=request.shard_id,
                                             writer_id=request.writer_id, peer=context.peer())
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, detail)
        try:
            applied, current = self._harness.compare_and_append(
                request.shard_id, expected, new_upper, updates, request.writer_id, context.peer())
        except StorageRejection as refusal:
            context.abort(refusal.code, refusal.message)
        return storage_pb2.ProtoCompareAndAppendResponse(applied=applied,
                                                         current_upper=frontiers.to_proto(current))

    def GetShard(self, request: storage_pb2.ProtoGetShardRequest, context: Any,
                 ) -> storage_pb2.ProtoShardState:
        try:
            upper, since = self._harness.get_shard(request.shard_id)
        except StorageRejection as refusal:
            context.abort(refusal.code, refusal.message)
        return storage_pb2.ProtoShardState(upper=frontiers.to_proto(upper), since=frontiers.to_proto(since))

    def PutBlob(self, request: storage_pb2.ProtoPutBlobRequest, context: Any,
                ) -> storage_pb2.ProtoPutBlobResponse:
        try:
            rows: list[Row] = [row_from_proto(r) for r in request.rows]
        except ValueError as error:
            detail = f"PutBlob {request.key!r}: {error}"
            self._harness.reject_undecodable("blob_rejected", detail, key=request.key,
                                             writer_id=request.writer_id, peer=context.peer())
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, detail)
        try:
            self._harness.put_blob(request.key, rows, request.writer_id, context.peer())
        except StorageRejection as refusal:
            context.abort(refusal.code, refusal.message)
        return storage_pb2.ProtoPutBlobResponse()
