"""One gRPC stream to one replica process, with a background reader.

The reader thread records every response (which feeds the oracle) and, when the stream ends,
a `StreamEnd` with the gRPC status: a clean end, a status from the replica, a failure to decode
a response, or the process dying all become events, so waits see them and the oracle judges
them; nothing is left to a traceback in a thread nobody watches.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import grpc
from compute_protocol.v1 import command_pb2, response_pb2, service_pb2_grpc

from conformance.driver.requests import RequestPump
from conformance.history import Response, StreamEnd
from conformance.wire.ids import GlobalId, PeekId, gid_str, uuid_str

Record = Callable[[Response | StreamEnd], object]


class ProcessStream:
    """The controller's side of one `CommandResponseStream` call."""

    def __init__(
        self,
        name: str,
        address: str,
        process: int,
        channel: grpc.Channel,
        record: Record,
        lock: threading.RLock,
    ) -> None:
        self.name = name
        self.address = address
        self.process = process
        self._record = record
        self._lock = lock
        self.requests = RequestPump()
        self.peek_responses: dict[PeekId, response_pb2.ProtoPeekResponse] = {}
        self.copy_responses: dict[GlobalId, response_pb2.ProtoCopyToResponse] = {}
        self.received = 0
        self.last_received: float | None = None
        self.end: StreamEnd | None = None
        self.failure: BaseException | None = None
        self._closing = False
        stub = service_pb2_grpc.ProtoComputeStub(channel)
        self._call = stub.CommandResponseStream(iter(self.requests))
        self._reader = threading.Thread(target=self._read, name=f"reader-{name}", daemon=True)
        self._reader.start()

    def send(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        self.requests.put(cmd)

    @property
    def open(self) -> bool:
        return self.end is None

    def _index(self, resp: response_pb2.ProtoComputeResponse) -> None:
        """Keep the first answer per peek and copy-to, for the waits to hand back."""
        kind = resp.WhichOneof("kind")
        if kind == "peek_response":
            self.peek_responses.setdefault(uuid_str(resp.peek_response.id), resp.peek_response.resp)
        elif kind == "copy_to_response":
            self.copy_responses.setdefault(gid_str(resp.copy_to_response.id), resp.copy_to_response.resp)

    def _read(self) -> None:
        code, details = "OK", "the replica ended the response stream"
        try:
            for resp in self._call:
                self._index(resp)
                with self._lock:
                    if self._closing:
                        break
                    ev = self._record(Response(stream=self.name, resp=resp))
                    self.received += 1
                    self.last_received = getattr(ev, "time", None)
        except grpc.RpcError as exc:
            status = exc.code() if hasattr(exc, "code") else None
            code = status.name if status is not None else "UNKNOWN"
            details = exc.details() if hasattr(exc, "details") else str(exc)
        except BaseException as exc:  # the oracle failed on a response: a suite bug, surfaced by waits
            self.failure = exc
            with self._lock:
                self._closing = True
                self.end = StreamEnd(
                    stream=self.name, code="CANCELLED", details=f"suite failure: {exc!r}", by_controller=True
                )
                with contextlib.suppress(BaseException):  # the first failure is the one to report
                    self._record(self.end)
            self._call.cancel()
            return
        with self._lock:
            if self._closing or self.end is not None:
                return
            ev = StreamEnd(stream=self.name, code=code, details=details or "", by_controller=False)
            try:
                self._record(ev)
            except BaseException as exc:
                self.failure = self.failure or exc
            self.end = ev

    def close(self, timeout: float = 2.0) -> None:
        """End the stream from the controller's side (recorded before the cancel reaches gRPC)."""
        with self._lock:
            if self.end is None:
                ev = StreamEnd(
                    stream=self.name, code="CANCELLED", details="closed by the controller", by_controller=True
                )
                self._record(ev)
                self.end = ev
            self._closing = True
        self.requests.close()
        self._call.cancel()
        self._reader.join(timeout)
