"""A connection to a replica: one protocol iteration, over one stream per replica process.

`send` checks the CTRL rules, records the command and writes it, fanning out as MULTI-1 says.
The waits block until the oracle's view of the responses satisfies a condition on every process
stream, and are always bounded: by the deadline of the obligation the replica owes (so that the
oracle reaches its liveness verdict first), else by the patience budget. A wait that fails
records a `Wait` event, which is where the live run declares overdue obligations violated, and
raises `WaitTimeout` or `StreamEnded` with a message that names what was awaited, for which id,
what arrived instead and the verdicts reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from compute_protocol.v1 import command_pb2, response_pb2

from conformance.driver.errors import RunDeadline, StreamEnded, SuiteError, WaitTimeout
from conformance.driver.process import ProcessStream
from conformance.history import Command, Epoch, Note, StreamEnd, Wait
from conformance.oracle import Violation, format_violation
from conformance.oracle.controller import BROADCAST
from conformance.oracle.describe import short_uuid
from conformance.oracle.state import FrontierKind
from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import GlobalId, PeekId
from conformance.wire.rows import Row, entries_from_proto

if TYPE_CHECKING:
    from conformance.driver.replica import Replica

T = TypeVar("T")
_EPSILON = 0.005
_RECENT = 8


@dataclass(frozen=True)
class PeekAnswer:
    """The answer of every process to one peek, merged as a controller would (spec 15)."""

    kind: str  # rows, error, canceled (the first non-rows kind wins, as upstream's merge)
    rows: dict[Row, int] = field(default_factory=dict)
    error: str = ""
    responses: dict[str, response_pb2.ProtoPeekResponse] = field(default_factory=dict)


@dataclass(frozen=True)
class CopyToAnswer:
    kind: str  # rows, error, dropped
    count: int = 0
    error: str = ""
    responses: dict[str, response_pb2.ProtoCopyToResponse] = field(default_factory=dict)


class Stream:
    """One connection (iteration) to a replica. Obtain it from `Replica.connect()`."""

    def __init__(self, replica: Replica, name: str, epoch: Epoch, processes: Sequence[ProcessStream]) -> None:
        self.replica = replica
        self.name = name
        self.epoch = epoch
        self.processes = list(processes)
        self._oracle = replica.oracle
        self._recorder = replica.recorder

    def __repr__(self) -> str:
        return f"Stream({self.name}, epoch={self.epoch}, processes={[p.name for p in self.processes]})"

    @property
    def streams(self) -> list[str]:
        return [p.name for p in self.processes]

    # --- sending ----------------------------------------------------------------------

    def send(self, command: command_pb2.ProtoComputeCommand, *, probe: str = "") -> None:
        """Check, record and write one command: CreateTimely and UpdateConfiguration go to every
        process (CreateTimely with its process index), everything else to process 0.

        `probe` labels a robustness probe that breaks a CTRL rule on purpose (it exists only for
        the probes of `suite/test_robustness.py`); it is sent unchecked, still recorded, and
        suspends TRANS-3 on the streams it is sent to; a label starting with `TRANS-4:`,
        `TRANS-5:` or `CREATE-4:` has the oracle judge the replica by that rule instead. Raises `ControllerError`
        (a suite bug) for a command that breaks a CTRL rule, and `StreamEnded` if the replica has
        already ended the stream.
        """
        kind = command.WhichOneof("kind")
        targets = self.processes if kind in BROADCAST else self.processes[:1]
        per_process = []
        for ps in targets:
            c = command
            if kind == "create_timely":
                c = command_pb2.ProtoComputeCommand()
                c.CopyFrom(command)
                c.create_timely.config.process = ps.process
            per_process.append((ps, c))
        with self._recorder.lock:
            self._raise_suite_failure()
            gone = [ps for ps, _ in per_process if _ended_by_replica(ps)]
            if gone:
                # Not a suite bug: the replica ended the stream first (the oracle judged that).
                before = (len(self._oracle.violations), len(self._oracle.warnings))
                raise StreamEnded(
                    self._explain(
                        f"sending {kind}", "the replica had ended the stream", self._recorder.clock(), before
                    ),
                    [
                        v
                        for v in self._oracle.violations
                        if v.stream in self.streams and v.rule in ("TRANS-3", "TRANS-6")
                    ],
                )
            for ps, c in per_process:
                self._oracle.precheck(ps.name, c, probe)
            for ps, c in per_process:
                self._recorder.record(Command(stream=ps.name, cmd=c, probe=probe))
                ps.send(c)

    def send_all(self, commands: Iterable[command_pb2.ProtoComputeCommand]) -> None:
        for c in commands:
            self.send(c)

    def create(self, pause: float = 0.0) -> Stream:
        """The creation stage: CreateTimely (to every process) and CreateInstance.

        A `pause` between the two is a slow controller: STAGE-1 forbids responses before
        CreateInstance, and only a gap lets a controller see one that comes too early.
        """
        self.send(cmd.create_timely(self.epoch, **self.replica.timely))
        if pause > 0:
            time.sleep(pause)
        self.send(cmd.create_instance())
        return self

    def initialization_complete(self) -> Stream:
        self.send(cmd.initialization_complete())
        return self

    def note(self, text: str) -> None:
        self._recorder.record(Note(text=text))

    def close(self) -> None:
        """End the connection from the controller's side (never judged as TRANS-3)."""
        for ps in self.processes:
            ps.close()

    # --- waits ------------------------------------------------------------------------

    def wait_peek(self, uuid: int | PeekId, *, timeout: float | None = None) -> PeekAnswer:
        """Until every process answered peek `uuid`; the answers merged."""
        pid = cmd.peek_id(uuid)

        def done() -> PeekAnswer | None:
            if any(
                pid not in ps.peek_responses or self._oracle.peek_answer(ps.name, pid) is None
                for ps in self.processes
            ):
                return None
            return _merge_peek({ps.name: ps.peek_responses[pid] for ps in self.processes})

        return self._wait(
            f"an answer to peek {short_uuid(pid)}", done, [("peek", s, pid) for s in self.streams], timeout
        )

    def wait_frontier(
        self, gid: GlobalId, kind: FrontierKind, beyond: int, *, timeout: float | None = None
    ) -> Frontier:
        """Until every process reported `kind` of `gid` beyond time `beyond`; the lowest report."""

        def done() -> Frontier | None:
            values = [self._oracle.frontier(s, gid, kind) for s in self.streams]
            if any(v is None or v <= beyond for v in values):
                return None
            return min(v for v in values if v is not None)

        return self._wait(
            f"the {kind} frontier of {gid} beyond {beyond}",
            done,
            [("front", s, gid, kind) for s in self.streams],
            timeout,
        )

    def wait_subscribe(self, gid: GlobalId, beyond: int, *, timeout: float | None = None) -> Frontier:
        """Until every process's batches for subscribe `gid` cover time `beyond` (or ended)."""

        def done() -> Frontier | None:
            uppers = []
            for s in self.streams:
                chain = self._oracle.chain(s, gid)
                if chain is None:
                    return None
                if chain.finished or chain.dropped_at:
                    uppers.append(EMPTY if chain.finished else chain.upper)
                elif chain.upper > beyond:
                    uppers.append(chain.upper)
                else:
                    return None
            return min(uppers)

        return self._wait(
            f"subscribe {gid} batches beyond {beyond}", done, [("sub", s, gid) for s in self.streams], timeout
        )

    def wait_copy_to(self, gid: GlobalId, *, timeout: float | None = None) -> CopyToAnswer:
        def done() -> CopyToAnswer | None:
            if any(
                gid not in ps.copy_responses or self._oracle.copy_to_answer(ps.name, gid) is None
                for ps in self.processes
            ):
                return None
            return _merge_copy({ps.name: ps.copy_responses[gid] for ps in self.processes})

        return self._wait(
            f"the answer of copy-to {gid}", done, [("copy", s, gid) for s in self.streams], timeout
        )

    def wait_quiet(self, quiet: float, *, timeout: float | None = None) -> None:
        """Until no response arrived on any process stream for `quiet` seconds.

        Event-driven like every wait: it sleeps until the window would end, and a response
        that arrives meanwhile (the reader thread notifies) moves the end to `quiet` after it.
        """
        clock = self._recorder.clock
        started = clock()

        def window_end() -> float:
            last = max((ps.last_received for ps in self.processes if ps.last_received is not None), default=started)
            return max(last, started) + quiet

        def done() -> bool | None:
            return True if clock() >= window_end() else None

        limit = timeout if timeout is not None else self.replica.patience + quiet
        self._wait(f"{quiet:g} s without responses", done, [], limit, wake_at=window_end)

    def settle(self, *, timeout: float | None = None) -> None:
        """Until every obligation open on this connection is discharged (or judged violated)."""

        def done() -> bool | None:
            return (
                True if not any(ob.stream in self.streams for ob in self._oracle.open_obligations()) else None
            )

        self._wait("every open obligation to be discharged", done, None, timeout)

    def wait_ended(self, *, timeout: float | None = None) -> dict[str, StreamEnd]:
        """Until the replica ended every stream of this connection (after a newer connection
        opened, TRANS-2, or after a robustness probe); how each ended."""

        def done() -> dict[str, StreamEnd] | None:
            ends = {ps.name: ps.end for ps in self.processes}
            if any(e is None for e in ends.values()):
                return None
            return {name: e for name, e in ends.items() if e is not None}

        return self._wait(
            "the replica to end the stream",
            done,
            [("trans2", s) for s in self.streams],
            timeout,
            expect_end=True,
        )

    # --- the wait loop ----------------------------------------------------------------

    def _deadline(self, start: float, limit: float, groups: list[Hashable] | None) -> float:
        """The later of the wait's own limit and the deadlines of the obligations it waits on.

        `groups` names those obligations; None means every obligation on this connection.
        Waiting past an obligation's deadline lets the oracle reach its verdict before the wait
        gives up, so a timeout always comes with the rule it broke when the replica owed it.
        """
        relevant = [
            ob.deadline
            for ob in self._oracle.open_obligations()
            if (ob.stream in self.streams if groups is None else ob.group in groups)
        ]
        return max([start + limit, *(d + _EPSILON for d in relevant)])

    def _wait(
        self,
        what: str,
        done: Callable[[], T | None],
        groups: list[Hashable] | None,
        timeout: float | None,
        wake_at: Callable[[], float] | None = None,
        expect_end: bool = False,
    ) -> T:
        """Until `done()` returns a result; it is re-checked whenever an event is recorded (the
        recorder's condition), and at `wake_at()` for a condition that time alone can make true."""
        rec = self._recorder
        limit = timeout if timeout is not None else self.replica.patience
        with rec.changed:
            start = rec.clock()
            verdicts_before = (len(self._oracle.violations), len(self._oracle.warnings))
            while True:
                self._raise_suite_failure()
                result = done()
                if result is not None:
                    rec.record(Wait(what=what, outcome="done"))
                    return result
                ended = [ps for ps in self.processes if _ended_by_replica(ps)]
                if ended and (not expect_end or any(ps.rejected for ps in ended)):
                    rec.record(Wait(what=what, outcome="stream ended"))
                    raise StreamEnded(
                        self._explain(what, "a stream ended", start, verdicts_before),
                        self._new_verdicts(verdicts_before),
                    )
                now = rec.clock()
                deadline = self._deadline(start, limit, groups)
                if now > deadline:
                    rec.record(Wait(what=what, outcome="timeout"))
                    raise WaitTimeout(
                        self._explain(what, "timed out", start, verdicts_before),
                        self._new_verdicts(verdicts_before),
                    )
                run_left = self.replica.limits.remaining()
                if run_left is not None and run_left <= 0:
                    rec.record(Wait(what=what, outcome="deadline"))
                    raise RunDeadline(f"the whole-run deadline passed while waiting for {what} on {self.name}")
                pause = deadline - now + _EPSILON
                if run_left is not None:
                    pause = min(pause, run_left + _EPSILON)
                if wake_at is not None:
                    pause = min(pause, max(0.0, wake_at() - now))
                rec.changed.wait(pause)

    def _new_verdicts(self, before: tuple[int, int]) -> list[Violation]:
        return self._oracle.violations[before[0] :] + self._oracle.warnings[before[1] :]

    def _raise_suite_failure(self) -> None:
        for ps in self.processes:
            if ps.failure is not None:
                raise SuiteError(
                    f"the suite failed on a response of {ps.name}: {ps.failure!r}"
                ) from ps.failure

    def _explain(self, what: str, how: str, start: float, verdicts_before: tuple[int, int]) -> str:
        elapsed = self._recorder.clock() - start
        lines = [f"waited for {what} on {', '.join(self.streams)}: {how} after {elapsed:.2f} s"]
        for ps in self.processes:
            if ps.rejected:
                lines.append(f"  {ps.name} closed by the controller: it refused a response (TRANS-6), {ps.rejected}")
            elif ps.end is not None and ps.end.gone:
                lines.append(f"  {ps.name} ended because the replica is gone: {ps.end.gone}")
            elif ps.end is not None and not ps.end.by_controller:
                lines.append(f"  {ps.name} ended: {ps.end.code} {ps.end.details!r}")
        verdicts = self._new_verdicts(verdicts_before)
        lines.extend(f"not judged: {n}" for n in self._oracle.notes if any(s in n for s in self.streams))
        if verdicts:
            lines.append("verdicts:")
            lines.extend("  " + format_violation(v).replace("\n", "\n  ") for v in verdicts)
        open_obs = [
            ob.describe(self._oracle.last_time)
            for ob in self._oracle.open_obligations()
            if ob.stream in self.streams
        ]
        if open_obs:
            lines.append("still owed:")
            lines.extend(f"  {d}" for d in open_obs)
        for ps in self.processes:
            lines.append(f"arrived on {ps.name} since it opened: {ps.summary()}")
        if not verdicts:
            for ps in self.processes:
                recent = list(self._oracle.stream(ps.name).recent)[-_RECENT:]
                lines.append(f"last messages on {ps.name}:" if recent else f"nothing arrived on {ps.name}")
                lines.extend(f"  {m}" for m in recent)
        return "\n".join(lines)


def _ended_by_replica(ps: ProcessStream) -> bool:
    """The stream ended without the controller wanting it: the replica ended it, its process is
    gone, or the controller had to close it after refusing a response (TRANS-6)."""
    return ps.end is not None and (not ps.end.by_controller or bool(ps.rejected))


def _merge_peek(responses: dict[str, response_pb2.ProtoPeekResponse]) -> PeekAnswer:
    kinds = [r.WhichOneof("kind") or "none" for r in responses.values()]
    if "canceled" in kinds:
        return PeekAnswer("canceled", responses=responses)
    errors = [r.error for r in responses.values() if r.WhichOneof("kind") == "error"]
    if errors:
        return PeekAnswer("error", error=errors[-1], responses=responses)
    rows: dict[Row, int] = {}
    for r in responses.values():
        for key, count in entries_from_proto(r.rows):
            rows[key] = rows.get(key, 0) + count
    return PeekAnswer("rows", rows=rows, responses=responses)


def _merge_copy(responses: dict[str, response_pb2.ProtoCopyToResponse]) -> CopyToAnswer:
    kinds = [r.WhichOneof("kind") or "none" for r in responses.values()]
    if "dropped" in kinds:
        return CopyToAnswer("dropped", responses=responses)
    errors = [r.error for r in responses.values() if r.WhichOneof("kind") == "error"]
    if errors:
        return CopyToAnswer("error", error=errors[-1], responses=responses)
    return CopyToAnswer("rows", count=sum(r.rows for r in responses.values()), responses=responses)
