"""One gRPC stream to one replica process, with a background reader.

The reader thread records every response (which feeds the oracle) and, when the stream ends,
a `StreamEnd` with the gRPC status: a clean end, a status from the replica, or the process
dying all become events, so waits see them and the oracle judges them; nothing is left to a
traceback in a thread nobody watches.

The reader decodes responses itself (the call hands it raw bytes), so that what the
controller cannot take is the replica's violation with its own words (TRANS-6), not an
opaque status: a response that does not decode, one larger than `Limits.max_response_bytes`
(gRPC refuses it before reading it into memory), and a stream that sends more than the
controller holds. Each becomes a `Rejected` event, after which the controller closes the
stream; the waits on it end at once with the verdict.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Callable

import grpc
from compute_protocol.v1 import command_pb2, response_pb2
from google.protobuf.message import DecodeError

from conformance.driver.limits import Limits
from conformance.driver.requests import RequestPump
from conformance.history import Rejected, Response, StreamEnd
from conformance.wire.ids import GlobalId, PeekId, gid_str, uuid_str

Record = Callable[[Response | StreamEnd | Rejected], object]
GoneCheck = Callable[[str], str | None]
"""Asked when a stream ends on the replica's side with status `code`: why the replica itself
is gone (its process exited, its address refuses connections), or None if it is still there."""

METHOD = "/compute_protocol.v1.ProtoCompute/CommandResponseStream"
_OVERSIZED = re.compile(r"larger than max \((\d+) vs\. (\d+)\)")
_QUOTE_HEAD = 64  # bytes of an undecodable response shown (as hex) in the verdict


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
        limits: Limits | None = None,
        gone: GoneCheck | None = None,
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
        self.received_bytes = 0
        self.kinds: Counter[str] = Counter()  # responses received, by kind (what arrived, summarized)
        self.last_received: float | None = None
        self.end: StreamEnd | None = None
        self.failure: BaseException | None = None
        self.rejected: str = ""  # why the controller refused a response and closed the stream (TRANS-6)
        self._limits = limits or Limits()
        self._gone = gone
        self._closing = False
        method = channel.stream_stream(
            METHOD,
            request_serializer=command_pb2.ProtoComputeCommand.SerializeToString,
            response_deserializer=None,  # raw bytes: the reader decodes (TRANS-6)
        )
        self._call = method(iter(self.requests))
        self._reader = threading.Thread(target=self._read, name=f"reader-{name}", daemon=True)
        self._reader.start()

    def send(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        self.requests.put(cmd)

    def summary(self) -> str:
        """What arrived on this stream so far, counted by kind: `3 responses (2 frontiers, 1 peek_response)`."""
        if not self.received:
            return "no response"
        kinds = ", ".join(f"{n} {k}" for k, n in self.kinds.most_common())
        return f"{self.received} response{'s' if self.received != 1 else ''} ({kinds})"

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

    def _decode(self, raw: bytes) -> response_pb2.ProtoComputeResponse | Rejected:
        """The response, or why the controller refuses it (TRANS-6)."""
        lim = self._limits
        size = len(raw)
        if size > lim.max_response_bytes:
            return self._rejection("oversized", raw, f"the controller accepts at most {lim.max_response_bytes} bytes")
        if self.received + 1 > lim.max_stream_responses or self.received_bytes + size > lim.max_stream_bytes:
            detail = (
                f"response {self.received + 1} on this stream ({self.received_bytes + size} bytes in all; "
                f"before it: {self.summary()}); the controller holds at most {lim.max_stream_responses} "
                f"responses or {lim.max_stream_bytes} bytes per stream"
            )
            return self._rejection("too_many", raw, detail)
        try:
            return response_pb2.ProtoComputeResponse.FromString(raw)
        except (DecodeError, ValueError, RuntimeError) as exc:
            return self._rejection("undecodable", raw, f"not a ProtoComputeResponse: {str(exc)[:200]}")

    def _rejection(self, reason: str, raw: bytes, detail: str) -> Rejected:
        return Rejected(
            stream=self.name,
            reason=reason,
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest() if raw else "",
            quote=raw[:_QUOTE_HEAD].hex(),
            detail=detail,
        )

    def _refuse(self, rejected: Rejected) -> None:
        """Record the refusal (the oracle's TRANS-6 verdict), then close the stream as the controller."""
        with self._lock:
            if self._closing or self.end is not None:
                return
            self.rejected = f"{rejected.reason}: {rejected.detail}"
            self._record(rejected)
            ev = StreamEnd(
                stream=self.name,
                code="CANCELLED",
                details=f"closed by the controller after refusing a response ({rejected.reason})",
                by_controller=True,
            )
            self._record(ev)
            self.end = ev
            self._closing = True
        self.requests.close()
        self._call.cancel()

    def _read(self) -> None:
        code, details = "OK", "the replica ended the response stream"
        try:
            for raw in self._call:
                resp = self._decode(raw)
                if isinstance(resp, Rejected):
                    self._refuse(resp)
                    return
                self.kinds[resp.WhichOneof("kind") or "none"] += 1
                self._index(resp)
                with self._lock:
                    if self._closing:
                        break
                    ev = self._record(Response(stream=self.name, resp=resp))
                    self.received += 1
                    self.received_bytes += len(raw)
                    self.last_received = getattr(ev, "time", None)
        except grpc.RpcError as exc:
            status = exc.code() if hasattr(exc, "code") else None
            code = status.name if status is not None else "UNKNOWN"
            details = exc.details() if hasattr(exc, "details") else str(exc)
            oversized = _OVERSIZED.search(details or "") if code == "RESOURCE_EXHAUSTED" else None
            if oversized is not None:  # gRPC refused it for us, before reading it into memory
                size, limit = int(oversized.group(1)), int(oversized.group(2))
                refusal = Rejected(
                    stream=self.name,
                    reason="oversized",
                    size=size,
                    detail=f"the controller accepts at most {limit} bytes (refused unread: no hash, no quote)",
                )
                try:
                    self._refuse(refusal)
                except BaseException as failure:  # the oracle failed on it: a suite bug, surfaced by waits
                    self.failure = failure
                return
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
        gone = ""
        if self._gone is not None and not self._closing:
            with contextlib.suppress(Exception):  # a failing check must not lose the end itself
                gone = self._gone(code) or ""
        with self._lock:
            if self._closing or self.end is not None:
                return
            ev = StreamEnd(stream=self.name, code=code, details=details or "", by_controller=False, gone=gone)
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
