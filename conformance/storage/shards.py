"""Storage state as pure data: shards (updates, upper, since) and blobs.

`ShardLog` is what the model evaluator reads (through `ShardView`). The harness changes it
only through `apply(event)`, the same path `ShardLog.from_events` replays offline, so a log
rebuilt from a recorded history answers exactly as the live one did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice

from conformance.storage.events import StorageEvent, Update
from conformance.wire.frontiers import Frontier, fmt
from conformance.wire.rows import Row


@dataclass
class Shard:
    shard_id: str
    arity: int
    upper: Frontier = 0
    since: int = 0
    updates: list[Update] = field(default_factory=list)


@dataclass(frozen=True)
class Blob:
    key: str
    rows: tuple[Row, ...]   # a row written n times appears n times
    writer_id: str
    peer: str = ""


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

    def version(self, shard_id: str) -> int:
        """Changes whenever the shard's contents may have changed at some time (updates are
        only ever appended, so their number will do); lets readers cache safely."""
        return len(self.updates(shard_id))


class ShardLog(ShardView):
    def __init__(self) -> None:
        self._shards: dict[str, Shard] = {}
        self._uppers: dict[str, list[Frontier]] = {}    # every upper a shard had, in order
        self._blobs: dict[str, Blob] = {}
        # (shard, t) -> (number of updates summed, their sum with zeros kept)
        self._sums: dict[tuple[str, int], tuple[int, dict[Row, int]]] = {}

    @classmethod
    def from_events(cls, events: Iterable[StorageEvent]) -> ShardLog:
        log = cls()
        for event in sorted(events, key=lambda e: e.seq):
            log.apply(event)
        return log

    def apply(self, event: StorageEvent) -> None:
        """Apply one state change; refusals and listens change nothing.

        Raises ValueError when the event does not fit the state (an append whose lower is
        not the shard's upper, a second shard or blob with one id): a corrupt history.
        """
        if event.kind == "create_shard":
            if event.shard_id in self._shards:
                raise ValueError(f"shard {event.shard_id} created twice")
            self._shards[event.shard_id] = Shard(event.shard_id, event.arity, event.upper, event.since)
            self._uppers[event.shard_id] = [event.upper]
        elif event.kind == "append":
            shard = self.shard(event.shard_id)
            if event.lower != shard.upper:
                raise ValueError(f"append #{event.seq} to {shard.shard_id} expects upper "
                                 f"{fmt(event.lower)}, but the shard's upper is {fmt(shard.upper)}")
            shard.updates.extend(event.updates)
            shard.upper = event.upper
            self._uppers[event.shard_id].append(event.upper)
        elif event.kind == "since":
            self.shard(event.shard_id).since = event.since
        elif event.kind == "blob_put":
            if event.key in self._blobs:
                raise ValueError(f"blob {event.key!r} put twice")
            self._blobs[event.key] = Blob(event.key, event.rows, event.writer_id, event.peer)

    # -- ShardView -----------------------------------------------------------------------

    def shard(self, shard_id: str) -> Shard:
        """The live shard record: read it, never change it."""
        try:
            return self._shards[shard_id]
        except KeyError:
            raise KeyError(f"unknown shard {shard_id!r}") from None

    def upper(self, shard_id: str) -> Frontier:
        return self.shard(shard_id).upper

    def since(self, shard_id: str) -> int:
        return self.shard(shard_id).since

    def updates(self, shard_id: str) -> Sequence[Update]:
        return self.shard(shard_id).updates

    def version(self, shard_id: str) -> int:
        return len(self.shard(shard_id).updates)

    def contents_at(self, shard_id: str, t: int) -> dict[Row, int]:
        # Incremental over the append-only update list: sum only what arrived since the
        # last call for (shard, t). Each call gets its own dict.
        updates = self.shard(shard_id).updates
        done, sums = self._sums.get((shard_id, t), (0, {}))
        n = len(updates)
        if done < n:
            sums = dict(sums)
            for row, time, diff in islice(updates, done, n):
                if time <= t:
                    sums[row] = sums.get(row, 0) + diff
            self._sums[(shard_id, t)] = (n, sums)
        return {row: m for row, m in sums.items() if m != 0}

    # -- more reads ----------------------------------------------------------------------

    def has_shard(self, shard_id: str) -> bool:
        return shard_id in self._shards

    def shard_ids(self) -> list[str]:
        return list(self._shards)

    def arity(self, shard_id: str) -> int:
        return self.shard(shard_id).arity

    def upper_history(self, shard_id: str) -> Sequence[Frontier]:
        """Every upper the shard had, oldest first (Listen sends one batch per advance)."""
        self.shard(shard_id)
        return self._uppers[shard_id]

    def updates_between(self, shard_id: str, lower: int, upper: Frontier) -> list[Update]:
        """The updates at times in [lower, upper), in write order."""
        return [u for u in self.shard(shard_id).updates if lower <= u[1] < upper]

    def blob(self, key: str) -> Blob | None:
        return self._blobs.get(key)

    def blob_keys(self) -> list[str]:
        return list(self._blobs)
