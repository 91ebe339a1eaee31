"""The StepRunner's backend over the suite's driver (`conformance.driver`) and storage harness.

One driver `Replica` handle lives per replica target for the whole session, so epochs keep
increasing (CREATE-1) and the oracle keeps its per-replica knowledge; each backend is one
example (or one scenario run): it opens its own iterations on that handle, tells the oracle
at its start whether the replica is already writable (a `replica_state` event, so that the
example's history can be checked offline on its own), and keeps the example's events for
the failure artifacts.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from compute_protocol.v1 import command_pb2

from conformance import history
from conformance.driver import ConnectError, Replica, StreamEnded, TlsConfig, WaitError, WaitTimeout
from conformance.oracle import Violation, format_violation
from conformance.report.edge_watch import watching
from conformance.steps.backend import CopyToAnswer, Finding, PeekAnswer, WaitFailed
from conformance.steps.plans import ColType
from conformance.wire import commands
from conformance.wire.frontiers import EMPTY, Frontier, fmt
from conformance.wire.rows import Row

_GRACE = 0.05  # seconds a replica gets to meet a stream no answer could prove it has seen


def driver_for(worker: Any, target: Any) -> Replica:
    """The target's driver handle, created on first use with the session's patience and TLS."""
    if target.driver is None:
        s = worker.settings
        tls = None
        if s.tls_ca or s.tls_cert:
            tls = TlsConfig(root_certificates=s.tls_ca, client_certificate=s.tls_cert, client_key=s.tls_key)
        # The oracle's models note the data edges their verdicts went through (the report's cells).
        edges = watching(worker.results.coverage)
        replica = Replica(
            target.addresses,
            patience=s.profile.patience,
            tls=tls,
            writable=target.writable,
            limits=worker.limits(),
            gone=target.gone_check,
            model_factory=edges,
        )
        replica.recorder.keep = False  # the session can be long: examples keep their own events
        target.storage.add_listener(replica.storage_listener)
        target.driver = replica
    driver: Replica = target.driver
    return driver


class DriverBackend:
    def __init__(self, worker: Any, target: Any, patience: float | None = None) -> None:
        """`patience` overrides the profile's for this backend's streams and waits (shrinking)."""
        self.worker = worker
        self.target = target
        self.storage = target.storage
        self.replica = driver_for(worker, target)
        self._default_patience: float = self.replica.patience
        self.patience: float = patience if patience is not None else self._default_patience
        self.replica.patience = self.patience  # recorded in each StreamOpen: the oracle judges with it
        self.stream: Any = None
        self._streams: list[Any] = []  # every stream this backend opened, oldest first
        self._initialized: set[int] = set()  # streams that were sent InitializationComplete
        self._evidence: tuple[str, str] | None = None  # (shard, gid) of the peeks of `_make_seen`
        self._events: list[history.Event] = []
        self.replica.recorder.listeners.append(self._events.append)
        self._violations = len(self.replica.violations)
        self._warnings = len(self.replica.warnings)
        self._exercised = Counter(self.replica.oracle.exercised)
        self._notes = len(getattr(self.replica.oracle, "notes", []))
        # Where the example starts: what the oracle must know about the replica (RO-1 needs it).
        self.replica.recorder.record(history.ReplicaState(writable=target.writable))

    # ---- commands ----

    def connect(self, replay: Sequence[command_pb2.ProtoComputeCommand], pause: float = 0.0) -> None:
        # A previous stream stays open: the replica must end it when the new one opens (TRANS-2).
        # It must have seen that stream first, or it may take the new one for the older.
        self._make_seen()
        self._await_older_streams_ended()
        try:
            self.stream = self.replica.connect(pause=pause)
        except ConnectError as e:
            self.target.unreachable = f"replica unreachable: {e} ({self.target.description})"
            raise WaitFailed(self.target.unreachable) from None
        self._streams.append(self.stream)
        for cmd in replay:
            self.send(cmd)

    def _await_older_streams_ended(self) -> None:
        """Open streams one after the other, as the replica sees them.

        TRANS-2 lets the newest connection win, and "newest" is the order in which the replica
        sees the streams: two streams opened back to back can reach its handlers in either order
        (gRPC orders messages within a stream, not across streams). So before opening another
        stream, wait (boundedly) until the replica has ended every stream of this backend but the
        current one; then it has seen the current one, and the next is unambiguously newer. If it
        never ends them, the oracle's TRANS-2 obligation reports that.
        """
        older = [ps for stream in self._streams[:-1] for ps in stream.processes]
        deadline = time.monotonic() + self.patience
        changed = self.replica.recorder.changed  # notified after every event, a stream's end included
        with changed:
            while any(ps.open for ps in older):
                self.replica.limits.check("waiting for older streams to end")
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                changed.wait(self.replica.limits.bound(left))

    def send(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        if self.stream is None:
            raise WaitFailed("a command before the first connect step")
        self.stream.send(cmd)
        kind = cmd.WhichOneof("kind")
        if kind == "allow_writes":
            self.target.writable = True
        elif kind == "initialization_complete":
            self._initialized.add(id(self.stream))

    # ---- storage ----

    def create_shard(self, shard_id: str, columns: Sequence[ColType], upper: Frontier) -> None:
        self.storage.create_shard(shard_id, len(columns), upper=upper)

    def append(self, shard_id: str, updates: Sequence[tuple[Row, int, int]], upper: Frontier) -> None:
        self.storage.append(shard_id, list(updates), upper)

    def advance_since(self, shard_id: str, since: int) -> None:
        self.storage.advance_since(shard_id, since)

    # ---- waits ----

    def _guard(self, what: str) -> Any:
        if self.stream is None:
            raise WaitFailed(f"waiting for {what} before the first connect step")
        return self.stream

    def wait_peek(self, uuid: str, name: str) -> PeekAnswer:
        try:
            a = self._guard(f"peek {name}").wait_peek(uuid)
        except WaitError as e:
            raise self._failed(f"peek {name}", e) from None
        return PeekAnswer(a.kind, tuple(a.rows.items()), a.error)

    def wait_frontier(self, gid: str, name: str, kinds: Sequence[str], at_least: Frontier) -> None:
        if at_least == 0:
            return
        for kind in kinds:
            try:
                self._guard(f"{name} frontiers").wait_frontier(gid, kind, at_least - 1)
            except WaitError as e:
                raise self._failed(f"the {kind} frontier of {name} ({gid}) to reach {fmt(at_least)}", e) from None

    def wait_subscribe(self, gid: str, name: str, at_least: Frontier) -> None:
        if at_least == 0:
            return
        try:
            self._guard(f"subscribe {name}").wait_subscribe(gid, at_least - 1)
        except WaitError as e:
            raise self._failed(f"subscribe {name} ({gid}) to reach {fmt(at_least)}", e) from None

    def wait_copy_to(self, gid: str, name: str) -> CopyToAnswer:
        try:
            a = self._guard(f"copy-to {name}").wait_copy_to(gid)
        except WaitError as e:
            raise self._failed(f"the answer of copy-to {name} ({gid})", e) from None
        return CopyToAnswer(a.kind, a.count, a.error)

    def wait_shard(self, shard_id: str, name: str, at_least: Frontier) -> None:
        deadline = time.monotonic() + self.patience
        while True:
            left = deadline - time.monotonic()
            upper = self.storage.wait_upper(shard_id, at_least, self.replica.limits.bound(max(0.0, left)))
            if upper >= at_least:
                return
            self.replica.limits.check(f"waiting for shard {name} to reach {fmt(at_least)}")
            if time.monotonic() > deadline:
                raise WaitFailed(
                    f"waited {self.patience:g} s for shard {name} ({shard_id}) to reach upper "
                    f"{fmt(at_least)}; it is {fmt(upper)} (writes by the replica: see the history)"
                )

    def wait_quiet(self, seconds: float) -> None:
        try:
            self._guard("quiet").wait_quiet(seconds)
        except WaitError as e:
            raise self._failed(f"{seconds:g} s without responses", e) from None

    def settle(self) -> None:
        if self.stream is None:
            return
        self._await_older_streams_ended()  # TRANS-2 is owed for them too (not only this connection's)
        try:
            self.stream.settle()
        except WaitError as e:
            raise self._failed("every open obligation to be discharged", e) from None

    def _failed(self, what: str, e: WaitError) -> Exception:
        if isinstance(e, WaitTimeout):
            self._note_silence(e.verdicts)
        return _failed(what, e)

    def _note_silence(self, verdicts: Sequence[Violation]) -> None:
        """A replica that never sent a single response although answers were overdue is silent:
        the run stops after this test (every other test would wait in vain too)."""
        owed = [v for v in verdicts if v.kind == "liveness"]
        if not owed or self.replica.received or self.target.silent is not None:
            return
        first = owed[0]
        self.target.silent = (
            f"replica silent: {self.target.description} accepted {self.replica.connections} stream(s) but sent "
            f"no response at all, although answers were owed for more than {self.patience:g} s "
            f"(first: {first.rule} on {first.stream}: {first.subject})"
        )

    # ---- verdicts ----

    def findings(self) -> list[Finding]:
        out = []
        violations, warnings = self.replica.violations, self.replica.warnings
        self._note_silence(violations[self._violations :])
        for v in violations[self._violations :]:
            out.append(Finding(v.rule, v.level, format_violation(v)))
        for v in warnings[self._warnings :]:
            out.append(Finding(v.rule, v.level, format_violation(v)))
        self._violations, self._warnings = len(violations), len(warnings)
        return out

    def exercised(self) -> Counter[str]:
        now = Counter(self.replica.oracle.exercised)
        delta = now - self._exercised
        self._exercised = now
        return delta

    def unjudged(self) -> list[str]:
        """Situations the oracle could not judge since this backend started (e.g. racing streams)."""
        notes: list[str] = list(getattr(self.replica.oracle, "notes", []))
        return notes[self._notes :]

    def history_lines(self) -> list[str]:
        return [history.dumps(e) for e in self._events]

    def _make_seen(self) -> None:
        """Before closing a stream the replica never answered on, get an answer on it.

        A short example can open and close its stream within a millisecond, before the replica's
        handler for it even ran; the replica may then meet that stream after the next example's
        and take it for the newer one (TRANS-2 lets the newest win, and gRPC does not order
        streams). An answer proves the replica has seen the stream. So ask for one that is owed at
        once: a peek at an empty, sealed shard, waited for within the patience.
        """
        stream = self.stream
        if stream is None or any(ps.received for ps in stream.processes) or self.replica.limits.expired():
            return
        if self.target.death_verdict() is not None:
            return  # no answer will come: the replica is gone
        if not all(ps.open for ps in stream.processes):
            return
        if id(stream) not in self._initialized:
            # Before InitializationComplete a replica may defer every answer (STAGE-2): no evidence
            # can be asked for, so give its handlers a moment instead (the machines reconnect only
            # after initialization; this is for scenarios and failed examples).
            time.sleep(_GRACE)
            return
        if self._evidence is None:
            # One per backend, created within its history: the offline check of that history must
            # know the shard the peek reads, or it could not tell the answer was final (PEEK-6).
            shard_id = self.worker.ids.shard("evidence")
            self.storage.create_shard(shard_id, 1, upper=EMPTY)
            self._evidence = (shard_id, self.worker.ids.gid())
        shard_id, gid = self._evidence
        uuid = self.worker.ids.uuid()
        peek = commands.persist_peek(uuid, gid, shard_id, 0, storage_address=self.storage.address, columns=["int64"])
        with contextlib.suppress(WaitError):
            stream.send(peek)
            stream.wait_peek(uuid)
            # Whatever else the replica sends about this peek (a second answer is PEEK-1) then
            # lands in this example's history every time, not only when it beats the close.
            stream.wait_quiet(_GRACE)

    def close(self) -> None:
        """Close every stream this backend opened that is still open, as the controller: nothing
        of this example may still be open when the next one connects (the oracle cannot judge a
        stream that ends while an older one is open; see _await_older_streams_ended)."""
        self._make_seen()
        for stream in self._streams:
            if any(ps.open for ps in stream.processes):
                stream.close()
        self.replica.patience = self._default_patience
        if self._events.append in self.replica.recorder.listeners:
            self.replica.recorder.listeners.remove(self._events.append)


def _failed(what: str, e: WaitError) -> Exception:
    """A wait that ended badly: with verdicts the oracle already holds them (the runner reports
    them with their rule ids); without, the wait itself was not owed, or the stream ended."""
    if isinstance(e, StreamEnded) and not e.verdicts:
        return WaitFailed(f"the stream ended while waiting for {what}: {e}")
    return WaitFailed(str(e) if e.verdicts else f"waited for {what}, which the replica does not owe yet: {e}")
