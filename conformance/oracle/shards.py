"""The oracle's own view of storage, rebuilt from storage events alone.

The oracle never reads the storage harness directly: it applies the `StorageEvent`s it is fed,
live or from a history, so the offline check sees exactly the storage the live run saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from conformance.frontiers import Frontier
from conformance.rows import Row
from conformance.storage import Shard, ShardView, StorageEvent, Update


@dataclass
class Blob:
    key: str
    rows: tuple[Row, ...]
    writer_id: str
    seq: int


@dataclass
class ShardBook(ShardView):
    shards: dict[str, Shard] = field(default_factory=dict)
    blobs: dict[str, Blob] = field(default_factory=dict)
    rejected_blobs: dict[str, str] = field(default_factory=dict)

    def apply(self, ev: StorageEvent) -> None:
        if ev.kind == "create_shard":
            self.shards[ev.shard_id] = Shard(ev.shard_id, arity=0, upper=ev.upper, since=ev.since)
        elif ev.kind == "append":
            shard = self._shard(ev.shard_id)
            shard.updates.extend(ev.updates)
            shard.upper = ev.upper
        elif ev.kind == "since":
            self._shard(ev.shard_id).since = ev.since
        elif ev.kind == "blob_put":
            self.blobs[ev.key] = Blob(ev.key, ev.rows, ev.writer_id, ev.seq)
        elif ev.kind == "blob_rejected":
            self.rejected_blobs[ev.key] = ev.detail

    def _shard(self, shard_id: str) -> Shard:
        # A history may start after a shard was created; its first write then defines it.
        return self.shards.setdefault(shard_id, Shard(shard_id, arity=0))

    def known(self, shard_id: str) -> bool:
        return shard_id in self.shards

    def upper(self, shard_id: str) -> Frontier:
        shard = self.shards.get(shard_id)
        return shard.upper if shard is not None else 0

    def since(self, shard_id: str) -> int:
        shard = self.shards.get(shard_id)
        return shard.since if shard is not None else 0

    def updates(self, shard_id: str) -> Sequence[Update]:
        shard = self.shards.get(shard_id)
        return shard.updates if shard is not None else ()

    def contents_at(self, shard_id: str, t: int) -> dict[Row, int]:
        acc: dict[Row, int] = {}
        for r, time, diff in self.updates(shard_id):
            if time <= t:
                acc[r] = acc.get(r, 0) + diff
        return {r: m for r, m in acc.items() if m != 0}

    def update_times(self, shard_id: str) -> set[int]:
        return {time for _, time, _ in self.updates(shard_id)}
