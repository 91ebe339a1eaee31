"""A collection inside a running dataflow, and how collections are wired together.

Operators push: when a node has new complete times it calls `emit(batch)`, which hands the
batch to every consumer (the operators reading this collection, and the exports). The
engine thread runs everything, so a batch travels through the whole dataflow before the
engine looks at its next event. A node's `frontier` is the upper of its last batch: every
update below it has been emitted. Nodes start at the dataflow's `as_of`, because nothing
below `as_of` is ever observed (spec 5.2).
"""

from __future__ import annotations

from collections.abc import Callable

from reference_replica.dataflow.batch import Batch

Consumer = Callable[[Batch], None]


class Node:
    def __init__(self, as_of: int) -> None:
        self.as_of = as_of
        self.frontier = as_of
        self._consumers: list[Consumer] = []

    def subscribe(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)

    def unsubscribe(self, consumer: Consumer) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)

    def emit(self, batch: Batch) -> None:
        assert batch.lower == self.frontier < batch.upper, (batch.lower, self.frontier, batch.upper)
        self.frontier = batch.upper
        for consumer in list(self._consumers):
            consumer(batch)

    def is_hydrated(self) -> bool:
        """Operator hydration (spec 11): the node has output beyond its as_of."""
        return self.frontier > self.as_of
