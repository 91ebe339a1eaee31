"""The storage service the suite hosts (spec section 5.4).

- `ShardLog` (shards.py) is pure data: every shard's updates, upper and since, and every
  blob. The harness wraps one; the offline checker (`python -m conformance check`) rebuilds
  one from the `StorageEvent`s recorded in a history (`ShardLog.from_events`).
- `StorageHarness` (harness.py) serves `ProtoStorage` over gRPC on an ephemeral loopback
  port and reports every state change as a `StorageEvent` (events.py) to its listeners,
  synchronously and in `seq` order, before it answers the writer (so the oracle sees a
  replica's write before any response that depends on it).
- `ShardView` is the read access the model evaluator needs; `ShardLog` implements it.
"""

from __future__ import annotations

from conformance.storage.events import SUITE_WRITER, EventKind, Listener, StorageEvent, Update
from conformance.storage.harness import StorageHarness
from conformance.storage.service import StorageRejection
from conformance.storage.shards import Blob, Shard, ShardLog, ShardView

__all__ = [
    "SUITE_WRITER",
    "Blob",
    "EventKind",
    "Listener",
    "Shard",
    "ShardLog",
    "ShardView",
    "StorageEvent",
    "StorageHarness",
    "StorageRejection",
    "Update",
]

