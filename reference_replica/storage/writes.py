"""The one door through which the replica changes storage (spec section 13).

Until the replica is writable (AllowWrites on any connection, ever) it must not write at all:
no CompareAndAppend, no PutBlob (RO-1). Sinks ask here, and here is the check, so no code
path can forget it. Writes run on the storage client's thread pool; their outcome is handed
back to the engine thread through `post`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from compute_protocol.v1 import storage_pb2

from reference_replica import faults, frontier, rows, variants
from reference_replica.rows import Row
from reference_replica.storage.client import UNARY_TIMEOUT, StorageClient

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]


@dataclass(frozen=True)
class AppendResult:
    applied: bool
    current_upper: int  # after the call (our new upper if applied)
    error: str | None = None  # the call itself failed


@dataclass(frozen=True)
class BlobResult:
    error: str | None  # None: written


BLOB_DELAY: float = 0.0
"""Seconds every PutBlob waits before it is sent (`--blob-delay`): a slow object store, so that
copy-to answers come late but legally. Only the suite's own tests set it (a replica whose
legal slowness must not be mistaken for a liveness bug); 0 in every other run."""


class ReadOnlyViolation(AssertionError):
    """A write was attempted before AllowWrites: a bug in the replica."""


class StorageWriter:
    def __init__(self, client: StorageClient, post: Post) -> None:
        self._client = client
        self._post = post
        self.writable = False  # AllowWrites seen on any connection; never reset (RO-2)
        self.allowed_on_this_stream = False  # AllowWrites seen on the current stream (only faults read it)
        self.blobs_written: dict[tuple[str, str], bytes] = {}  # (address, key) -> contents digest

    def compare_and_append(
        self,
        address: str,
        shard: str,
        expected_upper: int,
        new_upper: int,
        updates: Sequence[tuple[Row, int, int]],
        done: Callable[[AppendResult], None],
    ) -> None:
        if not self.writable and not faults.on("write-before-allow"):  # FAULT: write-before-allow, RO-1
            raise ReadOnlyViolation(f"CompareAndAppend to {shard} while read-only")
        request = storage_pb2.ProtoCompareAndAppendRequest(
            shard_id=shard,
            expected_upper=frontier.to_proto(expected_upper),
            new_upper=frontier.to_proto(new_upper),
            writer_id=self._client.writer_id,
        )
        for row, time, diff in updates:
            update = request.updates.add()
            rows.fill_proto(update.row, row)
            update.timestamp = time
            update.diff = diff

        def call() -> None:
            try:
                reply = self._client.stub(address).CompareAndAppend(request, timeout=UNARY_TIMEOUT)
                result = AppendResult(reply.applied, frontier.from_proto(reply.current_upper))
                self._client.answered(address)
            except grpc.RpcError as error:
                self._client.failed(address, error)
                result = AppendResult(False, expected_upper, f"{error.code().name}: {error.details()}")
            self._post(lambda: done(result))

        self._client.executor.submit(call)

    def put_blob(
        self, address: str, key: str, blob_rows: list[Row], done: Callable[[BlobResult], None]
    ) -> None:
        if not self.writable and not variants.on("copy-to-ignores-read-only"):  # VARIANT: RO-5
            raise ReadOnlyViolation(f"PutBlob {key} while read-only")
        request = storage_pb2.ProtoPutBlobRequest(key=key, writer_id=self._client.writer_id)
        for row in blob_rows:
            rows.fill_proto(request.rows.add(), row)

        def call() -> None:
            try:
                self._client.stub(address).PutBlob(request, timeout=UNARY_TIMEOUT)
                result = BlobResult(None)
                self._client.answered(address)
            except grpc.RpcError as error:
                self._client.failed(address, error)
                result = BlobResult(f"PutBlob {key}: {error.code().name}: {error.details()}")
            self._post(lambda: done(result))

        if BLOB_DELAY > 0:
            timer = threading.Timer(BLOB_DELAY, self._client.executor.submit, args=(call,))
            timer.daemon = True
            timer.start()
        else:
            self._client.executor.submit(call)

    def get_shard(self, address: str, shard: str, done: Callable[[int, int, str | None], None]) -> None:
        """Read a shard's (upper, since); reads are allowed at any time."""

        def call() -> None:
            try:
                state = self._client.stub(address).GetShard(
                    storage_pb2.ProtoGetShardRequest(shard_id=shard), timeout=UNARY_TIMEOUT
                )
                upper, since, error = frontier.from_proto(state.upper), frontier.from_proto(state.since), None
                self._client.answered(address)
            except grpc.RpcError as exc:
                self._client.failed(address, exc)
                upper, since, error = 0, 0, f"GetShard {shard}: {exc.code().name}: {exc.details()}"
            self._post(lambda: done(upper, since, error))

        self._client.executor.submit(call)


__all__ = ["AppendResult", "BlobResult", "StorageWriter"]
