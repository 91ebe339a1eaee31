"""What the oracle needs from the model evaluator (`conformance.model`), as a protocol.

The oracle codes against `ModelLike` rather than the concrete class so that its unit tests can
use a tiny stand-in, and so that the contract is visible in one place. `ModelAdapter` fits the
real model to it: the model keeps peeks as module functions (`expected_peek`,
`check_finishing`), the oracle wants them next to the collections they read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from compute_protocol.v1 import command_pb2, dataflow_pb2

from conformance.model import Contents
from conformance.storage import ShardView
from conformance.wire.frontiers import Frontier
from conformance.wire.ids import GlobalId
from conformance.wire.rows import Row


class PeekExpectationLike(Protocol):
    """The full answer of a peek before finishing, and when `Error` is required or allowed."""

    @property
    def rows(self) -> dict[Row, int]: ...

    @property
    def must_error(self) -> tuple[str, ...]: ...

    @property
    def may_error(self) -> tuple[str, ...]: ...

    @property
    def error_required(self) -> bool: ...

    @property
    def error_permitted(self) -> bool: ...

    def size(self) -> int: ...


class ModelLike(Protocol):
    def add_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None: ...

    def drop(self, collection_id: GlobalId) -> None: ...

    def contents(self, collection_id: GlobalId, t: int) -> Contents: ...

    def shard_contents(self, shard_id: str, t: int) -> Contents: ...

    def input_upper(self, collection_id: GlobalId) -> Frontier:
        """How far storage made the inputs final (safety bounds: FRONT-10, PEEK-6, SUB-6)."""
        ...

    def owed_upper(self, collection_id: GlobalId) -> Frontier:
        """How far the inputs are guaranteed to progress (liveness bounds: FRONT-9, PEEK-2, SUB-10)."""
        ...

    def change_times(self, collection_id: GlobalId, lower: int, upper: Frontier) -> list[int]: ...

    def expected_peek(self, peek: command_pb2.ProtoPeek, since: int) -> PeekExpectationLike:
        """The answer a peek must get given the since in effect when it arrived (spec 8.2)."""
        ...

    def check_finishing(
        self, returned: dict[Row, int], full: dict[Row, int], finishing: command_pb2.ProtoRowSetFinishing
    ) -> str | None:
        """None if `returned` is an acceptable answer for `full` (PEEK-7, or PEEK-8 with a limit)."""
        ...


ModelFactory = Callable[[ShardView], ModelLike]


class ModelAdapter:
    """`conformance.model.Model` with the peek functions of `conformance.model` as methods."""

    def __init__(self, shards: ShardView) -> None:
        from conformance import model

        self._module: Any = model
        self._model: Any = model.Model(shards)

    def add_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
        self._model.add_dataflow(desc)

    def drop(self, collection_id: GlobalId) -> None:
        self._model.drop(collection_id)

    def contents(self, collection_id: GlobalId, t: int) -> Contents:
        result: Contents = self._model.contents(collection_id, t)
        return result

    def shard_contents(self, shard_id: str, t: int) -> Contents:
        result: Contents = self._model.shard_contents(shard_id, t)
        return result

    def input_upper(self, collection_id: GlobalId) -> Frontier:
        return int(self._model.input_upper(collection_id))

    def owed_upper(self, collection_id: GlobalId) -> Frontier:
        return int(self._model.owed_upper(collection_id))

    def change_times(self, collection_id: GlobalId, lower: int, upper: Frontier) -> list[int]:
        return list(self._model.change_times(collection_id, lower, upper))

    def expected_peek(self, peek: command_pb2.ProtoPeek, since: int) -> PeekExpectationLike:
        result: PeekExpectationLike = self._module.expected_peek(self._model, peek, since)
        return result

    def check_finishing(
        self, returned: dict[Row, int], full: dict[Row, int], finishing: command_pb2.ProtoRowSetFinishing
    ) -> str | None:
        reason: str | None = self._module.check_finishing(returned, full, finishing)
        return reason


def default_model_factory(shards: ShardView) -> ModelLike:
    return ModelAdapter(shards)
