"""The oracle: consumes history events in order and turns them into verdicts.

Live, the driver feeds it every event as it is recorded; offline, `python -m conformance check`
feeds it the same events from a history file. It learns the time only from events: before each
event it expires the obligations whose deadline passed, so a verdict depends on the recorded
timestamps alone and both runs agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from compute_protocol.v1 import command_pb2, response_pb2

from conformance.history import (
    Command,
    Event,
    Rejected,
    ReplicaState,
    Response,
    Storage,
    StreamEnd,
    StreamOpen,
)
from conformance.oracle import (
    check_copy_to,
    check_frontiers,
    check_peeks,
    check_probes,
    check_status,
    check_storage,
    check_subscribes,
    check_transport,
    describe,
)
from conformance.oracle.apply import apply_command
from conformance.oracle.context import Context
from conformance.oracle.controller import validate
from conformance.oracle.model_api import ModelFactory, default_model_factory
from conformance.oracle.obligations import Obligation
from conformance.oracle.state import Chain, FrontierKind, Iteration, StreamState
from conformance.oracle.violation import ControllerError, Violation
from conformance.storage import StorageEvent
from conformance.wire.frontiers import Frontier
from conformance.wire.ids import GlobalId, PeekId, gid_str, uuid_str

DEFAULT_PATIENCE = 5.0


class Oracle:
    """Judges one replica (over any number of iterations and streams) from its history events.

    `patience` overrides the budget recorded with each stream; `model_factory` builds the
    model evaluator of each iteration from the oracle's view of storage.
    """

    def __init__(
        self,
        *,
        patience: float | None = None,
        default_patience: float = DEFAULT_PATIENCE,
        model_factory: ModelFactory | None = None,
    ) -> None:
        self.ctx = Context(patience_override=patience, default_patience=default_patience)
        self._model_factory = model_factory or default_model_factory
        self.last_time = 0.0

    # --- verdicts ---------------------------------------------------------------------

    @property
    def violations(self) -> list[Violation]:
        """MUST-level verdicts, in the order they were reached."""
        return self.ctx.violations

    @property
    def warnings(self) -> list[Violation]:
        """SHOULD-level verdicts (they fail a run only in strict mode)."""
        return self.ctx.warnings

    @property
    def exercised(self) -> Counter[str]:
        """How often each rule's check ran where it could have failed (for the coverage report)."""
        return self.ctx.exercised

    @property
    def notes(self) -> list[str]:
        """Situations the oracle could not judge (ambiguous on the wire), with the reason."""
        return self.ctx.notes

    def open_obligations(self) -> list[Obligation]:
        return sorted(self.ctx.obligations, key=lambda ob: ob.deadline)

    def describe_obligations(self) -> list[str]:
        return [ob.describe(self.last_time) for ob in self.open_obligations()]

    def check_deadlines(self, now: float) -> list[Violation]:
        """Expire every obligation overdue at `now`.

        The live driver never calls this with a wall-clock time of its own: it records a
        `Wait` event instead, whose consumption calls this with the recorded time, so that the
        offline check reaches the same verdicts.
        """
        return self.ctx.expire(now)

    # --- events -----------------------------------------------------------------------

    def precheck(self, stream: str, cmd: command_pb2.ProtoComputeCommand, probe: str = "") -> None:
        """Raise `ControllerError` if `cmd` must not be sent on `stream` (skipped for probes)."""
        ss = self.ctx.streams.get(stream)
        if ss is None:
            raise ControllerError("TRANS-1", stream, "no such stream was opened")
        if not probe:
            validate(self.ctx, ss, cmd)

    def consume_all(self, events: Iterable[Event]) -> None:
        for ev in events:
            self.consume(ev)

    def consume(self, event: Event) -> None:
        ctx = self.ctx
        ctx.seq = event.seq
        ctx.now = event.time
        self.last_time = event.time
        ctx.expire(event.time)
        refresh = True
        if isinstance(event, StreamOpen):
            check_transport.on_stream_open(ctx, event, self._model_factory)
        elif isinstance(event, Command):
            self._command(event)
        elif isinstance(event, Response):
            self._response(event)
            refresh = False
        elif isinstance(event, StreamEnd):
            check_transport.on_stream_end(ctx, event)
            refresh = False
        elif isinstance(event, Rejected):
            check_transport.on_rejected(ctx, event)
            refresh = False
        elif isinstance(event, Storage):
            self._storage(event)
        elif isinstance(event, ReplicaState):
            if event.writable and not ctx.replica.writable:
                ctx.replica.writable = True
                ctx.replica.writable_seq = event.seq
                ctx.replica.writable_iteration = None
        else:
            refresh = False  # Wait and Note only move the clock
        if refresh and ctx.current is not None:
            self._refresh(ctx.current)
        ctx.at_init_complete = False

    def _stream(self, name: str) -> StreamState:
        ss = self.ctx.streams.get(name)
        if ss is None:
            raise ControllerError("TRANS-1", name, "an event names a stream that was never opened")
        return ss

    def _command(self, ev: Command) -> None:
        ss = self._stream(ev.stream)
        if ev.probe:
            ss.probed = ev.probe
            check_probes.on_probe(self.ctx, ss, ev.cmd, ev.probe)
        else:
            validate(self.ctx, ss, ev.cmd)
        ss.recent.append(describe.Line(ev.time - ss.opened, "-> ", ev.cmd, describe.command))
        try:
            apply_command(self.ctx, ss, ev.cmd)
        except (ValueError, KeyError) as exc:
            if not ev.probe:
                raise
            # A probe may be beyond what the model can hold (an ill-typed plan ...); check_probes
            # judges only how the replica takes it, so the oracle just notes that it did not model it.
            self.ctx.notes.append(f"probe {ev.probe!r} on {ss.name} not modelled: {exc}")
        if ev.cmd.WhichOneof("kind") == "initialization_complete":
            self.ctx.at_init_complete = True

    def _response(self, ev: Response) -> None:
        ctx = self.ctx
        ss = self._stream(ev.stream)
        ss.recent.append(describe.Line(ev.time - ss.opened, "<- ", ev.resp, describe.response))
        ss.received[ev.resp.WhichOneof("kind") or "none"] += 1
        it = ss.iteration
        ctx.exercise("TRANS-6")  # it decoded, within the bounds (the reader refuses what is not)
        ctx.exercise("STAGE-1")
        if it.instance_seq is None:
            ctx.flag(
                "STAGE-1",
                ss,
                f"stream {ss.name}",
                ["no response before CreateInstance"],
                f"{describe.response(ev.resp)} before CreateInstance was sent",
            )
            return
        if not it.init_complete:
            ctx.exercise("STAGE-2")
        check_probes.on_response(ctx, ss, ev.resp)
        _dispatch(ctx, it, ss, ev.resp)
        proof = _proves_processed(it, ev.resp)
        if proof:
            ss.processed(ev.seq, proof)

    def _storage(self, ev: Storage) -> None:
        ctx = self.ctx
        ctx.shards.apply(ev.event)
        if ev.event.kind == "blob_put":
            ctx.shards.blob_seq.setdefault(ev.event.key, ev.seq)
        it = ctx.current
        if it is not None:
            for ss in ctx.active_streams(it):
                ss.recent.append(describe.Line(ev.time - ss.opened, "", ev.event, _storage_line))
        check_storage.on_storage(ctx, it, ev.event)

    def _refresh(self, it: Iteration) -> None:
        check_peeks.refresh(self.ctx, it)
        check_frontiers.refresh(self.ctx, it)
        check_subscribes.refresh(self.ctx, it)
        check_copy_to.refresh(self.ctx, it)

    # --- queries for the driver's waits ------------------------------------------------

    def stream(self, name: str) -> StreamState:
        return self._stream(name)

    def peek_answer(self, stream: str, uuid: PeekId) -> str | None:
        answer = self._stream(stream).peek_answers.get(uuid)
        return answer[0] if answer is not None else None

    def frontier(self, stream: str, gid: GlobalId, kind: FrontierKind) -> Frontier | None:
        return self._stream(stream).frontiers.get((gid, kind))

    def chain(self, stream: str, gid: GlobalId) -> Chain | None:
        return self._stream(stream).chains.get(gid)

    def copy_to_answer(self, stream: str, gid: GlobalId) -> str | None:
        return self._stream(stream).copy_answers.get(gid)


def _storage_line(event: StorageEvent) -> str:
    return describe.storage(event).strip()


def _proves_processed(it: Iteration, resp: response_pb2.ProtoComputeResponse) -> int:
    """The latest command a response shows the replica had processed: the Peek it answers (or
    the CancelPeek it acknowledges), or the command that created (or dropped) what it names."""
    kind = resp.WhichOneof("kind")
    if kind == "peek_response":
        p = it.peeks.get(uuid_str(resp.peek_response.id))
        if p is None:
            return 0
        cancel = p.cancel_seq if resp.peek_response.resp.WhichOneof("kind") == "canceled" else None
        return cancel or p.seq
    if kind == "frontiers":
        gid = gid_str(resp.frontiers.id)
    elif kind == "subscribe_response":
        gid = gid_str(resp.subscribe_response.id)
    elif kind == "copy_to_response":
        gid = gid_str(resp.copy_to_response.id)
    else:
        return 0
    c = it.collections.get(gid)
    if c is None:
        return 0
    dropped = (
        resp.WhichOneof("kind") in ("subscribe_response", "copy_to_response")
        and c.dropped_seq
        and (
            resp.subscribe_response.resp.WhichOneof("kind") == "dropped_at"
            or resp.copy_to_response.resp.WhichOneof("kind") == "dropped"
        )
    )
    return (c.dropped_seq or c.seq) if dropped else c.seq


def _dispatch(ctx: Context, it: Iteration, ss: StreamState, resp: response_pb2.ProtoComputeResponse) -> None:
    kind = resp.WhichOneof("kind")
    if kind == "frontiers":
        check_frontiers.on_frontiers(ctx, it, ss, resp.frontiers)
    elif kind == "peek_response":
        check_peeks.on_peek_response(ctx, it, ss, resp.peek_response)
    elif kind == "subscribe_response":
        check_subscribes.on_subscribe_response(ctx, it, ss, resp.subscribe_response)
    elif kind == "copy_to_response":
        check_copy_to.on_copy_to_response(ctx, it, ss, resp.copy_to_response)
    elif kind == "status":
        check_status.on_status(ctx, it, ss, resp.status)
