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

from compute_protocol.v1 import command_pb2, dataflow_pb2

from reference_replica import frontier, ids, responses, validation
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

    # --- commands ------------------------------------------------------------------------

    def apply(self, cmd: command_pb2.ProtoComputeCommand, reuse: Dataflow | None = None) -> None:
        kind = cmd.WhichOneof("kind")
        if kind == "create_dataflow":
            if reuse is not None:
                self.adopt(reuse, cmd.create_dataflow)
            else:
                self.create_dataflow(cmd.create_dataflow)
        elif kind == "schedule":
            pass  # dataflows run from creation; keeping them suspended is only allowed (DF-2)
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
        self.dataflows.append(dataflow)
        log.debug("created %r", dataflow)
        dataflow.start()

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
        else:
            export.allow_compaction(since)

    def _drop(self, export: Export) -> None:
        del self.exports[export.collection]
        self.hydration.forget(export.collection)
        export.drop()
        if export.reports_frontiers:
            self.frontiers.drop(export.collection)  # [] for every kind, then silence

    def peek(self, peek: command_pb2.ProtoPeek) -> None:
        uuid = ids.uuid(peek.uuid)
        pending: PendingPeek
        if peek.WhichOneof("target") == "index":
            index = self.exports[ids.gid(peek.index.id)]
            assert isinstance(index, IndexExport)
            pending = IndexPeek(uuid, peek, index, self.services)
        else:
            pending = PersistPeek(uuid, peek, self.services)
        self.peeks[uuid] = pending

    def cancel_peek(self, uuid: int) -> None:
        pending = self.peeks.pop(uuid, None)
        if pending is None:
            return  # answered, cancelled or never seen: nothing to say (PEEK-1, TRANS-5)
        pending.release()
        self.services.responder.send(responses.peek_canceled(uuid, pending.otel_ctx))

    # --- reconnection --------------------------------------------------------------------

    def begin_iteration(self) -> None:
        """Forget the old iteration's ids and pending peeks, silently (RECON-1, RECON-2)."""
        for pending in self.peeks.values():
            pending.release()
        self.peeks.clear()
        for gid in self.exports:
            self.frontiers.forget(gid)
        self.exports.clear()
        self.hydration.reset()

    def drop_silently(self, dataflow: Dataflow) -> None:
        dataflow.stop()
        if dataflow in self.dataflows:
            self.dataflows.remove(dataflow)
        log.debug("dropped %r in reconciliation", dataflow)

    # --- maintenance -----------------------------------------------------------------------

    def step(self) -> None:
        for uuid, pending in list(self.peeks.items()):
            response = pending.poll()
            if response is not None:
                del self.peeks[uuid]
                pending.release()
                self.services.responder.send(response)
        for dataflow in self.dataflows:
            for export in dataflow.exports.values():
                if not export.dropped:
                    export.step()
        for export in self.exports.values():
            if not self._finished(export):
                self.hydration.report(export)
        for export in self.exports.values():
            if export.reports_frontiers:
                self.frontiers.report(export.collection, export.frontiers())
        self._retire()

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
                log.debug("retired %r", dataflow)
