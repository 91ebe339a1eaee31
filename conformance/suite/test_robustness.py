"""Robustness probes (spec TRANS-4, TRANS-5): commands that break a CTRL rule on purpose.

One probe exercises a permission instead (CREATE-4): a connection with another creation config,
which the replica may serve or refuse, and after which it must keep serving.

Each probe opens a fresh connection, sends one deliberate bad command through the driver's
probe path (`Stream.send(..., probe="TRANS-n: ...")`: unchecked, recorded in the history,
TRANS-3 suspended on that stream), and watches how the replica takes it; then a new
connection must complete the creation stage and answer a peek (the process still serves).
The oracle judges all of it (`conformance.oracle.check_probes`), so an offline check of the
history reaches the same verdicts.

Both rules are SHOULD: a broken one is a warning in the report, and fails only with
`--conformance-strict` (then the test fails too, with the usual failure artifacts). A MUST
verdict reached on the way (e.g. a wrong answer to the serving peek) fails the test as always.

When the suite starts its replicas, the probes get a replica of their own, so that a replica
that dies of a probe takes no other test with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from compute_protocol.v1 import command_pb2

from conformance.driver import ConnectError, Stream, WaitError
from conformance.session.failures import FailureRecord, fail, unavailable
from conformance.session.replicas import ReplicaError
from conformance.session.worker import ReplicaTarget, WorkerContext
from conformance.steps.driver_backend import DriverBackend
from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from conformance.wire.ids import uuid_str


@dataclass
class Prober:
    """What one probe works with: the backend (the driver handle and the verdict deltas) and a
    sealed, empty shard whose persist peek any serving replica answers at once."""

    worker: WorkerContext
    target: ReplicaTarget
    backend: DriverBackend
    shard: str

    def connect(self, *, create: bool = True, initialize: bool = True) -> Stream:
        stream = self.backend.replica.connect(create=create)
        if create and initialize:
            stream.initialization_complete()
        return stream

    def peek(self) -> command_pb2.ProtoComputeCommand:
        return cmd.persist_peek(
            self.worker.ids.uuid(),
            self.worker.ids.gid(),
            self.shard,
            0,
            storage_address=self.target.storage.address,
            columns=["int64"],
        )

    def answered(self, stream: Stream) -> None:
        """A peek on `stream`, waited for (the oracle judges it, and any end of the stream)."""
        peek = self.peek()
        with contextlib.suppress(*_ENDED):
            stream.send(peek)
            stream.wait_peek(uuid_str(peek.peek.uuid))

    def ended(self, stream: Stream) -> None:
        """Until the replica ended `stream` (bounded: a timeout is the oracle's TRANS-4 verdict)."""
        with contextlib.suppress(*_ENDED):
            stream.wait_ended()
        stream.close()

    def serves(self) -> None:
        """A new connection completes the creation stage and gets a peek answered (a replica
        that died of the probe ends it at once: the oracle's verdict names the probe's rule)."""
        with contextlib.suppress(*_ENDED):
            stream = self.connect()
            self.answered(stream)
            stream.close()


_ENDED = (WaitError, ConnectError)
"""How a probe's waits end when the replica does not do what it should: the oracle holds the
verdict (a stream that ended, a wait that timed out, a replica that can no longer be reached)."""


Probe = Callable[[Prober], None]
Setup = Callable[[Prober], Stream]
Bad = Callable[[Prober], command_pb2.ProtoComputeCommand]


def _rejected(setup: Setup, bad: Bad, label: str) -> Probe:
    """TRANS-4: the replica ends the stream with a status and a message, then serves anew."""

    def probe(p: Prober) -> None:
        stream: Stream | None = None
        with contextlib.suppress(*_ENDED):
            stream = setup(p)
            stream.send(bad(p), probe=f"TRANS-4: {label}")
        if stream is not None:  # else the replica could not even be connected to: the oracle holds why
            p.ended(stream)
        p.serves()

    return probe


def _ignored_or_refused(bad: Bad, label: str) -> Probe:
    """TRANS-5: the stream stays open (a peek is answered on it) or ends with FAILED_PRECONDITION."""

    def probe(p: Prober) -> None:
        with contextlib.suppress(*_ENDED):
            stream = p.connect()
            stream.send(bad(p), probe=f"TRANS-5: {label}")
            p.answered(stream)  # ignored: answered on the same stream; refused: the stream ended
            stream.close()
        p.serves()

    return probe


def _allow_writes_before_initialization(p: Prober) -> None:
    """AllowWrites before InitializationComplete (spec 16, A1): the replica may accept it (as
    upstream does: it is then writable, for good) or refuse it like any command illegal in its
    stage (TRANS-4: the stream ends with a status and a message, and it stays read-only). If it
    accepts, the stream must go on serving; either way, the next stream must be served."""
    accepted = False
    with contextlib.suppress(*_ENDED):
        stream = p.connect(initialize=False)
        stream.send(cmd.allow_writes(), probe="TRANS-4 (or accepted): AllowWrites before InitializationComplete")
        stream.initialization_complete()
        p.answered(stream)  # accepted: answered on the same stream; refused: the stream ended
        accepted = all(ps.open for ps in stream.processes)
        stream.close()
    if accepted:
        p.target.writable = True  # AllowWrites is permanent (RO-2)
    else:
        p.target.tainted = True  # refused, says the replica: read-only tests still stay away from it
    p.serves()


def _other_config(p: Prober) -> None:
    """CREATE-4: a connection whose timely config differs from the first one the replica saw is
    served, or ended with FAILED_PRECONDITION; either way the next connection is served.

    A connection with the suite's own config comes first, so that the replica's first config is
    that one whichever probe ran before on this replica (none, under -k or on an xdist worker
    whose first probe this is): the probe's config would otherwise be the first, and the
    suite's own next connection the one that differs."""
    p.serves()
    with contextlib.suppress(*_ENDED):
        stream = p.connect(create=False)
        timely = {**p.backend.replica.timely}
        timely["workers"] = int(timely.get("workers", 1)) + 1
        stream.send(cmd.create_timely(stream.epoch, **timely), probe="CREATE-4: a CreateTimely with other workers")
        stream.send(cmd.create_instance())
        stream.initialization_complete()
        p.answered(stream)  # served: answered here; refused: the stream ended
        stream.close()
    p.serves()


def _created(p: Prober) -> Stream:
    return p.connect(initialize=False)


def _initialized(p: Prober) -> Stream:
    return p.connect()


def _timely_only(p: Prober) -> Stream:
    stream = p.connect(create=False)
    stream.send(cmd.create_timely(stream.epoch, **p.backend.replica.timely))
    return stream


def _bare(p: Prober) -> Stream:
    return p.connect(create=False)


def _peek_without_finishing(p: Prober) -> command_pb2.ProtoComputeCommand:
    peek = p.peek()
    peek.peek.ClearField("finishing")
    return peek


PROBES: dict[str, Callable[[Prober], None]] = {
    # TRANS-4: illegal in the current stage (STAGE-4) ...
    "init-complete-before-create-timely": _rejected(
        _bare, lambda p: cmd.initialization_complete(), "InitializationComplete before CreateTimely"
    ),
    "peek-before-create-instance": _rejected(_timely_only, lambda p: p.peek(), "Peek before CreateInstance"),
    "second-create-instance": _rejected(_created, lambda p: cmd.create_instance(), "a second CreateInstance"),
    "second-init-complete": _rejected(
        _initialized, lambda p: cmd.initialization_complete(), "a second InitializationComplete"
    ),
    # ... or accepted, as A1 allows for this one.
    "allow-writes-before-init-complete": _allow_writes_before_initialization,
    # ... and malformed (spec 1.3: no kind, or a required sub-field missing).
    "command-without-kind": _rejected(
        _initialized, lambda p: command_pb2.ProtoComputeCommand(), "a command with no kind"
    ),
    "peek-without-finishing": _rejected(_initialized, _peek_without_finishing, "a Peek without finishing"),
    # CREATE-4 (a permission, both ways): another creation config on a later connection.
    "other-timely-config": _other_config,
    # TRANS-5: ids and uuids this iteration never created.
    "cancel-unknown-uuid": _ignored_or_refused(
        lambda p: cmd.cancel_peek(p.worker.ids.uuid()), "CancelPeek of a uuid never sent"
    ),
    "compact-unknown-id": _ignored_or_refused(
        lambda p: cmd.allow_compaction(p.worker.ids.gid(), 1), "AllowCompaction of an id never created"
    ),
    "schedule-unknown-id": _ignored_or_refused(
        lambda p: cmd.schedule(p.worker.ids.gid()), "Schedule of an id never created"
    ),
}


@pytest.fixture(scope="module")
def robustness_target(request: pytest.FixtureRequest, conformance_worker: WorkerContext) -> Iterator[ReplicaTarget]:
    """A replica of its own when the suite starts replicas, else this worker's replica."""
    worker = conformance_worker
    own = worker.settings.owns_replicas
    target: ReplicaTarget | None = None
    verdict = ""
    try:
        target = worker.fresh_replica("robustness") if own else worker.replica()
    except ReplicaError as e:
        verdict = str(e)
    if target is None:
        unavailable(request, worker, verdict)
    try:
        yield target
    finally:
        if own:
            worker.release(target)


@pytest.mark.parametrize("name", list(PROBES))
def test_probe(
    request: pytest.FixtureRequest, conformance_worker: WorkerContext, robustness_target: ReplicaTarget, name: str
) -> None:
    worker, target = conformance_worker, robustness_target
    if (death := target.death_verdict()) is not None:
        if worker.settings.owns_replicas and target.process_died():
            pytest.skip(f"the robustness replica died in an earlier probe (reported there): {death}")
        unavailable(request, worker, death)  # not a compute replica, unreachable, silent: the run's verdict
    backend = DriverBackend(worker, target)
    # Created within the probe's history, so that an offline check of it knows the shard too.
    shard = worker.ids.shard("robustness")
    target.storage.create_shard(shard, 1, upper=EMPTY)
    error = ""
    try:
        PROBES[name](Prober(worker, target, backend, shard))
    except WaitError as e:  # every wait of a probe is judged by the oracle; this is what was left
        error = f"{type(e).__name__}: {e}"
    finally:
        backend.close()
    worker.results.add_exercised(backend.exercised())
    worker.results.add_unjudged(backend.unjudged())
    findings = backend.findings()
    must = [f for f in findings if f.level == "MUST"]
    death = target.death_verdict()
    # The probes' own replica dying of a probe is the probe's verdict (TRANS-4/5), not the run's;
    # any other way of being gone (not a compute replica, unreachable, silent) is the run's.
    run_problem = death is not None and not (worker.settings.owns_replicas and target.process_died())
    if must or (findings and worker.settings.strict) or error or run_problem:
        record = FailureRecord(f"robustness probe {name}", [], findings, backend.history_lines(), error, rerun=True)
        fail(request, worker, record, death=death, replica_problem=run_problem)
    for f in findings:
        worker.results.add_warning(f.rule_id, f.text, request.node.nodeid)
