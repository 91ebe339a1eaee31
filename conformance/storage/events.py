"""What the storage harness reports: one `StorageEvent` per state change or refused request.

Events are plain data (strings, ints, tuples of rows) so the history writer can serialise
them, and `ShardLog.from_events` can rebuild the storage state offline from a history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from conformance.wire.frontiers import Frontier
from conformance.wire.rows import Row

Update = tuple[Row, int, int]  # (row, time, diff)

SUITE_WRITER = "suite"

EventKind = Literal[
    "create_shard",      # shard_id, arity, upper, since
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
    arity: int = 0                # create_shard: columns of every row of the shard
    reader_id: str = ""           # listen

    def is_replica_write(self) -> bool:
        return self.kind in ("append", "blob_put") and self.writer_id != SUITE_WRITER


Listener = Callable[[StorageEvent], None]
