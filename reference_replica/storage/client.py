"""Channels to the storage services named in collection metadata, one per address.

Every channel is opened here, so here is where the two rules about dialing hold: only
addresses of the allow list (`allow`, `--storage-allow`; commands are checked against it
before they are applied, this is the last line), and TLS when `--storage-tls-ca` is given.
Failures of calls made on these channels come back through `failed`, which tells a
misconfiguration (`reach`) from an outage and reports the former once per message.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import grpc
from compute_protocol.v1 import storage_pb2_grpc

from reference_replica.storage import reach
from reference_replica.storage.allow import StorageAllowList
from reference_replica.tls import ClientTls

log = logging.getLogger(__name__)

GRPC_OPTIONS: Final = [
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]
UNARY_TIMEOUT: Final = 10.0  # seconds; every storage call is bounded

OnMisconfigured = Callable[[str], None]


class DialRefused(RuntimeError):
    """An address outside the allow list reached the client (the command check missed it)."""


class StorageClient:
    def __init__(self, allow: StorageAllowList | None = None, tls: ClientTls | None = None) -> None:
        self.reader_id = f"reference-replica-{os.getpid()}"
        self.writer_id = self.reader_id
        self.allow = allow or StorageAllowList()
        self.tls = tls
        self.on_misconfigured: OnMisconfigured | None = None  # set by the engine
        self._credentials = tls.credentials() if tls else None
        self._channels: dict[str, grpc.Channel] = {}
        self._answered: set[str] = set()  # addresses whose service answered at least once
        self._closed_in_setup: dict[str, int] = {}
        self._lock = threading.Lock()
        # Unary calls (CompareAndAppend, GetShard, PutBlob) run here, so that the engine
        # thread never waits on the network.
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="storage-call")

    def stub(self, address: str) -> storage_pb2_grpc.ProtoStorageStub:
        if not self.allow.allows(address):
            raise DialRefused(f"storage address {address!r} is not allowed by --storage-allow")
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                if self._credentials is None:
                    channel = grpc.insecure_channel(address, options=GRPC_OPTIONS)
                else:
                    channel = grpc.secure_channel(address, self._credentials, options=GRPC_OPTIONS)
                self._channels[address] = channel
        return storage_pb2_grpc.ProtoStorageStub(channel)

    def answered(self, address: str) -> None:
        """A call to `address` got an answer: the connection works as configured."""
        with self._lock:
            self._answered.add(address)
            self._closed_in_setup.pop(address, None)

    def failed(self, address: str, error: grpc.RpcError) -> str | None:
        """Note a failed call; returns (and reports) the one-line reason if it is a
        misconfiguration that retrying cannot heal, else None (an outage: retry)."""
        code = error.code()
        if code != grpc.StatusCode.UNAVAILABLE:
            if code not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
                self.answered(address)  # the service itself answered with a status
            return None
        found = reach.diagnose(error.details() or "", self.tls)
        if found is None:
            return None
        with self._lock:
            if not found.certain:
                if address in self._answered:
                    return None
                seen = self._closed_in_setup[address] = self._closed_in_setup.get(address, 0) + 1
                if seen < reach.CLOSED_IN_SETUP:
                    return None
        message = f"this replica cannot reach the storage service at {address}: {found.reason}"
        callback = self.on_misconfigured
        if callback is not None:
            callback(message)
        return message

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
