"""Operator hydration status (spec section 11).

For each export, each operator of its dataflow (its LIR id is its position in render order)
and each logical worker, the replica says whether the operator is hydrated: whether its
output has passed the dataflow's as_of. Messages go out only on change, and only for
collections that are live and not finished (STATUS-1); a true never turns back to false
(STATUS-3). Status is informational (STATUS-2); the controller never waits for it.
"""

from __future__ import annotations

from reference_replica import responses, variants
from reference_replica.exports.base import Export
from reference_replica.responses import Responder


class HydrationReporter:
    def __init__(self, responder: Responder, workers: int) -> None:
        self._responder = responder
        self._workers = max(1, workers)
        self._hydrated: dict[str, list[bool | None]] = {}

    def report(self, export: Export) -> None:
        if variants.on("no-status"):
            return  # VARIANT: Status is optional (STATUS-2)
        operators = export.dataflow.operators or [export.node]
        known = self._hydrated.setdefault(export.collection, [None] * len(operators))
        for lir_id, node in enumerate(operators):
            hydrated = node.is_hydrated()
            previous = known[lir_id]
            if previous is None or (hydrated and not previous):
                known[lir_id] = hydrated
                for worker in range(self._workers):
                    self._responder.send(responses.hydration(export.collection, lir_id, worker, hydrated))

    def forget(self, collection: str) -> None:
        self._hydrated.pop(collection, None)

    def reset(self) -> None:
        self._hydrated.clear()
