"""Following a shard with `Listen` (spec 5.4), on a thread of its own.

`Listen(shard, as_of)` first sends, once the shard's upper passes `as_of`, a batch holding
the contents at `as_of` and the updates up to the upper, and then one batch per upper
advance. The reader converts each batch to rows on its own thread and hands it to the engine
thread with `post`. If the stream breaks, it listens again from the last upper it delivered
(as_of one below it) and keeps only the times it has not delivered yet. `stop()` cancels the
call, which is how dataflows, sinks and peeks let go of a shard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import grpc
from compute_protocol.v1 import storage_pb2

from reference_replica import frontier, rows
from reference_replica.dataflow.batch import Update
from reference_replica.frontier import EMPTY
from reference_replica.storage.client import StorageClient

log = logging.getLogger(__name__)

OnBatch = Callable[[int, list[Update]], None]  # (upper, updates), run on the engine thread
OnFailure = Callable[[str], None]  # the shard cannot be read at this as_of (since beyond it)
Post = Callable[[Callable[[], None]], None]


TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.CANCELLED,  # by the server (ours are caught before: `_stopped` is set)
    }
)
"""Failures worth listening again for; any other (FAILED_PRECONDITION: as_of below the since,
NOT_FOUND, ...) means the shard cannot be read at this as_of."""


def convert(batch: storage_pb2.ProtoListenBatch) -> list[Update]:
    from_proto = rows.from_proto
    return [(from_proto(u.row), u.timestamp, u.diff) for u in batch.updates]


class ListenReader:
    def __init__(
        self,
        client: StorageClient,
        address: str,
        shard: str,
        as_of: int,
        post: Post,
        on_batch: OnBatch,
        on_failure: OnFailure | None = None,
        retry: bool = True,
    ) -> None:
        self.address = address
        self.shard = shard
        self.as_of = as_of
        self._client = client
        self._post = post
        self._on_batch = on_batch
        self._on_failure = on_failure
        self._retry = retry
        self._stopped = threading.Event()
        self._call: grpc.Future | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"listen-{shard}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def _run(self) -> None:
        delivered: int | None = None  # the last upper handed to the engine
        backoff = 0.05
        while not self._stopped.is_set():
            as_of = self.as_of if delivered is None else delivered - 1
            request = storage_pb2.ProtoListenRequest(
                shard_id=self.shard, as_of=as_of, reader_id=self._client.reader_id
            )
            try:
                call = self._client.stub(self.address).Listen(request)
                with self._lock:
                    self._call = call
                if self._stopped.is_set():
                    call.cancel()
                    return
                for batch in call:
                    if delivered is None:
                        self._client.answered(self.address)
                    upper = frontier.from_proto(batch.upper)
                    updates = convert(batch)
                    if delivered is not None:
                        if upper <= delivered:
                            continue
                        updates = [u for u in updates if u[1] >= delivered]
                    delivered = upper
                    self._post(lambda upper=upper, updates=updates: self._deliver(upper, updates))  # type: ignore[misc]
                    backoff = 0.05
                    if upper == EMPTY:
                        return
            except grpc.RpcError as error:
                if self._stopped.is_set():
                    return
                self._client.failed(self.address, error)  # a misconfiguration is reported, then retried
                code = error.code()
                if code not in TRANSIENT or not self._retry:
                    where = f"Listen({self.shard}, as_of={as_of}) at {self.address}"
                    self._fail(f"{where}: {code.name}: {error.details()}")
                    return
                log.info("Listen(%s) at %s broke (%s); listening again", self.shard, self.address, code.name)
            except Exception:  # a malformed batch from the storage service: log and stop reading
                if not self._stopped.is_set():
                    log.exception("Listen(%s) at %s: cannot read a batch", self.shard, self.address)
                return
            if self._stopped.wait(backoff):
                return
            backoff = min(backoff * 2, 1.0)

    def _fail(self, message: str) -> None:
        log.warning("%s", message)
        on_failure = self._on_failure
        if on_failure is not None:
            self._post(lambda: on_failure(message))

    def _deliver(self, upper: int, updates: list[Update]) -> None:
        if not self._stopped.is_set():
            self._on_batch(upper, updates)
