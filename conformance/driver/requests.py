"""The request side of a stream: a queue-fed iterator that keeps the stream open.

gRPC's sync client consumes the request iterator on its own thread; returning from it
half-closes the stream, so the iterator blocks on its queue until the controller closes the
stream (a sentinel), and it never raises (an exception there becomes an opaque `UNKNOWN`).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

from compute_protocol.v1 import command_pb2

_CLOSE = object()


class RequestPump:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.closed = False

    def put(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        if self.closed:
            raise RuntimeError("the stream's request side is closed")
        self._queue.put(cmd)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put(_CLOSE)

    def __iter__(self) -> Iterator[command_pb2.ProtoComputeCommand]:
        while True:
            item = self._queue.get()
            if item is _CLOSE:
                return
            assert isinstance(item, command_pb2.ProtoComputeCommand)
            yield item
