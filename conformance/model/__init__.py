"""The model evaluator: expected contents of any collection at any time (spec section 5).

INTERFACE SKELETON. The implementation lands in this package (expressions.py, plans.py,
catalog.py ...); the names and signatures below are the contract the oracle codes against.

The model is deliberately simple and non-incremental: `contents(id, t)` evaluates the plan
from scratch on the shards' contents at `t`, with `as_of`/`until` applied (spec 5.2). It
shares no code with the reference replica's engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compute_protocol.v1 import dataflow_pb2

from conformance.frontiers import Frontier
from conformance.ids import GlobalId
from conformance.rows import Row
from conformance.storage import ShardView


@dataclass
class Contents:
    rows: dict[Row, int] = field(default_factory=dict)     # non-zero multiplicities only
    errors: dict[str, int] = field(default_factory=dict)   # non-zero multiplicities only

    def holds_errors(self) -> bool:
        return bool(self.errors)

    def has_negative(self) -> bool:
        return any(m < 0 for m in self.rows.values())


class Model:
    """The collections of one protocol iteration, evaluated against a ShardView."""

    def __init__(self, shards: ShardView) -> None:
        raise NotImplementedError

    def add_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
        """Register a dataflow: its objects, index exports and sink exports become known ids."""
        raise NotImplementedError

    def drop(self, collection_id: GlobalId) -> None:
        """AllowCompaction(id, []): the id stays known (for reports) but is no longer live."""
        raise NotImplementedError

    def contents(self, collection_id: GlobalId, t: int) -> Contents:
        """Contents at t of an index export, a sink export (its `from` object) or a built object,
        with the owning dataflow's as_of and until applied. t must be >= as_of."""
        raise NotImplementedError

    def shard_contents(self, shard_id: str, t: int) -> Contents:
        """Contents at t of a storage shard (persist peeks, materialized-view targets)."""
        raise NotImplementedError

    def input_upper(self, collection_id: GlobalId) -> Frontier:
        """Meet of the uppers of the shards the collection reads, transitively; EMPTY if none."""
        raise NotImplementedError

    def change_times(self, collection_id: GlobalId, lower: int, upper: Frontier) -> list[int]:
        """Sorted times in [lower, upper) at which the contents may differ from the time before
        (input update times advanced to as_of, none at or beyond until); the points at which
        subscribe and materialized-view checks compare accumulations with the model."""
        raise NotImplementedError

    def as_of(self, collection_id: GlobalId) -> int:
        raise NotImplementedError

    def until(self, collection_id: GlobalId) -> Frontier:
        """EMPTY when unbounded."""
        raise NotImplementedError
