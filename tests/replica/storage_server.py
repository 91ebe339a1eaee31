"""A small in-test storage service (spec 5.4), so the replica's tests need nothing else.

Shards hold `(row, time, diff)` updates below their upper, and a since. Listen sends the
contents at as_of (times advanced) plus the updates up to the upper as its first batch, once
the upper passes as_of, and then one batch per upper advance. Every write is logged with
its writer id, so tests can see what the replica wrote and when.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
from compute_protocol.v1 import common_pb2, storage_pb2, storage_pb2_grpc

from tests.replica.plans import Row, Value, keyed, row, values_of

EMPTY = 1 << 64
OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]


def _frontier(t: int) -> common_pb2.ProtoU64Antichain:
    return common_pb2.ProtoU64Antichain(elements=[] if t >= EMPTY else [t])


def _from_frontier(a: common_pb2.ProtoU64Antichain) -> int:
    return EMPTY if not a.elements else int(a.elements[0])


@dataclass
class Shard:
    upper: int = 0
    since: int = 0
    updates: list[storage_pb2.ProtoStorageUpdate] = field(default_factory=list)


@dataclass(frozen=True)
class Write:
    kind: str  # "append" or "blob"
    target: str  # shard id or blob key
    writer_id: str
    lower: int = 0
    upper: int = 0
    updates: tuple[tuple[Row, int, int], ...] = ()


class StorageServer(storage_pb2_grpc.ProtoStorageServicer):
    def __init__(self, host: str = "127.0.0.1", credentials: grpc.ServerCredentials | None = None) -> None:
        self.shards: dict[str, Shard] = {}
        self.blobs: dict[str, list[Row]] = {}
        self.writes: list[Write] = []
        self.listens: list[tuple[str, int]] = []
        self.cond = threading.Condition()
        self._stopping = False
        self._server = grpc.server(ThreadPoolExecutor(max_workers=64), options=OPTIONS)
        storage_pb2_grpc.add_ProtoStorageServicer_to_server(self, self._server)
        listen = f"{host}:0"
        if credentials is None:
            port = self._server.add_insecure_port(listen)
        else:
            port = self._server.add_secure_port(listen, credentials)
        self.address = f"{host}:{port}"
        self._server.start()

    def stop(self) -> None:
        with self.cond:
            self._stopping = True
            self.cond.notify_all()
        self._server.stop(0).wait(5)

    # --- test-side helpers -----------------------------------------------------------------

    def create_shard(self, shard_id: str, upper: int = 0, since: int = 0) -> None:
        with self.cond:
            self.shards[shard_id] = Shard(upper, since)

    def append(
        self, shard_id: str, updates: Sequence[tuple[Sequence[Value], int, int]], new_upper: int | None
    ) -> None:
        """The suite's own write: add updates and move the upper (None: to [])."""
        with self.cond:
            shard = self.shards[shard_id]
            upper = EMPTY if new_upper is None else new_upper
            for values, time, diff in updates:
                assert shard.upper <= time < upper, (shard.upper, time, upper)
                shard.updates.append(
                    storage_pb2.ProtoStorageUpdate(row=row(*values), timestamp=time, diff=diff)
                )
            shard.upper = upper
            self.cond.notify_all()

    def set_since(self, shard_id: str, since: int) -> None:
        with self.cond:
            self.shards[shard_id].since = since

    def contents_at(self, shard_id: str, time: int) -> dict:  # type: ignore[type-arg]
        with self.cond:
            updates = [
                (values_of(u.row), u.diff) for u in self.shards[shard_id].updates if u.timestamp <= time
            ]
        return keyed(updates)

    def upper(self, shard_id: str) -> int:
        with self.cond:
            return self.shards[shard_id].upper

    def replica_writes(self) -> list[Write]:
        with self.cond:
            return [w for w in self.writes if w.writer_id != "suite"]

    def wait_until(self, predicate: object, what: str, timeout: float = 5.0) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):  # type: ignore[arg-type]
                raise AssertionError(
                    f"storage: timed out after {timeout}s waiting for {what}; writes: {self.writes}"
                )

    # --- the service ---------------------------------------------------------------------------

    def _shard(self, shard_id: str, context: grpc.ServicerContext) -> Shard:
        shard = self.shards.get(shard_id)
        if shard is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no shard {shard_id}")
            raise AssertionError("unreachable")
        return shard

    def Listen(
        self, request: storage_pb2.ProtoListenRequest, context: grpc.ServicerContext
    ) -> Iterator[storage_pb2.ProtoListenBatch]:
        with self.cond:
            shard = self._shard(request.shard_id, context)
            if request.as_of < shard.since:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION, f"as_of {request.as_of} < since {shard.since}"
                )
            self.listens.append((request.shard_id, request.as_of))
        sent = -1
        while True:
            with self.cond:
                while not self._stopping and context.is_active() and shard.upper <= max(sent, request.as_of):
                    self.cond.wait(0.1)
                if self._stopping or not context.is_active():
                    return
                upper = shard.upper
                batch = storage_pb2.ProtoListenBatch(upper=_frontier(upper))
                if sent < 0:
                    batch.lower.CopyFrom(_frontier(0))
                    for u in shard.updates:
                        batch.updates.add(row=u.row, timestamp=max(u.timestamp, request.as_of), diff=u.diff)
                else:
                    batch.lower.CopyFrom(_frontier(sent))
                    batch.updates.extend(u for u in shard.updates if sent <= u.timestamp < upper)
                sent = upper
            yield batch
            if upper >= EMPTY:
                return

    def CompareAndAppend(
        self, request: storage_pb2.ProtoCompareAndAppendRequest, context: grpc.ServicerContext
    ) -> storage_pb2.ProtoCompareAndAppendResponse:
        with self.cond:
            shard = self._shard(request.shard_id, context)
            expected = _from_frontier(request.expected_upper)
            new = _from_frontier(request.new_upper)
            if expected != shard.upper:
                return storage_pb2.ProtoCompareAndAppendResponse(
                    applied=False, current_upper=_frontier(shard.upper)
                )
            for u in request.updates:
                if not expected <= u.timestamp < new:
                    context.abort(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"update at {u.timestamp} outside [{expected}, {new})",
                    )
            shard.updates.extend(request.updates)
            shard.upper = new
            self.writes.append(
                Write(
                    "append",
                    request.shard_id,
                    request.writer_id,
                    expected,
                    new,
                    tuple((values_of(u.row), u.timestamp, u.diff) for u in request.updates),
                )
            )
            self.cond.notify_all()
            return storage_pb2.ProtoCompareAndAppendResponse(applied=True, current_upper=_frontier(new))

    def GetShard(
        self, request: storage_pb2.ProtoGetShardRequest, context: grpc.ServicerContext
    ) -> storage_pb2.ProtoShardState:
        with self.cond:
            shard = self._shard(request.shard_id, context)
            return storage_pb2.ProtoShardState(upper=_frontier(shard.upper), since=_frontier(shard.since))

    def PutBlob(
        self, request: storage_pb2.ProtoPutBlobRequest, context: grpc.ServicerContext
    ) -> storage_pb2.ProtoPutBlobResponse:
        with self.cond:
            if request.key in self.blobs:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"blob {request.key} exists")
            self.blobs[request.key] = [values_of(r) for r in request.rows]
            self.writes.append(Write("blob", request.key, request.writer_id))
            self.cond.notify_all()
            return storage_pb2.ProtoPutBlobResponse()
