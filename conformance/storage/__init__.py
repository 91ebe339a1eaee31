"""The storage service the suite hosts (spec section 5.4): interface contract.

INTERFACE SKELETON. The implementation lands in this package (shards.py, harness.py); the
names and signatures below are the contract the oracle, the driver and the state machines
code against. Keep them; add what you need.

- `ShardLog` is pure data: every shard's updates, upper and since, and every blob. The
  harness wraps one; the offline checker (`python -m conformance check`) rebuilds one from
  the `StorageEvent`s recorded in a history.
- `StorageHarness` serves `ProtoStorage` over gRPC on an ephemeral loopback port and reports
  every state change as a `StorageEvent` to its listeners, synchronously, before it answers
  the writer (so the oracle sees a replica's write before any response that depends on it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from conformance.frontiers import Frontier
from conformance.rows import Row

Update = tuple[Row, int, int]  # (row, time, diff)

SUITE_WRITER = "suite"

EventKind = Literal[
    "create_shard",      # shard_id, upper, since
    "append",            # a write applied: shard_id, writer_id, peer, lower, upper, updates
    "append_rejected",   # upper mismatch or malformed: shard_id, writer_id, peer, lower, upper, detail
    "since",             # shard_id, since
    "blob_put",          # key, writer_id, peer, rows
    "blob_rejected",     # key, writer_id, peer, detail
    "listen",            # shard_id, as_of, reader_id, peer, detail ("opened" / "refused: ...")
]


@dataclass(frozen=True)
class StorageEvent:
    kind: EventKind
    seq: int                      # strictly increasing per harness
    time: float                   # time.monotonic()
    shard_id: str = ""
    key: str = ""                 # blob key
    writer_id: str = ""
    peer: str = ""
    lower: Frontier = 0
    upper: Frontier = 0
    since: int = 0
    as_of: int = 0
    updates: tuple[Update, ...] = ()
    rows: tuple[Row, ...] = ()
    detail: str = ""

    def is_replica_write(self) -> bool:
        return self.kind in ("append", "blob_put") and self.writer_id != SUITE_WRITER


@dataclass
class Shard:
    shard_id: str
    arity: int
    upper: Frontier = 0
    since: int = 0
    updates: list[Update] = field(default_factory=list)


class ShardView:
    """Read access the model evaluator needs (implemented by ShardLog)."""

    def upper(self, shard_id: str) -> Frontier:
        raise NotImplementedError

    def since(self, shard_id: str) -> int:
        raise NotImplementedError

    def updates(self, shard_id: str) -> Sequence[Update]:
        """Every update ever applied to the shard, by any writer, in write order."""
        raise NotImplementedError

    def contents_at(self, shard_id: str, t: int) -> dict[Row, int]:
        """Consolidated contents at t (sum of updates at times <= t), zero counts dropped."""
        raise NotImplementedError


Listener = Callable[[StorageEvent], None]
