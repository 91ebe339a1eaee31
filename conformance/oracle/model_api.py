"""What the oracle needs from the model evaluator (`conformance.model`), as a protocol.

The oracle codes against this protocol rather than the concrete class so that its unit tests
can use a tiny stand-in, and so that the contract is visible in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from compute_protocol.v1 import command_pb2, dataflow_pb2

from conformance.frontiers import Frontier
from conformance.ids import GlobalId
from conformance.model import Contents
from conformance.rows import Row
from conformance.storage import ShardView


class ModelLike(Protocol):
    def add_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None: ...

    def drop(self, collection_id: GlobalId) -> None: ...

    def contents(self, collection_id: GlobalId, t: int) -> Contents: ...

    def shard_contents(self, shard_id: str, t: int) -> Contents: ...

    def input_upper(self, collection_id: GlobalId) -> Frontier: ...

    def change_times(self, collection_id: GlobalId, lower: int, upper: Frontier) -> list[int]: ...

    def expected_peek(self, peek: command_pb2.ProtoPeek) -> Contents:
        """The full answer of a peek: matching rows (key literals) of the target at its time, MFP applied."""
        ...

    def check_finishing(
        self, finishing: command_pb2.ProtoRowSetFinishing, full: dict[Row, int], got: dict[Row, int]
    ) -> str | None:
        """None if `got` is an acceptable thinning of `full` under `finishing` (PEEK-8), else why not."""
        ...


ModelFactory = Callable[[ShardView], ModelLike]


def default_model_factory(shards: ShardView) -> ModelLike:
    from conformance.model import Model

    model: ModelLike = Model(shards)  # type: ignore[assignment]
    return model
