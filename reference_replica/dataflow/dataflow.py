"""One running `CreateDataflow`: its operators, inputs and exports.

The dataflow's *input frontier* is how far its storage inputs have been read: the meet of
its sources' and imported indexes' frontiers (never below as_of), or `[]` for a dataflow
that reads no storage (constants only, spec section 0).
"""

from __future__ import annotations

from compute_protocol.v1 import dataflow_pb2

from reference_replica.dataflow.leaf import Leaf
from reference_replica.dataflow.node import Node
from reference_replica.exports.base import Export
from reference_replica.frontier import EMPTY


class Dataflow:
    def __init__(self, description: dataflow_pb2.ProtoDataflowDescription, as_of: int, until: int) -> None:
        self.description = description
        self.as_of = as_of
        self.until = until
        self.leaves: list[Leaf] = []
        self.inputs: list[Node] = []  # source and index-import nodes
        self.nodes: dict[str, Node] = {}  # imports and built objects, by id
        self.operators: list[Node] = []  # every plan operator, in render order (LIR ids)
        self.exports: dict[str, Export] = {}
        self.imported_indexes: list[str] = []
        self.depends_on: list[Dataflow] = []  # the dataflows whose indexes this one imports
        self.running = False

    def input_frontier(self) -> int:
        if not self.inputs:
            return EMPTY
        return max(self.as_of, min(node.frontier for node in self.inputs))

    def early(self) -> bool:
        """Have the storage inputs not yet passed as_of? (Only the variant suppress-early-progress
        asks: it reports nothing until they have, FRONT-12.)"""
        return bool(self.inputs) and min(node.frontier for node in self.inputs) <= self.as_of

    def start(self) -> None:
        self.running = True
        for export in self.exports.values():
            export.start()
        for leaf in self.leaves:
            leaf.start()

    def stop(self) -> None:
        """Tear everything down silently."""
        self.running = False
        for export in self.exports.values():
            export.teardown()
        for leaf in self.leaves:
            leaf.stop()

    def live_exports(self) -> list[Export]:
        return [e for e in self.exports.values() if not e.dropped]

    def __repr__(self) -> str:
        name = self.description.debug_name or ",".join(self.exports)
        return f"dataflow {name} (as_of {self.as_of})"
