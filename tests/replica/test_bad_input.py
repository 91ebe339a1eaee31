"""Bad input (TRANS-4, TRANS-5): a status naming the command, then a working stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from compute_protocol.v1 import command_pb2

from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller

INVALID = grpc.StatusCode.INVALID_ARGUMENT
ILLEGAL = grpc.StatusCode.FAILED_PRECONDITION
INDEX = p.dataflow(0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], indexes=[p.index_export(2, 1, [0])])


def no_kind() -> p.Cmd:
    return command_pb2.ProtoComputeCommand()


def without(cmd: p.Cmd, path: str) -> p.Cmd:
    out = p.Cmd()
    out.CopyFrom(cmd)
    target: Any = out
    *parents, last = path.split(".")
    for name in parents:
        target = getattr(target, name)
    target.ClearField(last)
    return out


def two_element_compaction() -> p.Cmd:
    cmd = p.allow_compaction(2, 1)
    cmd.allow_compaction.frontier.elements.append(2)
    return cmd


CASES: list[tuple[str, list[p.Cmd], grpc.StatusCode, str]] = [
    ("no kind", [no_kind()], INVALID, "no kind"),
    (
        "CreateTimely without config",
        [without(p.create_timely(), "create_timely.config")],
        INVALID,
        "CreateTimely",
    ),
    (
        "CreateInstance without logging",
        [p.create_timely(), without(p.create_instance(), "create_instance.logging")],
        INVALID,
        "CreateInstance",
    ),
    (
        "dataflow without as_of",
        [p.create_timely(), p.create_instance(), without(p.create_dataflow(INDEX), "create_dataflow.as_of")],
        INVALID,
        "as_of",
    ),
    (
        "Get of an unknown id",
        [p.create_timely(), p.create_instance(), p.create_dataflow(p.dataflow(0, objects=[(1, p.get(77))]))],
        INVALID,
        "u77",
    ),
    (
        "column out of range",
        [
            p.create_timely(),
            p.create_instance(),
            p.create_dataflow(
                p.dataflow(0, objects=[(1, p.constant(1, []))], indexes=[p.index_export(2, 1, [3])])
            ),
        ],
        INVALID,
        "column 3",
    ),
    (
        "frontier with two elements",
        [p.create_timely(), p.create_instance(), p.create_dataflow(INDEX), two_element_compaction()],
        INVALID,
        "elements",
    ),
    (
        "peek without finishing",
        [
            p.create_timely(),
            p.create_instance(),
            p.create_dataflow(INDEX),
            without(p.peek(1, 2, 0, 1), "peek.finishing"),
        ],
        INVALID,
        "finishing",
    ),
    ("dataflow before CreateTimely", [p.create_dataflow(INDEX)], ILLEGAL, "before CreateTimely"),
    (
        "dataflow before CreateInstance",
        [p.create_timely(), p.create_dataflow(INDEX)],
        ILLEGAL,
        "CreateInstance",
    ),
    (
        "repeated CreateTimely",
        [p.create_timely(), p.create_instance(), p.create_timely()],
        ILLEGAL,
        "repeated",
    ),
    (
        "repeated InitializationComplete",
        [p.create_timely(), p.create_instance(), p.initialization_complete(), p.initialization_complete()],
        ILLEGAL,
        "InitializationComplete",
    ),
    (
        "duplicate export id",
        [p.create_timely(), p.create_instance(), p.create_dataflow(INDEX), p.create_dataflow(INDEX)],
        ILLEGAL,
        "u2",
    ),
    ("schedule of an unknown id", [p.create_timely(), p.create_instance(), p.schedule(42)], ILLEGAL, "u42"),
    (
        "compaction of a dropped id",
        [
            p.create_timely(),
            p.create_instance(),
            p.create_dataflow(INDEX),
            p.allow_compaction(2, None),
            p.allow_compaction(2, None),
        ],
        ILLEGAL,
        "dropped",
    ),
    (
        "peek of a non-index",
        [
            p.create_timely(),
            p.create_instance(),
            p.create_dataflow(p.dataflow(0, objects=[(1, p.constant(1, []))], sinks=[p.subscribe(2, 1)])),
            p.peek(1, 2, 0, 1),
        ],
        ILLEGAL,
        "not an index",
    ),
    (
        "duplicate peek uuid",
        [
            p.create_timely(),
            p.create_instance(),
            p.create_dataflow(INDEX),
            p.peek(1, 2, 0, 1),
            p.peek(1, 2, 0, 1),
        ],
        ILLEGAL,
        "uuid",
    ),
    (
        "peek with a literal key of the wrong arity (A11: illegal for this index, not malformed)",
        [
            p.create_timely(),
            p.create_instance(),
            p.create_dataflow(INDEX),
            p.peek(1, 2, 0, 1, keys=[(1, 2)]),
        ],
        ILLEGAL,
        "literal key",
    ),
    (
        "index import of an unknown index",
        [
            p.create_timely(),
            p.create_instance(),
            p.create_dataflow(p.dataflow(0, index_imports=[p.index_import(8, 1, [0])])),
        ],
        ILLEGAL,
        "u8",
    ),
]


@pytest.mark.parametrize(("name", "commands", "code", "mentions"), CASES, ids=[c[0] for c in CASES])
def test_bad_commands_end_the_stream_and_the_next_one_works(
    connect: Callable[[], Controller], name: str, commands: list[p.Cmd], code: grpc.StatusCode, mentions: str
) -> None:
    bad = connect().send(*commands)
    got, details = bad.wait_ended()
    assert (got, mentions in details) == (code, True), f"{name}: {got} {details!r}"
    good = connect().start(p.create_dataflow(INDEX), epoch=2)
    assert good.wait_frontier(2, EMPTY) == EMPTY


def test_undecodable_bytes(connect: Callable[[], Controller]) -> None:
    bad = connect()
    bad.send(p.create_timely())
    bad.send_raw(b"\xff\xff\xff\xff")
    code, details = bad.wait_ended()
    assert code == INVALID and "undecodable" in details
    connect().start(p.create_dataflow(INDEX), epoch=2).wait_frontier(2, EMPTY)


def test_cancel_of_an_unknown_uuid_is_ignored(ctl: Controller) -> None:
    ctl.start(p.cancel_peek(99), p.create_dataflow(INDEX))
    ctl.send(p.cancel_peek(98))
    ctl.wait_frontier(2, EMPTY)
    ctl.settle(0.1)
    assert not ctl.ended and ctl.of_kind("peek_response") == []


def test_bad_input_logs_one_line(connect: Callable[[], Controller], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="reference_replica")
    bad = connect().send(p.schedule(1))
    bad.wait_ended()
    lines = [r.getMessage() for r in caplog.records if "FAILED_PRECONDITION" in r.getMessage()]
    assert len(lines) == 1 and "Schedule" in lines[0]
