"""A replica of several processes (spec section 15): process 0 leads, the others follow.

The controller opens one stream to each process and sends every command but `CreateTimely`
and `UpdateConfiguration` to process 0 only (MULTI-1). Upstream's processes form one timely
cluster, and process 0's first worker broadcasts the commands it receives to every worker. We
do the same with a channel of our own: process 0 (`Leader`) forwards each event of its streams
(a stream opened, a command's raw bytes, a stream closed) to every other process, in the order
its engine sees them, over the follower's stdin (`Link`). Each follower (`Follower`) replays
those events into an engine of its own, so every process holds the same state and computes
every dataflow; each answers only for its share of the output (`partition`).

Streams pair up by count, as upstream's connection epochs do (R96, R99): the n-th stream the
controller opens to a follower carries the responses of process 0's n-th stream. A follower
keeps one `Connection` per count; whichever side gets to it first creates it, the follower's
engine fills it, and the follower's own gRPC stream of that count drains it. A newer stream of
the follower ends the older ones (TRANS-2), so responses of an old iteration never reach a new
stream. On its own stream a follower accepts only `CreateTimely` and `UpdateConfiguration`;
anything else is the controller's mistake and ends that stream with FAILED_PRECONDITION. Both
are only checked there: the follower's engine applies the copies process 0 forwards, so it sees
exactly the command sequence process 0 saw.

The frame on the channel: one byte of kind, the stream's count (8 bytes), the payload's length
(4 bytes), the payload. End of file means process 0 is gone: the follower stops too.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import struct
import threading
from typing import IO, Final, Protocol

import grpc
from compute_protocol.v1 import command_pb2
from google.protobuf.message import DecodeError

from reference_replica import faults
from reference_replica.connection import Connection
from reference_replica.engine import Engine

log = logging.getLogger(__name__)

OPENED: Final = b"O"
COMMAND: Final = b"C"
CLOSED: Final = b"X"
_HEADER: Final = struct.Struct(">cQI")
FOLLOWER_COMMANDS: Final = frozenset({"create_timely", "update_configuration"})


class Streams(Protocol):
    """What the gRPC service needs from whoever handles its streams."""

    def open_stream(self, peer: str) -> Connection: ...

    def receive(self, connection: Connection, raw: bytes) -> None: ...

    def stream_closed(self, connection: Connection) -> None: ...


class Link:
    """Process 0's end of the channel to one follower: frames go out in order on a thread of
    their own, so a slow follower never blocks process 0's engine."""

    def __init__(self, pipe: IO[bytes], name: str) -> None:
        self._pipe = pipe
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"link-{name}", daemon=True)
        self._thread.start()

    def send(self, kind: bytes, number: int, payload: bytes = b"") -> None:
        self._queue.put(_HEADER.pack(kind, number, len(payload)) + payload)

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while (frame := self._queue.get()) is not None:
            try:
                self._pipe.write(frame)
                self._pipe.flush()
            except (OSError, ValueError):
                log.error("the channel to a follower process broke; it no longer gets commands")
                return
        with contextlib.suppress(OSError):
            self._pipe.close()


class Leader:
    """Process 0: its own engine handles its streams, and every event goes to the followers."""

    def __init__(self, engine: Engine, links: list[Link]) -> None:
        self.engine = engine
        self.links = links
        self._lock = threading.Lock()  # the followers see the events in the engine's order

    def _forward(self, kind: bytes, number: int, payload: bytes = b"") -> None:
        for link in self.links:
            link.send(kind, number, payload)

    def open_stream(self, peer: str) -> Connection:
        with self._lock:
            connection = self.engine.open_stream(peer)
            self._forward(OPENED, connection.number)
        return connection

    def receive(self, connection: Connection, raw: bytes) -> None:
        with self._lock:
            self.engine.receive(connection, raw)
            self._forward(COMMAND, connection.number, raw)

    def stream_closed(self, connection: Connection) -> None:
        with self._lock:
            self.engine.stream_closed(connection)
            self._forward(CLOSED, connection.number)


class Follower:
    """Process i > 0: its engine replays process 0's events; its own streams only drain."""

    def __init__(self, engine: Engine, process: int) -> None:
        self.engine = engine
        self.process = process
        self._lock = threading.Lock()
        self._connections: dict[int, Connection] = {}
        self._opened = 0  # streams the controller opened to this process so far
        self._replayed: tuple[int, Connection] | None = None  # process 0's latest stream, as replayed

    def _connection(self, number: int, peer: str = "") -> Connection:
        """The stream of this count (created on first use; already ended if a newer one came)."""
        with self._lock:
            connection = self._connections.get(number)
            if connection is None:
                connection = Connection(number, peer or f"process 0's stream {number}")
                self._connections[number] = connection
                if number < self._opened:
                    connection.end()  # superseded before process 0's stream got here
            elif peer:
                connection.peer = peer
            return connection

    # --- this process's own gRPC streams -----------------------------------------------------

    def open_stream(self, peer: str) -> Connection:
        with self._lock:
            self._opened += 1
            number = self._opened
            older = [n for n in self._connections if n < number]
        for n in older:
            self._connections.pop(n).end()  # TRANS-2: the newest stream wins
        return self._connection(number, peer)

    def receive(self, connection: Connection, raw: bytes) -> None:
        cmd = command_pb2.ProtoComputeCommand()
        try:
            cmd.ParseFromString(raw)
        except DecodeError as error:
            connection.end(grpc.StatusCode.INVALID_ARGUMENT, f"undecodable command ({error})")
            return
        kind = cmd.WhichOneof("kind")
        if kind not in FOLLOWER_COMMANDS:
            message = (
                f"process {self.process} receives only CreateTimely and UpdateConfiguration; "
                f"{kind} goes to process 0 (spec section 15, MULTI-1)"
            )
            log.info("ending %s: FAILED_PRECONDITION: %s", connection, message)
            connection.end(grpc.StatusCode.FAILED_PRECONDITION, message)
        elif kind == "create_timely" and cmd.create_timely.config.process != self.process:
            message = f"CreateTimely for process {cmd.create_timely.config.process} reached process {self.process}"
            connection.end(grpc.StatusCode.FAILED_PRECONDITION, message)
        # Both are applied as process 0 forwards them: the engine sees one command sequence.

    def stream_closed(self, connection: Connection) -> None:
        connection.end()

    # --- process 0's events, from the channel ------------------------------------------------

    def _forget_before(self, number: int) -> None:
        """Process 0 moved on to stream `number`: the older ones this process's controller never
        claimed will never be drained, so their responses are let go (memory stays bounded)."""
        with self._lock:
            stale = [n for n in self._connections if n < number and n > self._opened]
            for n in stale:
                self._connections.pop(n).end()

    def follow(self, channel: IO[bytes]) -> None:
        """Replay process 0's events until the channel ends (process 0 is gone)."""
        while True:
            header = _read_exactly(channel, _HEADER.size)
            if header is None:
                return
            kind, number, length = _HEADER.unpack(header)
            payload = _read_exactly(channel, length) if length else b""
            if payload is None:
                return
            if kind == OPENED and self._replayed is not None and faults.on("process-local-commands"):
                # FAULT (B31): breaks PEEK-2 and the other liveness rules. The new stream inherits
                # the old commands and never sees the new ones.
                self.engine.rebind_stream(self._connection(number))
                continue
            if kind == OPENED:
                self._forget_before(number)
                self._replayed = (number, self._connection(number))
                self.engine.adopt_stream(self._replayed[1])
            elif self._replayed is None or self._replayed[0] != number:
                continue  # an older stream's: the engine has moved on, as process 0's has
            elif kind == COMMAND:
                if faults.on("process-ignores-config") and _is_configuration(payload):
                    continue  # FAULT: breaks PEEK-12 (process 1 keeps the default max_result_size)
                self.engine.receive(self._replayed[1], payload)
            elif kind == CLOSED:
                self.engine.stream_closed(self._replayed[1], end=False)  # the controller closes ours
                self._replayed = None


def _is_configuration(raw: bytes) -> bool:
    cmd = command_pb2.ProtoComputeCommand()
    try:
        cmd.ParseFromString(raw)
    except DecodeError:
        return False
    return cmd.WhichOneof("kind") == "update_configuration"


def _read_exactly(channel: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = channel.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
