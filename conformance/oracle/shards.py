"""The oracle's own view of storage, rebuilt from storage events alone.

The oracle never reads the storage harness directly: it applies the `StorageEvent`s it is fed,
live or from a history, to a `ShardLog`, so the offline check sees exactly the storage the live
run saw. Unlike a bare `ShardLog` it tolerates a history that starts after a shard was created
(the shard is taken as it is first seen), and it remembers refused blob writes, which COPY-4
accepts as the reason for a copy-to `Error`.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.storage import ShardLog, StorageEvent, Update
from conformance.wire.frontiers import Frontier
from conformance.wire.rows import Row


class ShardBook(ShardLog):
    def __init__(self) -> None:
        super().__init__()
        self.rejected_blobs: dict[str, str] = {}
        self.blob_seq: dict[str, int] = {}  # blob key -> history seq of its put (set by the oracle)

    def apply(self, event: StorageEvent) -> None:
        if event.kind in ("append", "since") and not self.has_shard(event.shard_id):
            arity = len(event.updates[0][0]) if event.updates else 0
            first = StorageEvent(
                kind="create_shard",
                seq=event.seq,
                time=event.time,
                shard_id=event.shard_id,
                upper=event.lower,
                arity=arity,
            )
            super().apply(first)
        if event.kind == "blob_rejected":
            self.rejected_blobs[event.key] = event.detail
        super().apply(event)

    def known(self, shard_id: str) -> bool:
        return self.has_shard(shard_id)

    def upper(self, shard_id: str) -> Frontier:
        return super().upper(shard_id) if self.has_shard(shard_id) else 0

    def since(self, shard_id: str) -> int:
        return super().since(shard_id) if self.has_shard(shard_id) else 0

    def updates(self, shard_id: str) -> Sequence[Update]:
        return super().updates(shard_id) if self.has_shard(shard_id) else ()

    def version(self, shard_id: str) -> int:
        return super().version(shard_id) if self.has_shard(shard_id) else 0

    def contents_at(self, shard_id: str, t: int) -> dict[Row, int]:
        return super().contents_at(shard_id, t) if self.has_shard(shard_id) else {}

    def update_times(self, shard_id: str) -> set[int]:
        return {time for _, time, _ in self.updates(shard_id)}
