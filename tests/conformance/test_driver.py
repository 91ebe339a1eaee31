"""The driver against tiny fake replicas that answer, go silent, close, fail, send garbage and die."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from compute_protocol.v1 import command_pb2, response_pb2

from conformance.driver import ConnectError, Replica, Stream, StreamEnded, WaitTimeout
from conformance.driver.limits import Limits
from conformance.history import Command, Rejected, StreamEnd, read_history
from conformance.oracle import ControllerError, Oracle, format_violation
from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from conformance.wire.ids import gid_str
from conformance.wire.rows import row, row_to_proto
from tests.conformance.fake_servers import (
    FakeReplica,
    Resp,
    aborts_after,
    answering,
    closes_after,
    frontiers,
    garbage_after,
    silent,
    take,
)

PATIENCE = 0.3  # for replicas that stay silent: how long until the verdict
ANSWERED = 10.0  # for replicas that answer: a loaded machine may take a while, never a verdict


def rows_answer(c: command_pb2.ProtoComputeCommand, *rows: tuple[object, ...]) -> Resp:
    coll = response_pb2.ProtoRowCollection(
        rows=[response_pb2.ProtoRowWithCount(row=row_to_proto(row(*r)), count=1) for r in rows]
    )
    return Resp(
        peek_response=response_pb2.ProtoPeekResponseKind(
            id=c.peek.uuid, resp=response_pb2.ProtoPeekResponse(rows=coll)
        )
    )


def good(c: command_pb2.ProtoComputeCommand) -> list[Resp]:
    """A correct replica for `constant_index`: u1 holds (1) at every time."""
    kind = c.WhichOneof("kind")
    if kind == "schedule":
        return [frontiers(gid_str(c.schedule), EMPTY)]
    if kind == "peek":
        return [rows_answer(c, (1,))]
    return []


@pytest.fixture
def fakes() -> Iterator[list[FakeReplica]]:
    started: list[FakeReplica] = []
    yield started
    for f in started:
        f.stop()


def serve(fakes: list[FakeReplica], behaviour: object, *, raw: bool = False) -> FakeReplica:
    f = FakeReplica(behaviour, raw=raw)  # type: ignore[arg-type]
    fakes.append(f)
    return f


def replica_for(
    f: FakeReplica, tmp_path: Path | None = None, *, patience: float = ANSWERED, **kw: object
) -> Replica:
    history = tmp_path / "history.jsonl" if tmp_path is not None else None
    return Replica(f.address, patience=patience, history=history, **kw)  # type: ignore[arg-type]


def constant_index(s: Stream, *, peek: bool = True) -> None:
    desc = cmd.dataflow(
        as_of=0,
        objects=[cmd.build("t1", cmd.constant(1, [(row(1), 0, 1)]))],
        indexes=[cmd.index_export("u1", "t1", [0])],
    )
    s.send(cmd.create_dataflow(desc))
    s.send(cmd.schedule("u1"))
    s.initialization_complete()
    if peek:
        s.send(cmd.peek(1, "u1", 0, arity=1))


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def drain(requests: Iterator[object]) -> None:
    with contextlib.suppress(grpc.RpcError):
        for _ in requests:
            pass


def rules(replica: Replica) -> set[str]:
    return {v.rule for v in replica.violations}


# --- a replica that behaves -----------------------------------------------------------------


def test_happy_path_and_offline_check_agrees(fakes: list[FakeReplica], tmp_path: Path) -> None:
    f = serve(fakes, answering(good))
    with replica_for(f, tmp_path) as replica:
        s = replica.connect()
        constant_index(s)
        answer = s.wait_peek(1)
        assert answer.kind == "rows" and answer.rows == {row(1): 1}
        assert s.wait_frontier("u1", "write", 5) == EMPTY
        s.settle()
        assert replica.violations == [] and replica.warnings == []
        assert replica.oracle.exercised["PEEK-7"] == 1
    assert [c.WhichOneof("kind") for c in f.received][:2] == ["create_timely", "create_instance"]
    offline = Oracle()
    events = read_history(tmp_path / "history.jsonl").events
    offline.consume_all(events)
    assert offline.violations == [] and len(events) == len(replica.events)


def test_send_refuses_controller_rule_breaches_before_writing(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, silent)
    with replica_for(f) as replica:
        s = replica.connect()
        before = len(replica.events)
        with pytest.raises(ControllerError, match="DF-3"):
            s.send(cmd.schedule("u9"))
        assert len(replica.events) == before


def test_large_messages_get_through(fakes: list[FakeReplica]) -> None:
    big = "x" * (6 << 20)

    def respond(c: command_pb2.ProtoComputeCommand) -> list[Resp]:
        return [rows_answer(c, (big,))] if c.WhichOneof("kind") == "peek" else good(c)

    f = serve(fakes, answering(respond))
    with replica_for(f) as replica:
        s = replica.connect()
        constant_index(s)
        assert s.wait_peek(1).rows == {row(big): 1}
        assert "TRANS-3" not in rules(replica) and "PEEK-7" in rules(replica)


def test_commands_fan_out_to_processes(fakes: list[FakeReplica]) -> None:
    p0, p1 = serve(fakes, answering(good)), serve(fakes, answering(good))
    with Replica([p0.address, p1.address], patience=PATIENCE) as replica:
        s = replica.connect()
        s.send(cmd.update_configuration(max_result_size=1 << 40))
        constant_index(s, peek=False)
        eventually(lambda: len(p0.received) == 6 and len(p1.received) == 2)
        s.close()
    kinds0 = [c.WhichOneof("kind") for c in p0.received]
    kinds1 = [c.WhichOneof("kind") for c in p1.received]
    assert kinds1 == ["create_timely", "update_configuration"]
    assert kinds0[:3] == ["create_timely", "create_instance", "update_configuration"] and "schedule" in kinds0
    assert [c.create_timely.config.process for c in (p0.received[0], p1.received[0])] == [0, 1]


def test_reconnect_judges_the_old_stream_ending(fakes: list[FakeReplica]) -> None:
    newest = [0]

    def replaced_by_newer(
        requests: Iterator[command_pb2.ProtoComputeCommand], context: grpc.ServicerContext
    ) -> Iterator[Resp]:
        newest[0] += 1
        mine = newest[0]
        threading.Thread(target=drain, args=(requests,), daemon=True).start()
        while newest[0] == mine and context.is_active():  # (a stopped server must not keep this thread)
            time.sleep(0.01)
        return iter(())

    f = serve(fakes, replaced_by_newer)
    with replica_for(f) as replica:
        first = replica.connect()
        second = replica.connect()
        ends = first.wait_ended()
        assert ends["c1"].code == "OK" and not ends["c1"].by_controller
        second.close()
        assert replica.violations == []
        assert replica.oracle.exercised["TRANS-2"] == 1


# --- a replica that does not --------------------------------------------------------------------


def test_silent_replica_times_out_naming_the_obligation(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, silent)
    with replica_for(f, patience=PATIENCE) as replica:
        s = replica.connect()
        constant_index(s)
        with pytest.raises(WaitTimeout) as err:
            s.wait_peek(1)
        message = str(err.value)
        assert "peek 0x1" in message and "PEEK-2" in message and "nothing within 0.3 s" in message
        assert "PEEK-2" in {v.rule for v in err.value.verdicts}
        assert {"PEEK-2", "STAGE-3"} == rules(replica)


def test_waiting_for_something_not_owed_times_out_without_a_verdict(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, silent)
    with replica_for(f, patience=PATIENCE) as replica:
        s = replica.connect()
        desc = cmd.dataflow(
            as_of=0,
            objects=[cmd.build("t1", cmd.constant(1, []))],
            indexes=[cmd.index_export("u1", "t1", [0])],
        )
        s.send(cmd.create_dataflow(desc))  # never scheduled: nothing is owed (DF-2)
        s.initialization_complete()
        s.send(cmd.peek(1, "u1", 0, arity=1))
        with pytest.raises(WaitTimeout) as err:
            s.wait_peek(1)
        assert err.value.verdicts == [] and "peek 0x1" in str(err.value)
        assert "Peek(0x1" in str(err.value)  # the last messages show what was sent


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (closes_after(5), "OK"),
        (aborts_after(5, grpc.StatusCode.FAILED_PRECONDITION, "nope"), "FAILED_PRECONDITION"),
    ],
    ids=["closes", "aborts"],
)
def test_replica_ending_the_stream_is_trans_3(fakes: list[FakeReplica], behaviour: object, code: str) -> None:
    f = serve(fakes, behaviour)
    with replica_for(f) as replica:
        s = replica.connect()
        constant_index(s, peek=False)
        with pytest.raises(StreamEnded) as err:
            s.wait_frontier("u1", "write", 0, timeout=5.0)
        assert code in str(err.value) and "TRANS-3" in str(err.value)
        assert rules(replica) == {"TRANS-3"}
        (trans3,) = replica.violations
        assert "u1 write frontier" in trans3.actual  # what was outstanding


def test_sending_after_the_replica_ended_the_stream(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, closes_after(2))
    with replica_for(f) as replica:
        s = replica.connect()
        eventually(lambda: s.processes[0].end is not None)
        with pytest.raises(StreamEnded) as err:
            s.send(cmd.initialization_complete())
        assert [v.rule for v in err.value.verdicts] == ["TRANS-3"]
        assert "the replica had ended the stream" in str(err.value)


def test_an_undecodable_response_is_the_replicas_trans_6_and_ends_the_wait(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, garbage_after(2), raw=True)
    with replica_for(f) as replica:
        s = replica.connect()
        with pytest.raises(StreamEnded) as err:
            s.wait_quiet(0.2, timeout=5.0)
        assert "refused a response (TRANS-6)" in str(err.value)
        assert rules(replica) == {"TRANS-6"}, "the suite's own decode failure is not TRANS-3"
        (v,) = replica.violations
        assert "a response the controller cannot decode (4 bytes, sha256 " in v.actual and "0a7f0102" in v.actual
        (rejected,) = [e for e in replica.events if isinstance(e, Rejected)]
        assert rejected.reason == "undecodable" and rejected.size == 4
        (end,) = [e for e in replica.events if isinstance(e, StreamEnd)]
        assert end.by_controller, "the controller closed it after refusing the response"


def test_a_response_over_the_size_bound_is_refused_unread(fakes: list[FakeReplica]) -> None:
    big = frontiers("u1", 5).SerializeToString() + b"\x62" + _varint(3 << 20) + b"x" * (3 << 20)  # unknown field 12

    def behaviour(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterable[bytes]:
        take(requests, 2)
        yield big
        threading.Event().wait(5)

    f = serve(fakes, behaviour, raw=True)
    with replica_for(f, limits=Limits(max_response_bytes=1 << 20)) as replica:
        s = replica.connect()
        with pytest.raises(StreamEnded):
            s.wait_quiet(0.2, timeout=5.0)
        assert rules(replica) == {"TRANS-6"}
        (v,) = replica.violations
        assert f"a response larger than the controller accepts ({len(big)} bytes" in v.actual
        assert "x" * 100 not in format_violation(v), "the response is never quoted whole"


def test_a_stream_over_the_response_bound_is_refused(fakes: list[FakeReplica]) -> None:
    def flood(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterable[Any]:
        take(requests, 2)
        for _ in range(10_000):
            yield frontiers("u1", 5)
        threading.Event().wait(5)

    f = serve(fakes, flood)
    with replica_for(f, limits=Limits(max_stream_responses=50)) as replica:
        s = replica.connect()
        with pytest.raises(StreamEnded):
            s.wait_quiet(0.2, timeout=5.0)
        assert "TRANS-6" in rules(replica)
        v = next(v for v in replica.violations if v.rule == "TRANS-6")
        assert "more responses on one stream than the controller holds" in v.actual
        assert "50 frontiers" in v.actual, "what arrived, summarized"
        assert s.processes[0].received == 50


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def test_replica_dying_mid_wait_ends_the_wait(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, silent)
    with Replica(f.address, patience=10.0) as replica:
        s = replica.connect()
        constant_index(s)
        threading.Timer(0.3, f.stop).start()
        with pytest.raises(StreamEnded) as err:  # not WaitTimeout: the death ended the wait
            s.wait_peek(1)
        assert "TRANS-3" in str(err.value) and "peek 0x1" in str(err.value)


def test_unreachable_replica_is_a_connect_error() -> None:
    replica = Replica("127.0.0.1:1", patience=PATIENCE, connect_timeout=0.3)
    with pytest.raises(ConnectError, match=r"127\.0\.0\.1:1"):
        replica.connect()
    replica.close()


def test_quiet_wait_returns_once_nothing_arrives(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, answering(good))
    with replica_for(f) as replica:
        s = replica.connect()
        constant_index(s, peek=False)
        s.wait_quiet(0.1)  # returns (a wait that found no quiet would raise WaitTimeout)
        assert replica.oracle.frontier("c1", "u1", "write") == EMPTY


def test_probes_are_sent_unchecked_and_recorded(fakes: list[FakeReplica]) -> None:
    f = serve(fakes, aborts_after(3, grpc.StatusCode.FAILED_PRECONDITION, "unknown uuid"))
    with replica_for(f) as replica:
        s = replica.connect()
        s.send(cmd.cancel_peek(99), probe="TRANS-5 unknown uuid")
        ends = s.wait_ended(timeout=5.0)
        assert ends["c1"].code == "FAILED_PRECONDITION"
        assert replica.violations == []
        (probe,) = [e for e in replica.events if isinstance(e, Command) and e.probe]
        assert probe.probe == "TRANS-5 unknown uuid"
