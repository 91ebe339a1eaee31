"""A compact way to write event histories by hand, and to judge them with a fresh oracle.

    h = History()
    h.connect("c1")                       # stream_open + CreateTimely + CreateInstance
    h.shard("a").write("a", [(row(1), 0, 1)], upper=5)
    h.index("c1", "u1", source="a")      # CreateDataflow (index over shard a) + Schedule
    h.init("c1").peek("c1", 1, "u1", t=3)
    h.rows("c1", 1, [(row(1), 1)])
    assert h.verdicts() == []

Every call appends one event (a few append two or three) and advances the clock by `step`;
`tick(s)` lets time pass, which is how liveness verdicts are provoked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Self

from compute_protocol.v1 import command_pb2, response_pb2
from google.protobuf import empty_pb2

from conformance.history import (
    Command,
    Epoch,
    Event,
    Note,
    Rejected,
    ReplicaState,
    Response,
    Storage,
    StreamEnd,
    StreamOpen,
    Wait,
)
from conformance.oracle import Oracle, Violation
from conformance.storage import SUITE_WRITER, StorageEvent, Update
from conformance.wire import commands as cmd
from conformance.wire.commands import ScalarType
from conformance.wire.frontiers import EMPTY, Frontier, to_proto
from conformance.wire.ids import GlobalId, gid_proto, uuid_proto
from conformance.wire.rows import Row, row_to_proto

STORAGE = "127.0.0.1:9"
REPLICA_WRITER = "replica"
Resp = response_pb2.ProtoComputeResponse


class History:
    def __init__(self, *, patience: float = 1.0, step: float = 0.01, envd: int = 1000) -> None:
        self.events: list[Event] = []
        self.now = 0.0
        self.step = step
        self.patience = patience
        self.envd = envd
        self.connections = 0
        self.storage_seq = 0
        self.sources: dict[str, GlobalId] = {}
        self.streams: dict[str, Epoch] = {}
        self.uppers: dict[str, Frontier] = {}

    # --- plumbing -----------------------------------------------------------------------

    def add(self, event: Event) -> Self:
        self.now += self.step
        self.events.append(dataclasses.replace(event, seq=len(self.events) + 1, time=round(self.now, 6)))
        return self

    def tick(self, seconds: float) -> Self:
        self.now += seconds
        return self

    def oracle(self, *, patience: float | None = None) -> Oracle:
        o = Oracle(patience=patience)
        o.consume_all(self.events)
        return o

    def judged(self) -> list[Violation]:
        o = self.oracle()
        return o.violations + o.warnings

    def verdicts(self) -> list[str]:
        """Rule ids of every violation and warning, in order."""
        return [v.rule for v in self.judged()]

    # --- streams ------------------------------------------------------------------------

    def open(self, stream: str = "c1", *, new_iteration: bool = True) -> Self:
        if new_iteration:
            self.connections += 1
        epoch = (self.envd, self.connections)
        self.streams[stream] = epoch
        return self.add(StreamOpen(stream=stream, epoch=epoch, address="replica:0", patience=self.patience))

    def connect(self, stream: str = "c1", *, init: bool = False, processes: int = 1) -> Self:
        """Open the stream(s) of a new iteration and send the creation commands."""
        names = [stream] if processes == 1 else [f"{stream}.p{i}" for i in range(processes)]
        for i, name in enumerate(names):
            self.open(name, new_iteration=i == 0)
        for i, name in enumerate(names):
            self.send(name, cmd.create_timely(self.streams[name], process=i))
        self.send(names[0], cmd.create_instance())
        if init:
            self.init(names[0])
        return self

    def send(self, stream: str, command: command_pb2.ProtoComputeCommand, probe: str = "") -> Self:
        return self.add(Command(stream=stream, cmd=command, probe=probe))

    def recv(self, stream: str, response: Resp) -> Self:
        return self.add(Response(stream=stream, resp=response))

    def end(
        self, stream: str, code: str = "OK", details: str = "", *, by_controller: bool = False, gone: str = ""
    ) -> Self:
        return self.add(StreamEnd(stream=stream, code=code, details=details, by_controller=by_controller, gone=gone))

    def rejected(self, stream: str, reason: str = "undecodable", size: int = 7, detail: str = "bad bytes") -> Self:
        """The controller refused a response (TRANS-6) and closed the stream, as the driver does."""
        self.add(Rejected(stream=stream, reason=reason, size=size, sha256="ab" * 32, quote="0f", detail=detail))
        return self.end(stream, "CANCELLED", "closed by the controller", by_controller=True)

    def wait(self, what: str = "a wait", outcome: str = "timeout") -> Self:
        return self.add(Wait(what=what, outcome=outcome))

    def note(self, text: str) -> Self:
        return self.add(Note(text=text))

    def writable(self) -> Self:
        return self.add(ReplicaState(writable=True))

    # --- storage ------------------------------------------------------------------------

    def _storage(self, **kw: object) -> Self:
        self.storage_seq += 1
        return self.add(Storage(event=StorageEvent(seq=self.storage_seq, time=self.now, **kw)))  # type: ignore[arg-type]

    def shard(self, shard_id: str, *, upper: Frontier = 0, since: int = 0, arity: int = 1) -> Self:
        self.uppers[shard_id] = upper
        return self._storage(kind="create_shard", shard_id=shard_id, upper=upper, since=since, arity=arity)

    def write(
        self,
        shard_id: str,
        updates: Iterable[Update],
        *,
        upper: Frontier,
        writer: str = SUITE_WRITER,
    ) -> Self:
        """An applied CompareAndAppend from the shard's current upper to `upper`."""
        lower = self.uppers.get(shard_id, 0)
        self.uppers[shard_id] = upper
        return self._storage(
            kind="append",
            shard_id=shard_id,
            writer_id=writer,
            lower=lower,
            upper=upper,
            updates=tuple(updates),
        )

    def advance(self, shard_id: str, upper: Frontier) -> Self:
        """A suite write with no updates that only moves the shard's upper."""
        return self.write(shard_id, [], upper=upper)

    def since(self, shard_id: str, since: int) -> Self:
        return self._storage(kind="since", shard_id=shard_id, since=since)

    def blob(self, key: str, rows: Sequence[Row], *, writer: str = REPLICA_WRITER) -> Self:
        return self._storage(kind="blob_put", key=key, writer_id=writer, rows=tuple(rows))

    # --- commands -----------------------------------------------------------------------

    def source(self, shard_id: str) -> GlobalId:
        return self.sources.setdefault(shard_id, f"u{900 + len(self.sources)}")

    def dataflow(
        self,
        stream: str,
        gid: GlobalId,
        *,
        kind: str = "index",
        source: str | None = None,
        constant: Iterable[tuple[Row | str, int, int]] | None = None,
        as_of: int = 0,
        until: Frontier = EMPTY,
        arity: int = 1,
        schedule: bool = True,
        with_snapshot: bool = True,
        up_to: Frontier = EMPTY,
        target: str = "",
        blob_key: str = "",
    ) -> Self:
        """One dataflow exporting `gid` (an index, subscribe, mv or copy_to) over a shard or a constant."""
        obj = f"t{gid[1:]}"
        cols: list[ScalarType] = ["int64"] * arity
        sources = []
        if source is not None:
            sources.append(cmd.source(self.source(source), source, storage_address=STORAGE, columns=cols))
            plan = cmd.get(self.source(source))
        else:
            plan = cmd.constant(arity, constant or [])
        indexes, sinks = [], []
        if kind == "index":
            indexes.append(cmd.index_export(gid, obj, list(range(arity))))
        elif kind == "subscribe":
            sinks.append(cmd.subscribe_sink(gid, obj, cols, with_snapshot=with_snapshot, up_to=up_to))
        elif kind == "mv":
            sinks.append(cmd.mv_sink(gid, obj, cols, shard_id=target, storage_address=STORAGE))
        elif kind == "copy_to":
            sinks.append(cmd.copy_to_sink(gid, obj, cols, storage_address=STORAGE, blob_key=blob_key))
        desc = cmd.dataflow(
            as_of=as_of,
            until=until,
            sources=sources,
            objects=[cmd.build(obj, plan)],
            indexes=indexes,
            sinks=sinks,
        )
        self.send(stream, cmd.create_dataflow(desc))
        if schedule:
            self.send(stream, cmd.schedule(gid))
        return self

    def index(self, stream: str, gid: GlobalId, **kw: object) -> Self:
        return self.dataflow(stream, gid, kind="index", **kw)  # type: ignore[arg-type]

    def subscribe(self, stream: str, gid: GlobalId, **kw: object) -> Self:
        return self.dataflow(stream, gid, kind="subscribe", **kw)  # type: ignore[arg-type]

    def view(self, stream: str, gid: GlobalId, *, target: str, **kw: object) -> Self:
        return self.dataflow(stream, gid, kind="mv", target=target, **kw)  # type: ignore[arg-type]

    def copy_to(self, stream: str, gid: GlobalId, *, blob_key: str, **kw: object) -> Self:
        return self.dataflow(stream, gid, kind="copy_to", blob_key=blob_key, **kw)  # type: ignore[arg-type]

    def schedule(self, stream: str, gid: GlobalId) -> Self:
        return self.send(stream, cmd.schedule(gid))

    def init(self, stream: str = "c1") -> Self:
        return self.send(stream, cmd.initialization_complete())

    def peek(self, stream: str, uuid: int, gid: GlobalId, t: int, *, arity: int = 1, **kw: object) -> Self:
        return self.send(stream, cmd.peek(uuid, gid, t, arity=arity, **kw))  # type: ignore[arg-type]

    def persist_peek(self, stream: str, uuid: int, shard: str, t: int, *, arity: int = 1) -> Self:
        return self.send(
            stream,
            cmd.persist_peek(
                uuid, self.source(shard), shard, t, storage_address=STORAGE, columns=["int64"] * arity
            ),
        )

    def cancel(self, stream: str, uuid: int) -> Self:
        return self.send(stream, cmd.cancel_peek(uuid))

    def compact(self, stream: str, gid: GlobalId, frontier: Frontier) -> Self:
        return self.send(stream, cmd.allow_compaction(gid, frontier))

    def drop(self, stream: str, gid: GlobalId) -> Self:
        return self.send(stream, cmd.drop(gid))

    def config(self, stream: str, **kw: object) -> Self:
        return self.send(stream, cmd.update_configuration(**kw))  # type: ignore[arg-type]

    def allow_writes(self, stream: str = "c1") -> Self:
        return self.send(stream, cmd.allow_writes())

    # --- responses ----------------------------------------------------------------------

    def frontiers(
        self,
        stream: str,
        gid: GlobalId,
        *,
        write: Frontier | None = None,
        input: Frontier | None = None,
        output: Frontier | None = None,
        all: Frontier | None = None,
    ) -> Self:
        msg = response_pb2.ProtoFrontiersResponse()
        for name, value in (
            ("write_frontier", write),
            ("input_frontier", input),
            ("output_frontier", output),
        ):
            value = all if value is None else value
            if value is not None:
                getattr(msg, name).CopyFrom(to_proto(value))
        return self.recv(stream, Resp(frontiers=response_pb2.ProtoFrontiersKind(id=gid_proto(gid), resp=msg)))

    def _peek_resp(self, stream: str, uuid: int, resp: response_pb2.ProtoPeekResponse) -> Self:
        kind = response_pb2.ProtoPeekResponseKind(id=uuid_proto(cmd.peek_id(uuid)), resp=resp)
        return self.recv(stream, Resp(peek_response=kind))

    def rows(self, stream: str, uuid: int, rows: Iterable[tuple[Row, int]]) -> Self:
        coll = response_pb2.ProtoRowCollection(
            rows=[response_pb2.ProtoRowWithCount(row=row_to_proto(r), count=n) for r, n in rows]
        )
        return self._peek_resp(stream, uuid, response_pb2.ProtoPeekResponse(rows=coll))

    def error(self, stream: str, uuid: int, text: str = "boom") -> Self:
        return self._peek_resp(stream, uuid, response_pb2.ProtoPeekResponse(error=text))

    def canceled(self, stream: str, uuid: int) -> Self:
        return self._peek_resp(stream, uuid, response_pb2.ProtoPeekResponse(canceled=empty_pb2.Empty()))

    def batch(
        self,
        stream: str,
        gid: GlobalId,
        lower: Frontier,
        upper: Frontier,
        updates: Iterable[tuple[int, Row, int]] = (),
        *,
        error: str | None = None,
    ) -> Self:
        batch = response_pb2.ProtoSubscribeBatch(lower=to_proto(lower), upper=to_proto(upper))
        if error is not None:
            batch.updates.error = error
        else:
            batch.updates.updates.SetInParent()
            batch.updates.updates.updates.extend(
                response_pb2.ProtoUpdate(timestamp=t, row=row_to_proto(r), diff=d) for t, r, d in updates
            )
        sub = response_pb2.ProtoSubscribeResponse(batch=batch)
        return self.recv(
            stream,
            Resp(subscribe_response=response_pb2.ProtoSubscribeResponseKind(id=gid_proto(gid), resp=sub)),
        )

    def dropped_at(self, stream: str, gid: GlobalId, frontier: Frontier) -> Self:
        sub = response_pb2.ProtoSubscribeResponse(dropped_at=to_proto(frontier))
        return self.recv(
            stream,
            Resp(subscribe_response=response_pb2.ProtoSubscribeResponseKind(id=gid_proto(gid), resp=sub)),
        )

    def _copy(self, stream: str, gid: GlobalId, resp: response_pb2.ProtoCopyToResponse) -> Self:
        return self.recv(
            stream, Resp(copy_to_response=response_pb2.ProtoCopyToResponseKind(id=gid_proto(gid), resp=resp))
        )

    def copied(self, stream: str, gid: GlobalId, n: int) -> Self:
        return self._copy(stream, gid, response_pb2.ProtoCopyToResponse(rows=n))

    def copy_error(self, stream: str, gid: GlobalId, text: str = "boom") -> Self:
        return self._copy(stream, gid, response_pb2.ProtoCopyToResponse(error=text))

    def copy_dropped(self, stream: str, gid: GlobalId) -> Self:
        return self._copy(stream, gid, response_pb2.ProtoCopyToResponse(dropped=empty_pb2.Empty()))

    def status(
        self, stream: str, gid: GlobalId, *, hydrated: bool = True, lir: int = 1, worker: int = 0
    ) -> Self:
        h = response_pb2.ProtoOperatorHydrationStatus(
            collection_id=gid_proto(gid), lir_id=lir, worker_id=worker, hydrated=hydrated
        )
        return self.recv(stream, Resp(status=response_pb2.ProtoStatusResponse(operator_hydration=h)))
