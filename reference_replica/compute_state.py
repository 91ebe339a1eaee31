"""The replica's compute state and the computation commands (spec sections 5 to 13).

One `ComputeState` lives as long as the process: dataflows survive reconnections (section
14), and `Engine` drives this object from its single thread. Commands arrive here only
once they are known to be well formed and legal for the stream (`validation`, `iteration`),
so handlers can trust ids and stages.

After every batch of events the engine calls `step()`, which does the maintenance a timely
worker would do in its loop: answer the peeks that have become answerable, let sinks write,
report hydration status and then frontiers.
"""

from __future__ import annotations

import logging
import time

from compute_protocol.v1 import command_pb2, dataflow_pb2

from reference_replica import faults, frontier, ids, responses, validation, variants
from reference_replica.dataflow.dataflow import Dataflow
from reference_replica.dataflow.render import ImportedIndex, RenderContext, render
from reference_replica.exports.base import Export
from reference_replica.exports.copy_to import CopyToExport
from reference_replica.exports.index import IndexExport
from reference_replica.exports.materialized_view import MaterializedViewExport
from reference_replica.exports.subscribe import SubscribeExport
from reference_replica.frontier import EMPTY
from reference_replica.frontier_reports import FrontierReporter
from reference_replica.peeks.pending import IndexPeek, PendingPeek, PersistPeek
from reference_replica.services import Services
from reference_replica.status import HydrationReporter

log = logging.getLogger(__name__)


class ComputeState:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.dataflows: list[Dataflow] = []
        self.exports: dict[str, Export] = {}  # the live exports of the current iteration
        self.peeks: dict[int, PendingPeek] = {}
        self.frontiers = FrontierReporter(services.responder)
        self.hydration = HydrationReporter(services.responder, services.workers)
        self.initializing = False  # applying the commands buffered during initialization
        self.answered_peeks: set[int] = set()  # only kept under the fault canceled-after-answer
        self.finished_status: set[str] = set()  # only kept under the fault status-after-finish
        self.object_status: set[str] = set()  # only kept under the fault status-for-object
        self.leaked: list[Export] = []  # only kept under the fault leak-dropped-dataflow
        self.scheduled: set[str] = set()  # exports scheduled in this iteration (variant suspend-until-scheduled)
        self.suspended: list[Dataflow] = []  # dataflows not started yet (variant suspend-until-scheduled)
        self.cancelled: dict[int, float] = {}  # cancelled peeks still pending, since when (variant slow-cancel)

    # --- commands ------------------------------------------------------------------------

    def apply(self, cmd: command_pb2.ProtoComputeCommand, reuse: Dataflow | None = None) -> None:
        kind = cmd.WhichOneof("kind")
        if kind == "create_dataflow":
            if reuse is not None:
                self.adopt(reuse, cmd.create_dataflow)
            else:
                self.create_dataflow(cmd.create_dataflow)
        elif kind == "schedule":
            # Dataflows run from creation; keeping them suspended is only allowed (DF-2).
            self.scheduled.add(ids.gid(cmd.schedule))
            self._start_scheduled()
        elif kind == "allow_compaction":
            self.allow_compaction(
                ids.gid(cmd.allow_compaction.id), frontier.from_proto(cmd.allow_compaction.frontier)
            )
        elif kind == "peek":
            self.peek(cmd.peek)
        elif kind == "cancel_peek":
            self.cancel_peek(ids.uuid(cmd.cancel_peek))
        elif kind == "update_configuration":
            self.services.params.update(cmd.update_configuration)
        elif kind == "allow_writes":
            if not self.services.writer.writable:
                log.info("AllowWrites: the replica is writable from now on")
            self.services.writer.writable = True  # permanent and idempotent (RO-2, RO-4)
            self.services.writer.allowed_on_this_stream = True  # (only the fault allow-writes-forgotten reads it)

    def create_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
        shape = validation.check_dataflow(desc)
        dataflow = render(
            desc, RenderContext(self.services.storage, self.services.post, self._imported_index)
        )
        dataflow.depends_on = [self.exports[gid].dataflow for gid in dataflow.imported_indexes]
        for index in desc.index_exports:
            on = ids.gid(index.on_id)
            export: Export = IndexExport(
                ids.gid(index.id),
                dataflow,
                dataflow.nodes[on],
                list(index.key_columns),
                shape.arities[on],
                self.services.workers,
            )
            dataflow.exports[export.collection] = export
        for sink in desc.sink_exports:
            export = self._sink(ids.gid(sink.id), dataflow, sink.sink_desc)
            dataflow.exports[export.collection] = export
        for export in dataflow.exports.values():
            self._register(export)
            if self.initializing and faults.on("untracked-init-dataflows"):
                self.frontiers.mute(export.collection)  # FAULT: breaks STAGE-3
        self.dataflows.append(dataflow)
        log.debug("created %r", dataflow)
        if variants.on("suspend-until-scheduled"):  # VARIANT: DF-2, started once scheduled
            self.suspended.append(dataflow)
            self._start_scheduled()
            return
        dataflow.start()

    def _start_scheduled(self) -> None:
        """Start the suspended dataflows whose live exports are all scheduled and whose imports run
        (an export dropped before its Schedule never gets one, DF-3)."""
        progress = True
        while progress:
            progress = False
            for dataflow in list(self.suspended):
                live = [e for e in dataflow.exports.values() if not e.dropped]
                if (
                    live
                    and all(e.collection in self.scheduled for e in live)
                    and all(d.running for d in dataflow.depends_on)
                ):
                    self.suspended.remove(dataflow)
                    dataflow.start()
                    progress = True

    def _sink(self, gid: str, dataflow: Dataflow, desc: dataflow_pb2.ProtoComputeSinkDesc) -> Export:
        node = dataflow.nodes[ids.gid(getattr(desc, "from"))]
        connection = desc.connection
        kind = connection.WhichOneof("kind")
        if kind == "subscribe":
            up_to = frontier.from_proto(desc.up_to) if desc.HasField("up_to") else EMPTY
            return SubscribeExport(gid, dataflow, node, desc.with_snapshot, up_to, self.services)
        if kind == "materialized_view":
            return MaterializedViewExport(gid, dataflow, node, connection.materialized_view, self.services)
        return CopyToExport(gid, dataflow, node, connection.copy_to, self.services)

    def _imported_index(self, gid: str) -> ImportedIndex:
        export = self.exports[gid]
        assert isinstance(export, IndexExport)
        return ImportedIndex(export.node, export.arrangement)

    def _register(self, export: Export) -> None:
        self.exports[export.collection] = export
        if export.reports_frontiers:
            self.frontiers.track(export.collection, export.dataflow.as_of)

    def adopt(self, dataflow: Dataflow, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
        """Reconciliation reuses `dataflow` for the new iteration's equal `desc` (RECON-3)."""
        dataflow.description = desc
        dataflow.as_of = frontier.from_proto(desc.as_of)
        for export in dataflow.exports.values():
            if isinstance(export, IndexExport):
                export.rebase(dataflow.as_of)
            self._register(export)
        log.debug("reused %r", dataflow)

    def allow_compaction(self, gid: str, since: int) -> None:
        export = self.exports.get(gid)
        if export is None:
            return
        if since == EMPTY:
            self._drop(export)
            if self.suspended:
                self._start_scheduled()  # the drop may leave a suspended dataflow fully scheduled
        else:
            export.allow_compaction(since)

    def _drop(self, export: Export) -> None:
        del self.exports[export.collection]
        self.hydration.forget(export.collection)
        send = self.services.responder.send
        if not export.reports_frontiers and faults.on("frontiers-for-sinks"):
            send(responses.frontiers(export.collection, EMPTY, EMPTY, EMPTY))  # FAULT: breaks FRONT-1
        export.drop()
        if export.reports_frontiers:
            self.frontiers.drop(export.collection)  # [] for every kind, then silence
            if faults.on("leak-dropped-dataflow"):
                self.frontiers.track(export.collection, export.dataflow.as_of)  # FAULT: breaks FRONT-7
                self.leaked.append(export)
        if export.kind != "subscribe" and faults.on("droppedat-for-all"):
            send(responses.subscribe_dropped_at(export.collection, 0))  # FAULT: breaks SUB-14
        if export.kind in ("subscribe", "materialized_view") and faults.on("dropped-for-all-sinks"):
            send(responses.copy_to_dropped(export.collection))  # FAULT: breaks COPY-2

    def peek(self, peek: command_pb2.ProtoPeek) -> None:
        uuid = ids.uuid(peek.uuid)
        pending: PendingPeek
        if peek.WhichOneof("target") == "index":
            index = self.exports[ids.gid(peek.index.id)]
            assert isinstance(index, IndexExport)
            pending = IndexPeek(uuid, peek, index, self.services)
        else:
            pending = PersistPeek(uuid, peek, self.services)
        stale = self.peeks.get(uuid)  # only under the fault replay-old-peeks: an old iteration's
        if stale is not None:
            stale.release()
        self.peeks[uuid] = pending

    def cancel_peek(self, uuid: int) -> None:
        pending = self.peeks.pop(uuid, None)
        if pending is None:
            if uuid in self.answered_peeks:
                self.services.responder.send(responses.peek_canceled(uuid, {}))  # FAULT: breaks PEEK-1
            return  # answered, cancelled or never seen: nothing to say (PEEK-1, TRANS-5)
        if variants.on("slow-cancel"):  # VARIANT: PEEK-5, answered by step() within 0.2 s
            self.peeks[uuid] = pending
            self.cancelled.setdefault(uuid, time.monotonic())
            return
        if variants.on("cancel-answers-if-ready"):  # VARIANT: PEEK-5, Rows or Error if it can
            ready = pending.poll()
            if ready is not None:
                pending.release()
                self.services.responder.send(ready)
                return
        pending.release()
        if faults.on("ignore-cancel"):
            return  # FAULT: breaks PEEK-2
        self.services.responder.send(responses.peek_canceled(uuid, pending.otel_ctx))
        if faults.on("canceled-to-swapped-uuid"):
            swapped = ((uuid & (1 << 64) - 1) << 64) | (uuid >> 64)
            self.services.responder.send(responses.peek_canceled(swapped, {}))  # FAULT: breaks PEEK-3

    # --- reconnection --------------------------------------------------------------------

    def begin_iteration(self) -> list[int]:
        """Forget the old iteration's ids and pending peeks, silently (RECON-1, RECON-2).

        Returns the uuids of the forgotten peeks (for the fault cancel-forgotten-peeks)."""
        forgotten = list(self.peeks)
        if not faults.on("replay-old-peeks"):  # FAULT: replay-old-peeks breaks RECON-2
            for pending in self.peeks.values():
                pending.release()
            self.peeks.clear()
        for gid in self.exports:
            self.frontiers.forget(gid)
        self.exports.clear()
        self.hydration.reset()
        self.answered_peeks.clear()
        self.finished_status.clear()
        self.object_status.clear()
        for export in self.leaked:
            self.frontiers.forget(export.collection)
        self.leaked.clear()
        self.scheduled.clear()
        self.cancelled.clear()
        self.services.writer.allowed_on_this_stream = False
        return forgotten

    def drop_silently(self, dataflow: Dataflow) -> None:
        dataflow.stop()
        if dataflow in self.dataflows:
            self.dataflows.remove(dataflow)
        if dataflow in self.suspended:
            self.suspended.remove(dataflow)
        log.debug("dropped %r in reconciliation", dataflow)

    # --- maintenance -----------------------------------------------------------------------

    def step(self) -> None:
        pending_peeks = list(self.peeks.items())
        if variants.on("reverse-peek-order"):
            pending_peeks.reverse()  # VARIANT: independent answers in another order
        for uuid, pending in pending_peeks:
            response = pending.poll()
            if response is None and uuid in self.cancelled and time.monotonic() - self.cancelled[uuid] > 0.2:
                response = responses.peek_canceled(uuid, pending.otel_ctx)  # VARIANT slow-cancel: now
            if response is not None:
                del self.peeks[uuid]
                self.cancelled.pop(uuid, None)
                pending.release()
                self.services.responder.send(response)
                if faults.on("canceled-after-answer"):
                    self.answered_peeks.add(uuid)
        for dataflow in self.dataflows:
            for export in dataflow.exports.values():
                if not export.dropped:
                    export.step()
        for export in self.exports.values():
            if not self._finished(export):
                self.hydration.report(export)
            elif faults.on("status-after-finish") and export.collection not in self.finished_status:
                self.finished_status.add(export.collection)
                self.services.responder.send(responses.hydration(export.collection, 0, 0, True))  # FAULT
            if faults.on("status-for-object") and (obj := _object_id(export)) and obj not in self.object_status:
                self.object_status.add(obj)
                self.services.responder.send(responses.hydration(obj, 0, 0, False))  # FAULT: breaks STATUS-1
        for export in self.exports.values():
            if export.reports_frontiers:
                alias = _object_id(export) if faults.on("frontiers-for-objects") else None  # FAULT: FRONT-2
                current = export.frontiers()
                if variants.on("output-frontier-lags") and isinstance(export, IndexExport):
                    # VARIANT: the output frontier trails the write frontier by one report (A14).
                    behind = self.frontiers.last(export.collection, 0)
                    trailing = export.dataflow.as_of if behind is None else behind
                    current = (current[0], current[1], min(current[2], trailing))
                self.frontiers.report(export.collection, current, alias, _held_kinds(export))
        for export in self.leaked:  # only under the fault leak-dropped-dataflow
            self.frontiers.report(export.collection, export.frontiers())
        self._retire()
        self.services.responder.flush()

    def _finished(self, export: Export) -> bool:
        if export.reports_frontiers:
            return self.frontiers.all_empty(export.collection)
        return export.finished()

    def _retire(self) -> None:
        """Stop dataflows that nothing needs any more: every export dropped, no peek reading
        them, no running dataflow importing from them."""
        needed = {id(d) for df in self.dataflows for d in df.depends_on}
        for dataflow in list(self.dataflows):
            if id(dataflow) in needed:
                continue
            if all(
                e.dropped and not (isinstance(e, IndexExport) and e.busy()) for e in dataflow.exports.values()
            ):
                dataflow.stop()
                self.dataflows.remove(dataflow)
                if dataflow in self.suspended:
                    self.suspended.remove(dataflow)
                log.debug("retired %r", dataflow)


def _held_kinds(export: Export) -> tuple[int, ...]:
    """Frontier kinds (0 write, 1 input, 2 output) held back by the variant suppress-early-progress
    (FRONT-12): all of them while the dataflow's inputs have not passed its as_of, but a view's
    write frontier, which follows its target shard."""
    if not variants.on("suppress-early-progress") or not export.dataflow.early():
        return ()
    return (1, 2) if export.kind == "materialized_view" else (0, 1, 2)


def _object_id(export: Export) -> str | None:
    """The id of the object an index arranges (for the fault frontiers-for-objects)."""
    if not isinstance(export, IndexExport):
        return None
    return next((gid for gid, node in export.dataflow.nodes.items() if node is export.node), None)
