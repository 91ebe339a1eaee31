"""What exports and peeks need from the replica around them, in one place.

The engine creates one `Services` and hands it to everything it builds, instead of letting
modules reach for globals: the responder (responses out), the instance parameters (read at
the moment of each decision, CONFIG-1), storage (readers and the write gate), `post` (run a
callable on the engine thread, for work finished on other threads), the worker count and, in
a replica of several processes, this process's share of the output (`partition`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reference_replica.config import ComputeParameters
from reference_replica.partition import WHOLE, Partition
from reference_replica.responses import Responder
from reference_replica.storage.client import StorageClient
from reference_replica.storage.writes import StorageWriter

Post = Callable[[Callable[[], None]], None]


@dataclass
class Services:
    responder: Responder
    params: ComputeParameters
    storage: StorageClient
    writer: StorageWriter
    post: Post
    workers: int = 1
    partition: Partition = WHOLE  # this process's share of the output (section 15)
