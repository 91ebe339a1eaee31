"""One protocol iteration: the stages of a stream and the ids it may name (spec 3, 14, TRANS-5).

A stream goes through creation (`CreateTimely`, then `CreateInstance`), initialization
(computation commands, then `InitializationComplete`) and computation. `admit` checks that a
well-formed command fits this point of the stream and raises FAILED_PRECONDITION if not:
a command before the creation stage is done, a repeated creation command or
`InitializationComplete`, a duplicate export id or peek uuid, or a command naming a collection
this iteration did not create (or already dropped). Ids are scoped to the iteration, so this
bookkeeping is per stream; the engine keeps the compute state itself across streams.

A creation config that differs from the one the replica's state was created with raises
`OtherConfig` (CREATE-4): the engine decides whether to start afresh with the new config
(the default: the newest controller gets in) or to refuse the stream (`--variant refuse-other-config`).

The replica defers all answers to initialization commands until `InitializationComplete`
(STAGE-2 allows it): they are buffered here, then reconciled and applied together. (The
variant answer-during-initialization applies them at once when there is nothing to reconcile.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from compute_protocol.v1 import command_pb2

from reference_replica import faults, frontier, ids, validation, variants
from reference_replica.connection import Connection
from reference_replica.errors import ProtocolError, illegal
from reference_replica.frontier import EMPTY


class Stage(enum.Enum):
    AWAIT_TIMELY = "waiting for CreateTimely"
    AWAIT_INSTANCE = "waiting for CreateInstance"
    INITIALIZING = "initialization"
    COMPUTING = "computation"


@dataclass
class FirstConfigs:
    """The creation configs the replica's current state was created with: those of the first
    stream since the process started, or since it last started afresh (CREATE-3, CREATE-4)."""

    timely: command_pb2.ProtoCreateTimely | None = None
    instance: command_pb2.ProtoInstanceConfig | None = None
    epoch: tuple[int, int] | None = None  # the highest epoch seen (only the variant fence-stale-epochs)


class OtherConfig(ProtocolError):
    """A creation command whose config differs from the replica's (CREATE-4); FAILED_PRECONDITION
    when the engine refuses it."""

    def __init__(self, command: str, which: str) -> None:
        problem = f"{which} config differs from the first connection's (CREATE-4)"
        super().__init__(illegal(command, problem).code, command, problem)


class Iteration:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.stage = Stage.AWAIT_TIMELY
        self.buffered: list[command_pb2.ProtoComputeCommand] = []
        self.live: dict[str, tuple[str, int]] = {}  # export id -> (kind, key arity for indexes)
        self.dropped: set[str] = set()
        self.peeks: set[int] = set()
        self.timely: command_pb2.ProtoCreateTimely | None = None  # this stream's, once admitted
        self.eager = False  # initialization commands applied as they arrive (variant answer-during-initialization)

    def admit(self, cmd: command_pb2.ProtoComputeCommand, first: FirstConfigs) -> None:
        kind = cmd.WhichOneof("kind")
        name = validation.command_name(cmd)
        if kind == "create_timely":
            if self.stage is not Stage.AWAIT_TIMELY:
                raise illegal(name, f"repeated on this stream (stage: {self.stage.value})")
            config = cmd.create_timely.config
            if variants.on("fence-stale-epochs"):  # VARIANT: CREATE-2 taken the other way
                epoch = (cmd.create_timely.epoch.envd, cmd.create_timely.epoch.replica)
                if first.epoch is not None and epoch <= first.epoch:
                    raise illegal(name, f"epoch {epoch} is not above {first.epoch}, which this replica already saw")
                first.epoch = epoch
            if first.timely is None:
                first.timely = command_pb2.ProtoCreateTimely(config=config)
            elif first.timely.config != config:
                raise OtherConfig(name, "timely")
            self.timely = command_pb2.ProtoCreateTimely(config=config)
            self.stage = Stage.AWAIT_INSTANCE
            return
        if kind == "create_instance":
            if self.stage is Stage.AWAIT_TIMELY:
                raise illegal(name, "before CreateTimely")
            if self.stage is not Stage.AWAIT_INSTANCE:
                raise illegal(name, f"repeated on this stream (stage: {self.stage.value})")
            if first.instance is None:
                first.instance = cmd.create_instance
            elif first.instance != cmd.create_instance:
                raise OtherConfig(name, "instance")
            self.stage = Stage.INITIALIZING
            return
        if self.stage is Stage.AWAIT_TIMELY:
            raise illegal(name, "before CreateTimely")
        if self.stage is Stage.AWAIT_INSTANCE:
            raise illegal(name, "before CreateInstance")
        if kind == "initialization_complete":
            if self.stage is not Stage.INITIALIZING:
                raise illegal(name, "repeated on this stream")
            return
        if kind == "create_dataflow":
            self._admit_dataflow(cmd)
        elif kind == "schedule":
            self._require_live(name, ids.gid(cmd.schedule))
        elif kind == "allow_compaction":
            gid = ids.gid(cmd.allow_compaction.id)
            self._require_live(name, gid)
            if frontier.from_proto(cmd.allow_compaction.frontier) == EMPTY:
                del self.live[gid]
                self.dropped.add(gid)
        elif kind == "peek":
            self._admit_peek(cmd.peek)
        elif kind == "cancel_peek" and faults.on("refuses-unknown-cancel"):
            self._refuse_unknown_cancel(name, ids.uuid(cmd.cancel_peek))
        # CancelPeek (unknown uuids are ignored), UpdateConfiguration and AllowWrites (A1:
        # accepted even during initialization) are legal at any point after creation.

    def _refuse_unknown_cancel(self, command: str, uuid: int) -> None:
        if uuid not in self.peeks:  # FAULT: refuses-unknown-cancel breaks TRANS-5 (it must be ignored)
            raise illegal(command, f"uuid {ids.fmt_uuid(uuid)} was never sent on this stream")

    def _require_live(self, command: str, gid: str, kind: str | None = None) -> tuple[str, int]:
        entry = self.live.get(gid)
        if entry is None:
            state = "was dropped" if gid in self.dropped else "was never created on this stream"
            raise illegal(command, f"collection {gid} {state}")
        if kind is not None and entry[0] != kind:
            raise illegal(command, f"collection {gid} is a {entry[0]}, not an index")
        return entry

    def _admit_dataflow(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        name = "CreateDataflow"
        desc = cmd.create_dataflow
        shape = validation.check_dataflow(desc)
        for gid in shape.export_ids:
            if gid in self.live or gid in self.dropped:
                raise illegal(name, f"export id {gid} is already used on this stream")
        for gid in shape.index_imports:
            self._require_live(name, gid, "index")
        for index in desc.index_exports:
            self.live[ids.gid(index.id)] = ("index", len(index.key_columns))
        for sink in desc.sink_exports:
            self.live[ids.gid(sink.id)] = (sink.sink_desc.connection.WhichOneof("kind") or "sink", 0)

    def _admit_peek(self, peek: command_pb2.ProtoPeek) -> None:
        name = "Peek"
        uuid = ids.uuid(peek.uuid)
        if uuid in self.peeks:
            raise illegal(name, f"uuid {ids.fmt_uuid(uuid)} is already used on this stream")
        if peek.WhichOneof("target") == "index":
            _, key_arity = self._require_live(name, ids.gid(peek.index.id), "index")
            for key in peek.key:
                if len(key.datums) != key_arity:
                    # Not malformed in the spec's sense (1.3): the command is whole, but this index's key
                    # has another arity (A11), which only the iteration's state shows.
                    raise illegal(name, f"literal key with {len(key.datums)} datums for a {key_arity}-column key")
        self.peeks.add(uuid)
