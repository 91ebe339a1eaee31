"""Channels to the storage services named in collection metadata, one per address."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import grpc
from compute_protocol.v1 import storage_pb2_grpc

GRPC_OPTIONS: Final = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]
UNARY_TIMEOUT: Final = 10.0  # seconds; every storage call is bounded


class StorageClient:
    def __init__(self) -> None:
        self.reader_id = f"reference-replica-{os.getpid()}"
        self.writer_id = self.reader_id
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()
        # Unary calls (CompareAndAppend, GetShard, PutBlob) run here, so that the engine
        # thread never waits on the network.
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="storage-call")

    def stub(self, address: str) -> storage_pb2_grpc.ProtoStorageStub:
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                channel = self._channels[address] = grpc.insecure_channel(address, options=GRPC_OPTIONS)
        return storage_pb2_grpc.ProtoStorageStub(channel)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
