"""The storage harness: the suite's in-process storage service (spec 5.4).

The suite drives input time through it (`create_shard`, `append`, `advance_since`, `seal`),
and a replica reaches it over gRPC (`service.py`) to Listen, CompareAndAppend and PutBlob.
Every state change and every refused write becomes one `StorageEvent`, applied to the
`ShardLog` and handed to the listeners under one lock: listeners run synchronously, in
`seq` order, before the writer (suite or replica) gets its answer. A listener must therefore
not wait for another thread that uses the harness.

Nothing here judges the replica: a write while read-only is stored and logged like any
other, and the oracle reads the log.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from typing import Any

import grpc
from compute_protocol.v1 import common_pb2, storage_pb2_grpc

from conformance.storage.events import SUITE_WRITER, EventKind, Listener, StorageEvent, Update
from conformance.storage.service import StorageRejection, StorageService
from conformance.storage.shards import Blob, ShardLog
from conformance.wire.frontiers import EMPTY, Frontier, fmt
from conformance.wire.rows import Row, fmt_row

_log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1 << 30
# Every open Listen holds a server thread until its stream ends.
DEFAULT_MAX_THREADS = 1024
# Threads kept for unary calls however many Listens are open.
_RESERVED_THREADS = 32
# How often a waiting Listen re-checks that its call is still alive, should a wake-up be
# missed; normally a notification (a write, a cancelled call, stop) wakes it at once.
DEFAULT_POLL_SECONDS = 1.0

Batch = tuple[int, Frontier, list[Update]]   # (lower, upper, updates)


class StorageHarness:
    def __init__(
        self,
        listen: str = "127.0.0.1:0",
        advertise: str | None = None,
        *,
        max_threads: int = DEFAULT_MAX_THREADS,
        stop_grace: float = 0.5,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        tls: grpc.ServerCredentials | None = None,
    ) -> None:
        """`tls`: serve TLS (and require client certificates if the credentials say so)."""
        self.log = ShardLog()
        self._tls = tls
        self.listener_errors: list[tuple[StorageEvent, BaseException]] = []
        self._listen = listen
        self._advertise = advertise
        self._max_threads = max_threads
        self._max_listens = max(1, max_threads - _RESERVED_THREADS)
        self._stop_grace = stop_grace
        self._poll_seconds = poll_seconds
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Listener] = []
        self._events: list[StorageEvent] = []
        self._seq = 0
        self._open_listens = 0
        self._stopping = False
        self._bound = ""
        self._server: Any = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self._ids = itertools.count(1)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("storage harness already started")
        self._executor = futures.ThreadPoolExecutor(self._max_threads, thread_name_prefix="storage")
        server = grpc.server(
            self._executor,
            options=[
                ("grpc.so_reuseport", 0),  # a stale service and a new one never share a port
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        storage_pb2_grpc.add_ProtoStorageServicer_to_server(StorageService(self), server)
        # Both raise RuntimeError if they cannot bind.
        if self._tls is None:
            port = server.add_insecure_port(self._listen)
        else:
            port = server.add_secure_port(self._listen, self._tls)
        host = self._listen.rsplit(":", 1)[0]
        self._bound = f"{host}:{port}"
        server.start()
        self._server = server

    def stop(self, timeout: float = 5.0) -> None:
        """End every Listen (UNAVAILABLE), refuse new calls, and return within about `timeout`."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._server is not None:
            self._server.stop(self._stop_grace).wait(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> StorageHarness:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """What CollectionMetadata carries: `advertise` if given, else the bound address."""
        if self._advertise:
            return self._advertise
        if not self._bound:
            raise RuntimeError("storage harness not started")
        return self._bound

    @property
    def bound_address(self) -> str:
        return self._bound

    # -- events --------------------------------------------------------------------------

    def add_listener(self, fn: Listener) -> None:
        """Call fn(event) for every later event, synchronously and in seq order, with the
        harness lock held: fn may read the harness but must not write to it or wait for a
        thread that does. An exception from fn is logged and kept in `listener_errors`."""
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        with self._lock:
            self._listeners.remove(fn)

    def events(self) -> list[StorageEvent]:
        with self._lock:
            return list(self._events)

    def _emit(self, kind: EventKind, **fields: Any) -> StorageEvent:
        """Record one event: apply it, tell every listener, wake the Listens. Lock held."""
        self._seq += 1
        event = StorageEvent(kind, self._seq, time.monotonic(), **fields)
        self.log.apply(event)
        self._events.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception as error:  # an oracle bug must not look like a storage failure
                _log.exception("storage listener failed on event #%d", event.seq)
                self.listener_errors.append((event, error))
        self._changed.notify_all()
        return event

    # -- the suite's writes --------------------------------------------------------------

    def new_shard_id(self, prefix: str = "shard") -> str:
        """A shard id not used before in this harness."""
        with self._lock:
            while True:
                shard_id = f"{prefix}-{next(self._ids)}"
                if not self.log.has_shard(shard_id):
                    return shard_id

    def create_shard(self, shard_id: str, arity: int, *, upper: Frontier = 0, since: int = 0) -> StorageEvent:
        """A new shard; upper [0] normally, [as_of] for a materialized view's target."""
        with self._lock:
            if self.log.has_shard(shard_id):
                raise ValueError(f"shard {shard_id!r} already exists")
            if arity < 0:
                raise ValueError(f"shard {shard_id!r}: negative arity {arity}")
            return self._emit("create_shard", shard_id=shard_id, arity=arity, upper=upper, since=since)

    def append(self, shard_id: str, updates: Sequence[Update], new_upper: Frontier) -> StorageEvent:
        """Write updates as the suite and advance the upper; raises ValueError if malformed."""
        with self._lock:
            shard = self.log.shard(shard_id)
            problem = self._malformed(shard_id, shard.upper, new_upper, updates)
            if problem:
                raise ValueError(problem)
            if any(diff == 0 for _, _, diff in updates):
                raise ValueError(f"append to {shard_id}: an update with diff 0")
            return self._emit("append", shard_id=shard_id, writer_id=SUITE_WRITER, lower=shard.upper,
                              upper=new_upper, updates=tuple(updates))

    def advance_upper(self, shard_id: str, new_upper: Frontier) -> StorageEvent:
        return self.append(shard_id, (), new_upper)

    def seal(self, shard_id: str) -> StorageEvent | None:
        """Advance the upper to [] (ends every Listen); None if it already is."""
        with self._lock:
            if self.log.upper(shard_id) == EMPTY:
                return None
            return self.append(shard_id, (), EMPTY)

    def advance_since(self, shard_id: str, since: int) -> StorageEvent:
        with self._lock:
            current = self.log.since(shard_id)
            if since < current:
                raise ValueError(f"since of {shard_id} would regress from {current} to {since}")
            return self._emit("since", shard_id=shard_id, since=since)

    def _malformed(self, shard_id: str, expected: Frontier, new_upper: Frontier,
                   updates: Sequence[Update]) -> str:
        """Why an append is malformed, or "" (spec 5.4)."""
        if new_upper > EMPTY:
            return f"append to {shard_id}: new upper {new_upper} beyond the empty frontier"
        if new_upper <= expected:
            return f"append to {shard_id}: new upper {fmt(new_upper)} is not beyond {fmt(expected)}"
        arity = self.log.arity(shard_id)
        for row, t, _ in updates:
            if not expected <= t < new_upper:
                return (f"append to {shard_id}: update {fmt_row(row)} at time {t} outside "
                        f"[{expected}, {fmt(new_upper)})")
            if len(row) != arity:
                return f"append to {shard_id}: row {fmt_row(row)} has {len(row)} columns, the shard {arity}"
        return ""

    # -- reads ---------------------------------------------------------------------------

    def upper(self, shard_id: str) -> Frontier:
        with self._lock:
            return self.log.upper(shard_id)

    def wait_upper(self, shard_id: str, at_least: Frontier, timeout: float) -> Frontier:
        """The shard's upper once it reaches `at_least`, or after `timeout` seconds, whichever
        comes first: every write notifies, so this never polls."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (upper := self.log.upper(shard_id)) < at_least and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return upper

    def since(self, shard_id: str) -> int:
        with self._lock:
            return self.log.since(shard_id)

    def updates(self, shard_id: str) -> list[Update]:
        with self._lock:
            return list(self.log.updates(shard_id))

    def contents_at(self, shard_id: str, t: int) -> dict[Row, int]:
        with self._lock:
            return self.log.contents_at(shard_id, t)

    def blob(self, key: str) -> Blob | None:
        with self._lock:
            return self.log.blob(key)

    def metadata(self, shard_id: str, relation_desc: common_pb2.ProtoRelationDesc | None = None,
                 ) -> common_pb2.ProtoCollectionMetadata:
        """Where a replica finds the shard: the advertised address and the shard id."""
        if relation_desc is None:
            columns = [common_pb2.ProtoColumnType(nullable=True, name=f"c{i}")
                       for i in range(self.log.arity(shard_id))]
            relation_desc = common_pb2.ProtoRelationDesc(columns=columns)
        return common_pb2.ProtoCollectionMetadata(storage_address=self.address, shard_id=shard_id,
                                                  relation_desc=relation_desc)

    # -- the replica's requests (called by service.py) -----------------------------------

    def compare_and_append(self, shard_id: str, expected: Frontier, new_upper: Frontier,
                           updates: Sequence[Update], writer_id: str, peer: str) -> tuple[bool, Frontier]:
        """(applied, current upper); raises StorageRejection for a malformed request."""
        with self._lock:
            base = {"shard_id": shard_id, "writer_id": writer_id, "peer": peer, "lower": expected,
                    "upper": new_upper}
            if not self.log.has_shard(shard_id):
                raise StorageRejection(grpc.StatusCode.NOT_FOUND, f"unknown shard {shard_id!r}")
            problem = self._malformed(shard_id, expected, new_upper, updates)
            if not problem and writer_id == SUITE_WRITER:
                problem = f"writer id {SUITE_WRITER!r} is reserved for the suite's own writes"
            if problem:
                self._emit("append_rejected", detail=problem, **base)
                raise StorageRejection(grpc.StatusCode.INVALID_ARGUMENT, problem)
            current = self.log.upper(shard_id)
            if current != expected:
                self._emit("append_rejected", detail=f"upper mismatch: the shard's upper is {fmt(current)}",
                           **base)
                return False, current
            self._emit("append", updates=tuple(updates), **base)
            return True, new_upper

    def put_blob(self, key: str, rows: Sequence[Row], writer_id: str, peer: str) -> None:
        with self._lock:
            base = {"key": key, "writer_id": writer_id, "peer": peer}
            if not key:
                self._emit("blob_rejected", detail="empty blob key", **base)
                raise StorageRejection(grpc.StatusCode.INVALID_ARGUMENT, "empty blob key")
            if writer_id == SUITE_WRITER:
                detail = f"writer id {SUITE_WRITER!r} is reserved for the suite's own writes"
                self._emit("blob_rejected", detail=detail, **base)
                raise StorageRejection(grpc.StatusCode.INVALID_ARGUMENT, detail)
            if self.log.blob(key) is not None:
                self._emit("blob_rejected", detail="key already exists", **base)
                raise StorageRejection(grpc.StatusCode.ALREADY_EXISTS, f"blob {key!r} already exists")
            self._emit("blob_put", rows=tuple(rows), **base)

    def reject_undecodable(self, kind: EventKind, detail: str, *, shard_id: str = "", key: str = "",
                           writer_id: str = "", peer: str = "") -> None:
        """Log a write whose request could not even be decoded (a malformed frontier or datum)."""
        with self._lock:
            self._emit(kind, detail=detail, shard_id=shard_id, key=key, writer_id=writer_id, peer=peer)

    def get_shard(self, shard_id: str) -> tuple[Frontier, int]:
        with self._lock:
            if not self.log.has_shard(shard_id):
                raise StorageRejection(grpc.StatusCode.NOT_FOUND, f"unknown shard {shard_id!r}")
            return self.log.upper(shard_id), self.log.since(shard_id)

    def open_listen(self, shard_id: str, as_of: int, reader_id: str, peer: str) -> None:
        """Admit a Listen or refuse it (logged either way); pair with close_listen."""
        with self._lock:
            base = {"shard_id": shard_id, "as_of": as_of, "reader_id": reader_id, "peer": peer}
            refusal: StorageRejection | None = None
            if self._stopping:
                refusal = StorageRejection(grpc.StatusCode.UNAVAILABLE, "storage harness stopping")
            elif not self.log.has_shard(shard_id):
                refusal = StorageRejection(grpc.StatusCode.NOT_FOUND, f"unknown shard {shard_id!r}")
            elif as_of < self.log.since(shard_id):
                refusal = StorageRejection(grpc.StatusCode.FAILED_PRECONDITION,
                                           f"as_of {as_of} is below the since {self.log.since(shard_id)} "
                                           f"of shard {shard_id!r}")
            elif self._open_listens >= self._max_listens:
                refusal = StorageRejection(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                           f"more than {self._max_listens} concurrent Listens")
            if refusal is not None:
                self._emit("listen", detail=f"refused: {refusal.message}", **base)
                raise refusal
            self._open_listens += 1
            self._emit("listen", detail="opened", **base)

    def close_listen(self) -> None:
        with self._lock:
            self._open_listens -= 1

    def wake(self) -> None:
        """Make waiting Listens re-check their call (used when a call ends)."""
        with self._changed:
            self._changed.notify_all()

    def listen_batches(self, shard_id: str, as_of: int, is_active: Callable[[], bool]) -> Iterator[Batch]:
        """The batches of one Listen (spec 5.4): first, once upper > as_of, lower [0] with the
        contents at as_of (at time as_of) and the updates in (as_of, upper); then one batch
        per upper advance. Ends after upper [], or early (without a final batch) when the call
        is no longer active or the harness stops; `stopping` tells those two apart."""
        with self._changed:
            if not self._wait(lambda: self.log.upper(shard_id) > as_of, is_active):
                return
            upper = self.log.upper(shard_id)
            seen = len(self.log.upper_history(shard_id))
            snapshot = [(row, as_of, m) for row, m in self.log.contents_at(shard_id, as_of).items()]
            first = snapshot + self.log.updates_between(shard_id, as_of + 1, upper)
        yield 0, upper, first
        while upper != EMPTY:
            with self._changed:
                if not self._wait(functools.partial(self._advanced, shard_id, seen), is_active):
                    return
                lower, upper = upper, self.log.upper_history(shard_id)[seen]
                seen += 1
                batch = self.log.updates_between(shard_id, lower, upper)
            yield lower, upper, batch

    def _advanced(self, shard_id: str, seen: int) -> bool:
        return len(self.log.upper_history(shard_id)) > seen

    def _wait(self, ready: Callable[[], bool], is_active: Callable[[], bool]) -> bool:
        """Wait (lock held) until ready; False if the call ended or the harness is stopping."""
        while not ready():
            if self._stopping or not is_active():
                return False
            self._changed.wait(self._poll_seconds)
        return True

    @property
    def open_listens(self) -> int:
        with self._lock:
            return self._open_listens

    @property
    def stopping(self) -> bool:
        return self._stopping
