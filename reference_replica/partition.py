"""Which rows this process answers for, in a replica of several processes (spec section 15).

Every process of the reference replica computes every dataflow in full (the commands reach
all of them, `cluster`), and answers only for its share of the output: the rows whose hash
falls to it. Partitioning the output rather than the input keeps each process's share of a
peek, a subscribe batch or a copy-to exactly the whole answer filtered, so the union over the
processes is the single-process answer and no process can see an error (a negative
multiplicity) that the whole would not have. The hash is of the row's canonical encoding,
never Python's `hash`, which differs between processes.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar

from reference_replica import rows

T = TypeVar("T")


@dataclass(frozen=True)
class Partition:
    process: int = 0
    processes: int = 1

    @property
    def whole(self) -> bool:
        return self.processes == 1

    def owner(self, row: rows.Row) -> int:
        digest = hashlib.blake2b(marshal.dumps(row, 2), digest_size=8).digest()  # as rows.encode, fault-free
        return int.from_bytes(digest, "big") % self.processes

    def owns(self, row: rows.Row) -> bool:
        return self.whole or self.owner(row) == self.process

    def share(self, items: Iterable[T], row_of: Callable[[T], rows.Row]) -> list[T]:
        """The items whose row this process answers for (all of them in a single process)."""
        if self.whole:
            return list(items)
        return [item for item in items if self.owner(row_of(item)) == self.process]

    def blob_key(self, key: str) -> str:
        """The blob this process writes its share of a copy-to to: the key itself in a single
        process, `<key>.part-<i>` in process i of several (spec section 15)."""
        return key if self.whole else f"{key}.part-{self.process}"


WHOLE: Final = Partition()  # a replica of one process answers for everything
