"""A replica under test: its address(es), its oracle, its history, and its connections.

One `Replica` lives as long as the replica process does (it may span many Hypothesis examples):
it holds the knowledge the spec makes per-replica (writable once `AllowWrites` was sent, the
epoch counter of CREATE-1, ids of earlier iterations) and the recorder through which every
command, response and storage event passes on its way to the history file and the oracle.

    replica = Replica("127.0.0.1:6876", history="run/history.jsonl", patience=5.0)
    harness.add_listener(replica.storage_listener)     # storage events feed the same oracle
    s = replica.connect()                              # stream open + CreateTimely + CreateInstance
    s.send(cmd.create_dataflow(...)); s.send(cmd.schedule("u1")); s.initialization_complete()
    answer = s.wait_peek(1)
    assert not replica.violations
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from conformance.driver import handshake
from conformance.driver.channel import TlsConfig, open_channel
from conformance.driver.errors import ConnectError
from conformance.driver.limits import Limits
from conformance.driver.process import GoneCheck, ProcessStream
from conformance.driver.stream import Stream
from conformance.history import (
    Event,
    HistoryWriter,
    Note,
    Recorder,
    Rejected,
    ReplicaState,
    Response,
    Storage,
    StreamEnd,
    StreamOpen,
)
from conformance.oracle import Oracle, Violation
from conformance.oracle.model_api import ModelFactory
from conformance.storage import StorageEvent

DEFAULT_PATIENCE = 5.0


class Replica:
    """The controller's handle on one replica (several addresses make one multi-process replica).

    `patience` is both the liveness budget of every obligation and the default bound of every
    wait. `writable` declares the replica already writable (AllowWrites sent before this
    history began). `timely` overrides fields of the `ProtoTimelyConfig` sent on every
    connection (CREATE-3 keeps it identical). `connect_timeout` bounds how long `connect`
    waits for the replica to accept connections at all.
    """

    def __init__(
        self,
        addresses: str | Sequence[str],
        *,
        patience: float = DEFAULT_PATIENCE,
        history: Path | str | HistoryWriter | None = None,
        tls: TlsConfig | None = None,
        writable: bool = False,
        model_factory: ModelFactory | None = None,
        timely: dict[str, Any] | None = None,
        connect_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        limits: Limits | None = None,
        gone: GoneCheck | None = None,
    ) -> None:
        self.addresses = [addresses] if isinstance(addresses, str) else list(addresses)
        if not self.addresses:
            raise ValueError("a replica needs at least one address")
        self.patience = patience
        self.tls = tls
        self.connect_timeout = connect_timeout
        self.limits = limits or Limits()
        self._gone_check = gone
        self.gone = ""  # why the replica is gone, once a stream ended with it (see StreamEnd.gone)
        self.timely: dict[str, Any] = {"workers": 1, **(timely or {})}
        if len(self.addresses) > 1:
            self.timely.setdefault("addresses", list(self.addresses))
        self.envd = int(time.time() * 1000)
        self.connections = 0
        self.oracle = Oracle(default_patience=patience, model_factory=model_factory)
        writer = history if isinstance(history, HistoryWriter) or history is None else HistoryWriter(history)
        self._owns_writer = not isinstance(history, HistoryWriter)
        self.recorder = Recorder(writer=writer, clock=clock, listeners=[self.oracle.consume])
        self._channels: dict[str, grpc.Channel] = {}
        self._streams: list[Stream] = []
        self._closed = threading.Event()
        if writable:
            self.recorder.record(ReplicaState(writable=True))

    # --- verdicts ---------------------------------------------------------------------

    @property
    def violations(self) -> list[Violation]:
        return self.oracle.violations

    @property
    def warnings(self) -> list[Violation]:
        return self.oracle.warnings

    @property
    def events(self) -> list[Event]:
        return self.recorder.events

    # --- connections ------------------------------------------------------------------

    def _channel(self, address: str) -> grpc.Channel:
        ch = self._channels.get(address)
        if ch is None:
            self.limits.check(f"connecting to {address}")
            ch = open_channel(address, self.tls, self.limits.max_response_bytes)
            failure = handshake.await_ready(ch, address, self.tls, self.limits.bound(self.connect_timeout))
            if failure is not None:
                ch.close()
                self.limits.check(f"connecting to {address}")
                raise ConnectError(failure)
            self._channels[address] = ch
        return ch

    def connect(self, *, create: bool = True, pause: float = 0.0) -> Stream:
        """Open a new iteration: one stream per process, a higher epoch, and (by default) the
        creation commands. The previous connection, if still open, is left for the replica to end
        (TRANS-2 is judged on it)."""
        if self._closed.is_set():
            raise ConnectError("the replica handle is closed")
        channels = [self._channel(a) for a in self.addresses]
        self.connections += 1
        epoch = (self.envd, self.connections)
        base = f"c{self.connections}"
        names = [base] if len(self.addresses) == 1 else [f"{base}.p{i}" for i in range(len(self.addresses))]
        processes = []
        for i, (name, address, channel) in enumerate(zip(names, self.addresses, channels, strict=True)):
            self.recorder.record(
                StreamOpen(stream=name, epoch=epoch, address=address, patience=self.patience)
            )
            processes.append(
                ProcessStream(
                    name,
                    address,
                    i,
                    channel,
                    self._record_stream_event,
                    self.recorder.lock,
                    self.limits,
                    self._check_gone if self._gone_check is not None else None,
                )
            )
        stream = Stream(self, base, epoch, processes)
        self._streams.append(stream)
        if create:
            stream.create(pause)
        return stream

    def _record_stream_event(self, event: Response | StreamEnd | Rejected) -> Event:
        return self.recorder.record(event)

    def _check_gone(self, code: str) -> str | None:
        assert self._gone_check is not None
        if self.gone:
            return self.gone
        why = self._gone_check(code)
        if why:
            self.gone = why
        return why

    @property
    def refused(self) -> str:
        """Why the controller refused a response on one of this handle's streams (TRANS-6), if it did."""
        return next((ps.rejected for s in self._streams for ps in s.processes if ps.rejected), "")

    @property
    def received(self) -> int:
        """Responses received on every stream of this handle so far (0: the replica never answered)."""
        return sum(ps.received for s in self._streams for ps in s.processes)

    # --- everything else that goes into the history ------------------------------------

    def storage_listener(self, event: StorageEvent) -> None:
        """Give this to the storage harness: its events feed the history and the oracle."""
        self.recorder.record(Storage(event=event))

    def note(self, text: str) -> None:
        self.recorder.record(Note(text=text))

    def close(self) -> None:
        """Close every open stream (as the controller) and the channels; flush the history."""
        if self._closed.is_set():
            return
        self._closed.set()
        for stream in self._streams:
            for ps in stream.processes:
                if ps.open:
                    ps.close()
        for ch in self._channels.values():
            ch.close()
        if self._owns_writer and self.recorder.writer is not None:
            self.recorder.writer.close()

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
