"""One controller stream, as the engine sees it.

The engine never talks to gRPC directly. It puts responses on the *current* connection's
outbound queue, and the gRPC thread serving that stream drains the queue. Because every
stream has its own queue, a response produced for an old stream can never be sent on a new
one (TRANS-2): once a new stream arrives, the old connection is ended and its queue is
abandoned. `end()` finishes the stream, cleanly or with a gRPC status (TRANS-4).
"""

from __future__ import annotations

import queue
from dataclasses import dataclass

import grpc
from compute_protocol.v1 import response_pb2


@dataclass(frozen=True)
class End:
    """Sentinel: end the stream, with this status (None: a clean end)."""

    code: grpc.StatusCode | None
    message: str


Outbound = response_pb2.ProtoComputeResponse | End


class Connection:
    def __init__(self, number: int, peer: str) -> None:
        self.number = number
        self.peer = peer
        self.ended = False
        self._outbound: queue.SimpleQueue[Outbound] = queue.SimpleQueue()

    def send(self, response: response_pb2.ProtoComputeResponse) -> None:
        if not self.ended:
            self._outbound.put(response)

    def end(self, code: grpc.StatusCode | None = None, message: str = "") -> None:
        if not self.ended:
            self.ended = True
            self._outbound.put(End(code, message))

    def next(self, timeout: float) -> Outbound | None:
        """The next thing to put on the wire, or None if nothing arrived within `timeout`."""
        try:
            return self._outbound.get(timeout=timeout)
        except queue.Empty:
            return None

    def __repr__(self) -> str:
        return f"stream {self.number} ({self.peer})"
