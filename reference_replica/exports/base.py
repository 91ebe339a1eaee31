"""The common shape of exports, as the compute state drives them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reference_replica.dataflow.node import Node

if TYPE_CHECKING:
    from reference_replica.dataflow.dataflow import Dataflow


class Export:
    kind = "export"
    reports_frontiers = False  # only indexes and materialized views do (FRONT-1)

    def __init__(self, collection: str, dataflow: Dataflow, node: Node) -> None:
        self.collection = collection
        self.dataflow = dataflow
        self.node = node
        self.dropped = False

    def start(self) -> None:
        """The dataflow is wired and about to start its inputs."""

    def step(self) -> None:
        """Periodic work (sinks that write, copy-tos waiting to answer)."""

    def frontiers(self) -> tuple[int, int, int]:
        """(write, input, output) as of now; only for exports that report frontiers."""
        raise NotImplementedError

    def allow_compaction(self, since: int) -> None:
        """A non-empty AllowCompaction: by default it has no visible effect (COMPACT-2)."""

    def drop(self) -> None:
        """AllowCompaction(id, []): finish visibly (DroppedAt, Dropped) where the spec says so."""
        self.dropped = True
        self.teardown()

    def teardown(self) -> None:
        """Stop silently (reconciliation, or the end of the dataflow)."""

    def finished(self) -> bool:
        """No more responses will be sent about it (STATUS-1's notion of finished)."""
        return self.dropped
