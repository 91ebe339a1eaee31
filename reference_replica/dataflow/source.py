"""A source import: a storage shard read with Listen from the dataflow's as_of (spec 5.4).

The Listen stream's first batch holds the contents at `as_of` (and the updates after it),
each later batch one advance of the shard's upper; the leaf turns them into the dataflow's
input batches. The node's frontier is therefore the shard's upper as far as it has been
read: it is what the replica reports as the input frontier.
"""

from __future__ import annotations

from reference_replica.dataflow.batch import Update
from reference_replica.dataflow.leaf import Leaf
from reference_replica.storage.client import StorageClient
from reference_replica.storage.listen import ListenReader, Post


class SourceNode(Leaf):
    def __init__(
        self, as_of: int, until: int, client: StorageClient, post: Post, address: str, shard: str
    ) -> None:
        super().__init__(as_of, until)
        self.shard = shard
        self._reader = ListenReader(client, address, shard, as_of, post, self._on_listen_batch)

    def start(self) -> None:
        self._reader.start()

    def stop(self) -> None:
        self._reader.stop()

    def _on_listen_batch(self, upper: int, updates: list[Update]) -> None:
        self.deliver(upper, updates, [])
