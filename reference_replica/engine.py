"""The engine thread: the one thread that owns all compute state.

Everything that changes state is a callable on the engine's queue: commands from the
current stream, batches from Listen readers, outcomes of storage calls, stream arrivals and
departures. The loop runs them in order, then does one maintenance `step()`. With a single
owner there are no locks in the compute code, and the order of events is the order of
processing.

Streams (TRANS-2): a new stream ends the previous one at once; its commands still queued
are ignored because they carry their connection. Responses are produced only for the
current stream, and not at all while a new stream is still initializing.

Commands (section 3): each is decoded and checked (`validation`: INVALID_ARGUMENT),
checked against the storage allow list (PERMISSION_DENIED, spec 5.4), admitted by the
stream's `Iteration` (FAILED_PRECONDITION), then buffered (initialization) or applied
(computation). At `InitializationComplete` the buffer is reconciled with what is running
(`reconcile`) and applied. A bad command ends its stream with a status and one log line; the
process carries on (TRANS-4).

Another creation config (CREATE-4): upstream halts the process and its supervisor starts a
fresh one, so the newest controller gets in. The engine does the same without the restart:
it drops all state in silence and becomes the replica a fresh process would be, with the new
config (`start_afresh`). `refuse_other_config` keeps the other legal choice, ending such a
stream with FAILED_PRECONDITION; then whoever connects first decides the config for good.

A storage service this replica cannot reach as configured (a TLS mismatch, `storage.reach`)
ends the current stream with UNAVAILABLE and the reason, instead of leaving the controller to
wait for progress that cannot come.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from itertools import count

import grpc
from compute_protocol.v1 import command_pb2, response_pb2
from google.protobuf.message import DecodeError

from reference_replica import faults, reconcile, responses, validation, variants
from reference_replica.compute_state import ComputeState
from reference_replica.config import ComputeParameters
from reference_replica.connection import Connection
from reference_replica.errors import ProtocolError, malformed
from reference_replica.exports.base import Export
from reference_replica.frontier import EMPTY
from reference_replica.iteration import FirstConfigs, Iteration, OtherConfig, Stage
from reference_replica.responses import Responder
from reference_replica.services import Services
from reference_replica.storage.allow import StorageAllowList
from reference_replica.storage.client import StorageClient
from reference_replica.storage.writes import StorageWriter
from reference_replica.tls import ClientTls

log = logging.getLogger(__name__)

IDLE_WAKEUP = 0.05  # seconds: how often maintenance runs when nothing happens (retries)
HELD_WAKEUP = 0.005  # seconds: the same while responses wait to go out (timing variants only)
MAX_EVENTS_PER_STEP = 1000


class Engine:
    def __init__(
        self,
        workers: int = 1,
        *,
        storage_allow: StorageAllowList | None = None,
        storage_tls: ClientTls | None = None,
        refuse_other_config: bool = False,
    ) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        storage = StorageClient(storage_allow, storage_tls)
        storage.on_misconfigured = lambda message: self.post(lambda: self._on_storage_misconfigured(message))
        self.services = Services(
            responder=Responder(),
            params=ComputeParameters(),
            storage=storage,
            writer=StorageWriter(storage, self.post),
            post=self.post,
            workers=workers,
        )
        self.state = ComputeState(self.services)
        self.iteration: Iteration | None = None
        self.first_configs = FirstConfigs()
        self.refuse_other_config = refuse_other_config  # CREATE-4's other branch
        self._storage_problems: set[str] = set()  # misconfigurations already logged
        self.setup_was_cut = False  # a stream ended before InitializationComplete (read only by faults)
        self._numbers = count(1)
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)

    # --- called from any thread ------------------------------------------------------------

    def post(self, work: Callable[[], None]) -> None:
        """Run `work` on the engine thread."""
        self._queue.put(work)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
        self.services.storage.close()

    def open_stream(self, peer: str) -> Connection:
        connection = Connection(next(self._numbers), peer)
        self.post(lambda: self._on_stream_opened(connection))
        return connection

    def receive(self, connection: Connection, raw: bytes) -> None:
        self.post(lambda: self._on_command(connection, raw))

    def stream_closed(self, connection: Connection) -> None:
        self.post(lambda: self._on_stream_closed(connection))

    # --- the engine thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                # Responses held by a timing variant are due within milliseconds: wake up for them.
                work = self._queue.get(timeout=HELD_WAKEUP if self.services.responder.holding() else IDLE_WAKEUP)
            except queue.Empty:
                work = _IDLE
            if work is None:
                break
            self._safely(work)
            for _ in range(MAX_EVENTS_PER_STEP):
                try:
                    work = self._queue.get_nowait()
                except queue.Empty:
                    break
                if work is None:
                    self._shutdown()
                    return
                self._safely(work)
            self._safely(self.state.step)
        self._shutdown()

    def _safely(self, work: Callable[[], None]) -> None:
        """Run one piece of work; a bug in the replica ends the stream, never the process."""
        try:
            work()
        except Exception:
            log.exception("internal error")
            if self.iteration is not None:
                self._end_iteration(grpc.StatusCode.INTERNAL, "internal error in the replica; see its log")

    def _shutdown(self) -> None:
        if self.iteration is not None:
            self.iteration.connection.end()
        for dataflow in list(self.state.dataflows):
            dataflow.stop()
        self.state.begin_iteration()

    def _on_stream_opened(self, connection: Connection) -> None:
        if self.iteration is not None:
            old = self.iteration.connection
            self._note_cut(self.iteration)
            log.info("new %s replaces %s", connection, old)
            if not faults.on("keep-old-stream"):  # FAULT: keep-old-stream breaks TRANS-2
                old.end()
        else:
            log.info("new %s", connection)
        self.iteration = Iteration(connection)
        self.services.responder.attach(None)  # nothing goes out until it has initialized
        # A new iteration behaves as a fresh replica would after its own commands (section 14):
        # parameters start from their defaults, and the replayed UpdateConfiguration restores
        # them. Writability is the one exception: AllowWrites is permanent (RO-2).
        if not variants.on("config-survives-reconnect"):  # VARIANT: CONFIG-3, kept as upstream does
            self.services.params.reset()

    def _on_stream_closed(self, connection: Connection) -> None:
        connection.end()
        if self.iteration is not None and self.iteration.connection is connection:
            self._note_cut(self.iteration)
            log.info("%s closed by the controller", connection)
            self.iteration = None
            self.services.responder.attach(None)

    def _note_cut(self, iteration: Iteration) -> None:
        """Remember a stream that ended during setup (only the faults of B29 and B33 read it)."""
        if iteration.stage is not Stage.COMPUTING:
            self.setup_was_cut = True

    def _on_command(self, connection: Connection, raw: bytes) -> None:
        iteration = self.iteration
        if iteration is None or iteration.connection is not connection:
            return  # from a stream that has been replaced
        try:
            cmd = decode(raw)
            validation.check_command(cmd)
            self.services.storage.allow.check(cmd)
            stage = iteration.stage
            self._admit(iteration, cmd)
        except ProtocolError as error:
            if faults.on("crash-on-illegal-command"):  # FAULT: breaks TRANS-4 (the process dies)
                log.error("exiting on %s: %s", error.code.name, error.message)
                logging.shutdown()
                os._exit(70)
            log.info("ending %s: %s: %s", connection, error.code.name, error.message)
            self._end_iteration(error.code, error.message)
            return
        kind = cmd.WhichOneof("kind")
        if kind == "allow_writes" and stage is Stage.INITIALIZING and faults.on("crash-on-early-allow-writes"):
            log.error("exiting on AllowWrites before InitializationComplete")  # FAULT: breaks TRANS-4
            logging.shutdown()
            os._exit(70)
        if kind == "create_instance" and self.setup_was_cut and faults.on("panic-on-partial-history"):
            raise RuntimeError("panic-on-partial-history: an earlier stream ended mid-setup")  # FAULT: TRANS-3
        if kind == "create_timely" and faults.on("hello-before-instance"):
            connection.send(responses.Response(status=response_pb2.ProtoStatusResponse()))  # FAULT: STAGE-1
        if kind == "create_instance":
            self._created(iteration)
        if kind == "initialization_complete":
            self._initialize(iteration)
        elif stage is Stage.INITIALIZING and iteration.eager:
            self.state.apply(cmd)  # VARIANT answer-during-initialization: at once (STAGE-2)
        elif stage is Stage.INITIALIZING:
            iteration.buffered.append(cmd)
        elif stage is Stage.COMPUTING:
            self.state.apply(cmd)

    def _admit(self, iteration: Iteration, cmd: command_pb2.ProtoComputeCommand) -> None:
        try:
            iteration.admit(cmd, self.first_configs)
        except OtherConfig as other:
            if self.refuse_other_config or variants.on("refuse-other-config"):  # VARIANT: CREATE-4
                raise
            self.start_afresh(iteration, other.message)
            iteration.admit(cmd, self.first_configs)

    def start_afresh(self, iteration: Iteration, why: str) -> None:
        """Become what a freshly started process would be (CREATE-4), the new stream's config
        to come: no dataflows, no peeks, read-only, parameters at their defaults."""
        log.warning(
            "%s: %s; starting afresh with the new config, as a restarted replica would "
            "(dropping %d dataflow(s); read-only until AllowWrites)",
            iteration.connection,
            why,
            len(self.state.dataflows),
        )
        for dataflow in list(self.state.dataflows):
            self.state.drop_silently(dataflow)
        self.state.begin_iteration()
        self.state = ComputeState(self.services)
        self.services.writer.writable = False
        self.services.writer.blobs_written.clear()
        self.services.params.reset()
        self.first_configs = FirstConfigs(timely=iteration.timely)
        self.setup_was_cut = False

    def _on_storage_misconfigured(self, message: str) -> None:
        if message not in self._storage_problems:
            self._storage_problems.add(message)
            log.error("%s", message)
        if self.iteration is not None:
            log.info("ending %s: UNAVAILABLE: %s", self.iteration.connection, message)
            self._end_iteration(grpc.StatusCode.UNAVAILABLE, message)

    def _created(self, iteration: Iteration) -> None:
        """The creation stage is done: initialization begins."""
        if variants.on("status-hello"):  # VARIANT: an empty Status once CreateInstance arrived
            iteration.connection.send(responses.Response(status=response_pb2.ProtoStatusResponse()))
        if variants.on("answer-during-initialization") and not self.state.dataflows:
            # VARIANT (STAGE-2): nothing runs that the new commands could reuse, so there is
            # nothing to reconcile: begin the iteration now and answer as commands arrive.
            self.state.begin_iteration()
            iteration.eager = True
            self.services.responder.attach(iteration.connection)

    def _initialize(self, iteration: Iteration) -> None:
        """Reconcile the running state with the commands of initialization, then apply them."""
        if iteration.eager:
            iteration.stage = Stage.COMPUTING  # everything was applied as it arrived
            return
        plan = reconcile.reconcile(self.state.dataflows, iteration.buffered)
        forgotten = self.state.begin_iteration()
        loud = [  # only under the fault loud-reconcile: what the normal drop path would report
            e for d in plan.drop for e in d.live_exports() if not e.finished() and e.collection not in iteration.live
        ]
        for dataflow in plan.drop:
            self.state.drop_silently(dataflow)
        if plan.reuse or plan.drop:
            log.info(
                "reconciled %s: %d dataflow(s) reused, %d dropped%s",
                iteration.connection,
                len(plan.reuse),
                len(plan.drop),
                "".join(f"; {name} rebuilt: {why}" for name, why in plan.reasons.items()),
            )
        iteration.stage = Stage.COMPUTING
        if not (self.setup_was_cut and faults.on("block-on-overlapping-connect")):  # FAULT: STAGE-3
            self.services.responder.attach(iteration.connection)
        if faults.on("loud-reconcile"):
            for export in loud:  # FAULT: breaks RECON-1 (the normal drop path reports)
                self.services.responder.send(_drop_report(export))
        if faults.on("cancel-forgotten-peeks"):
            for uuid in forgotten:  # FAULT: breaks RECON-2
                if uuid not in iteration.peeks:
                    self.services.responder.send(responses.peek_canceled(uuid, {}))
        self.state.initializing = True
        for position, cmd in enumerate(iteration.buffered):
            self.state.apply(cmd, plan.reuse.get(position))
        self.state.initializing = False
        iteration.buffered.clear()

    def _end_iteration(self, code: grpc.StatusCode, message: str) -> None:
        assert self.iteration is not None
        self.iteration.connection.end(code, message)
        self.iteration = None
        self.services.responder.attach(None)


def decode(raw: bytes) -> command_pb2.ProtoComputeCommand:
    cmd = command_pb2.ProtoComputeCommand()
    try:
        cmd.ParseFromString(raw)
    except DecodeError as error:
        raise malformed("command", f"undecodable bytes ({error})") from None
    return cmd


def _drop_report(export: Export) -> responses.Response:
    """What the normal drop path would say about `export` (for the fault loud-reconcile)."""
    if export.reports_frontiers:
        return responses.frontiers(export.collection, EMPTY, EMPTY, EMPTY)
    if export.kind == "subscribe":
        return responses.subscribe_dropped_at(export.collection, getattr(export, "sent_upper", 0))
    return responses.copy_to_dropped(export.collection)


def _idle() -> None:
    pass


_IDLE = _idle
