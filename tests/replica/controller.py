"""A small in-test controller: one stream to a replica, a background reader, bounded waits.

Every wait returns as soon as its condition holds and fails after `timeout` with a message
naming what it waited for and what arrived instead.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import grpc
from compute_protocol.v1 import command_pb2, response_pb2

from tests.replica import plans

METHOD = "/compute_protocol.v1.ProtoCompute/CommandResponseStream"
OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
TIMEOUT = 10.0
EMPTY = 1 << 64

Response = response_pb2.ProtoComputeResponse
T = TypeVar("T")


def frontier_value(a: object) -> int:
    elements = a.elements  # type: ignore[attr-defined]
    return EMPTY if not elements else int(elements[0])


class StreamEnded(AssertionError):
    pass


class Controller:
    def __init__(self, address: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        self.address = address
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=OPTIONS)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=OPTIONS)
        method = self._channel.stream_stream(
            METHOD, request_serializer=lambda b: b, response_deserializer=Response.FromString
        )
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._call = method(self._requests())
        self.responses: list[Response] = []
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.ended = False
        self._syncs = 0
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _requests(self) -> Iterator[bytes]:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            yield item

    def _read(self) -> None:
        try:
            for response in self._call:
                with self._cond:
                    self.responses.append(response)
                    self._cond.notify_all()
            code, details = grpc.StatusCode.OK, ""
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
        with self._cond:
            self.code, self.details, self.ended = code, details, True
            self._cond.notify_all()

    # --- sending -------------------------------------------------------------------------

    def send(self, *commands: command_pb2.ProtoComputeCommand) -> Controller:
        for cmd in commands:
            self._outbox.put(cmd.SerializeToString())
        return self

    def send_raw(self, data: bytes) -> None:
        self._outbox.put(data)

    def handshake(self, epoch: int = 1, workers: int = 1) -> Controller:
        return self.send(plans.create_timely(epoch, workers), plans.create_instance())

    def start(self, *commands: command_pb2.ProtoComputeCommand, epoch: int = 1) -> Controller:
        """Creation, then `commands` during initialization, then InitializationComplete."""
        return self.handshake(epoch).send(*commands, plans.initialization_complete())

    def sync(self) -> None:
        """Return once the replica has processed every command sent so far.

        Commands are processed in order, so the answer to a fresh peek proves it. This orders
        the test's next storage write after those commands (storage events travel on other
        streams and could otherwise overtake them).
        """
        self._syncs += 1
        n = 1_000_000 + self._syncs
        desc = plans.dataflow(
            0, objects=[(n, plans.constant(0, []))], indexes=[plans.index_export(n + 1, n, [])]
        )
        self.send(plans.create_dataflow(desc), plans.peek(n, n + 1, 0, 0))
        self.peek(n)

    def half_close(self) -> None:
        """Stop sending (the request stream ends) while still reading responses."""
        self._outbox.put(None)

    def close(self) -> None:
        self._call.cancel()
        self._outbox.put(None)
        self._reader.join(5)
        self._channel.close()

    # --- waiting -------------------------------------------------------------------------

    def wait(self, find: Callable[[], T | None], what: str, timeout: float = TIMEOUT) -> T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.ended:
                    ended = f"; the stream ended with {self.code} {self.details!r}" if self.ended else ""
                    raise StreamEnded(
                        f"timed out after {timeout}s waiting for {what}{ended}; "
                        f"received {len(self.responses)} responses, the last ones: {self.responses[-5:]}"
                    )
                self._cond.wait(min(remaining, 0.1))

    def settle(self, quiet: float = 0.2) -> None:
        """Wait until nothing has arrived for `quiet` seconds (bounded by TIMEOUT)."""
        deadline = time.monotonic() + TIMEOUT
        seen = -1
        while time.monotonic() < deadline:
            with self._cond:
                count = len(self.responses)
            if count == seen:
                return
            seen = count
            time.sleep(quiet)

    def wait_ended(self, timeout: float = TIMEOUT) -> tuple[grpc.StatusCode, str]:
        self.wait(lambda: True if self.ended else None, "the stream to end", timeout)
        assert self.code is not None
        return self.code, self.details

    # --- reading -------------------------------------------------------------------------

    def of_kind(self, kind: str) -> list[Response]:
        with self._cond:
            return [r for r in self.responses if r.WhichOneof("kind") == kind]

    def peek_responses(self, uuid: int) -> list[response_pb2.ProtoPeekResponse]:
        u = plans.uuid(uuid)
        return [r.peek_response.resp for r in self.of_kind("peek_response") if r.peek_response.id == u]

    def peek(self, uuid: int, timeout: float = TIMEOUT) -> response_pb2.ProtoPeekResponse:
        def find() -> response_pb2.ProtoPeekResponse | None:
            found = self.peek_responses(uuid)
            return found[0] if found else None

        return self.wait(find, f"the answer to peek {uuid}", timeout)

    def frontier_reports(self, collection: int) -> list[response_pb2.ProtoFrontiersResponse]:
        g = plans.gid(collection)
        return [r.frontiers.resp for r in self.of_kind("frontiers") if r.frontiers.id == g]

    def frontier(self, collection: int, kind: str = "write_frontier") -> int | None:
        """The latest reported value of one frontier kind (None: never reported)."""
        value = None
        for report in self.frontier_reports(collection):
            if report.HasField(kind):  # type: ignore[arg-type]
                value = frontier_value(getattr(report, kind))
        return value

    def wait_frontier(self, collection: int, at_least: int, kind: str = "write_frontier") -> int:
        def find() -> int | None:
            value = self.frontier(collection, kind)
            return value if value is not None and value >= at_least else None

        return self.wait(
            find, f"{kind} of u{collection} to reach {at_least} (now {self.frontier(collection, kind)})"
        )

    def subscribe_responses(self, collection: int) -> list[response_pb2.ProtoSubscribeResponse]:
        g = plans.gid(collection)
        return [
            r.subscribe_response.resp
            for r in self.of_kind("subscribe_response")
            if r.subscribe_response.id == g
        ]

    def wait_subscribe_upper(
        self, collection: int, at_least: int
    ) -> list[response_pb2.ProtoSubscribeResponse]:
        def find() -> list[response_pb2.ProtoSubscribeResponse] | None:
            found = self.subscribe_responses(collection)
            batches = [r.batch for r in found if r.WhichOneof("kind") == "batch"]
            if batches and frontier_value(batches[-1].upper) >= at_least:
                return found
            return None

        return self.wait(find, f"subscribe u{collection} batches up to {at_least}")

    def copy_to_responses(self, collection: int) -> list[response_pb2.ProtoCopyToResponse]:
        g = plans.gid(collection)
        return [
            r.copy_to_response.resp for r in self.of_kind("copy_to_response") if r.copy_to_response.id == g
        ]

    def copy_to(self, collection: int) -> response_pb2.ProtoCopyToResponse:
        def find() -> response_pb2.ProtoCopyToResponse | None:
            found = self.copy_to_responses(collection)
            return found[0] if found else None

        return self.wait(find, f"the answer of copy-to u{collection}")

    def about(self, collection: int) -> list[Response]:
        """Every response naming `collection`."""
        g = plans.gid(collection)
        out = []
        for r in list(self.responses):
            kind = r.WhichOneof("kind")
            if (
                (kind == "frontiers" and r.frontiers.id == g)
                or (kind == "subscribe_response" and r.subscribe_response.id == g)
                or (kind == "copy_to_response" and r.copy_to_response.id == g)
                or (kind == "status" and r.status.operator_hydration.collection_id == g)
            ):
                out.append(r)
        return out
