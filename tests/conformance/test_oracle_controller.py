"""CTRL rules: the suite refuses to send a command that breaks one (a suite bug, not a verdict)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.history import StreamOpen
from conformance.oracle import ControllerError, Oracle
from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row
from tests.conformance.breakers import R1, indexed, viewed
from tests.conformance.histories import STORAGE, History


def refused(h: History, command: cmd.Cmd, stream: str = "c1") -> ControllerError:
    """`command` after `h` is refused, both by `precheck` and when consumed from a history."""
    o = h.oracle()
    with pytest.raises(ControllerError) as live:
        o.precheck(stream, command)
    h.send(stream, command)
    with pytest.raises(ControllerError) as offline:
        Oracle().consume_all(h.events)
    assert live.value.rule == offline.value.rule
    return live.value


def accepted(h: History, command: cmd.Cmd, stream: str = "c1") -> None:
    h.oracle().precheck(stream, command)


def opened() -> History:
    return History().open("c1")


CASES: list[tuple[str, Callable[[], History], cmd.Cmd]] = [
    ("STAGE-4", opened, cmd.create_instance()),
    ("STAGE-4", lambda: History().connect("c1"), cmd.create_timely((1000, 1))),
    ("STAGE-4", lambda: History().connect("c1"), cmd.create_instance()),
    ("STAGE-4", lambda: History().connect("c1", init=True), cmd.initialization_complete()),
    ("STAGE-4", lambda: opened().send("c1", cmd.create_timely((1000, 1))), cmd.schedule("u1")),
    ("RO-4", lambda: History().connect("c1"), cmd.allow_writes()),
    ("CREATE-1", opened, cmd.create_timely((1000, 7))),
    ("DF-3", lambda: History().connect("c1"), cmd.schedule("u1")),
    ("COMPACT-1", lambda: indexed().compact("c1", "u1", 4), cmd.allow_compaction("u1", 3)),
    ("COMPACT-1", lambda: indexed().drop("c1", "u1"), cmd.drop("u1")),
    ("COMPACT-1", lambda: viewed(), cmd.allow_compaction("u1", 3)),
    ("COMPACT-1", lambda: History().connect("c1"), cmd.drop("u9")),
    ("STAGE-5", lambda: History().connect("c1"), cmd.peek(1, "u1", 0, arity=1)),
    ("STAGE-5", lambda: indexed().peek("c1", 1, "u1", t=3), cmd.peek(1, "u1", 4, arity=1)),
    ("STAGE-5", lambda: indexed(), cmd.peek(1, "u1", 3, arity=1, key=[row(1, 2)])),
    (
        "DF-1",
        lambda: History().connect("c1").index("c1", "u1", constant=[], as_of=4),
        cmd.peek(1, "u1", 3, arity=1),
    ),
    ("TRANS-5", lambda: History().connect("c1"), cmd.cancel_peek(5)),
    ("DF-1", lambda: History().connect("c1"), cmd.create_dataflow(cmd.dataflow(as_of=EMPTY))),
    (
        "DF-1",
        lambda: History().connect("c1"),
        cmd.create_dataflow(cmd.dataflow(as_of=3, until=3, objects=[cmd.build("t1", cmd.constant(1, []))])),
    ),
    (
        "DF-1",
        lambda: History().connect("c1"),
        cmd.create_dataflow(cmd.dataflow(as_of=0, objects=[cmd.build("t1", cmd.get("u5"))])),
    ),
    (
        "DF-1",
        lambda: indexed(),
        cmd.create_dataflow(
            cmd.dataflow(
                as_of=0,
                objects=[cmd.build("t2", cmd.constant(1, []))],
                indexes=[cmd.index_export("u1", "t2", [0])],
            )
        ),
    ),
    (
        "DF-1",
        lambda: History().connect("c1"),
        cmd.create_dataflow(cmd.dataflow(as_of=0, index_imports=[cmd.index_import("u4", ["int64"], [0])])),
    ),
    (
        "DF-1",
        lambda: History().connect("c1").shard("a", since=5),
        cmd.create_dataflow(
            cmd.dataflow(as_of=2, sources=[cmd.source("u9", "a", storage_address=STORAGE, columns=["int64"])])
        ),
    ),
    (
        "DF-1",
        lambda: viewed(),
        cmd.create_dataflow(
            cmd.dataflow(
                as_of=0,
                objects=[cmd.build("t7", cmd.constant(1, []))],
                sinks=[cmd.mv_sink("u7", "t7", ["int64"], shard_id="m", storage_address=STORAGE)],
            )
        ),
    ),
    ("MULTI-1", lambda: History().connect("c1", processes=2), cmd.schedule("u1")),
]


@pytest.mark.parametrize(
    ("rule_id", "prefix", "command"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_controller_rule_breaches_are_refused(
    rule_id: str, prefix: Callable[[], History], command: cmd.Cmd
) -> None:
    stream = "c1.p1" if rule_id == "MULTI-1" else "c1"
    assert refused(prefix(), command, stream).rule == rule_id


def test_refusal_names_the_stream_and_the_problem() -> None:
    err = refused(indexed().compact("c1", "u1", 4), cmd.allow_compaction("u1", 3))
    assert err.stream == "c1" and "[4]" in str(err) and "[3]" in str(err)


def test_logging_config_must_be_empty() -> None:
    bad = cmd.create_instance()
    bad.create_instance.logging.enable_logging = True
    assert refused(opened().send("c1", cmd.create_timely((1000, 1))), bad).rule == "CREATE-3"


def test_same_timely_config_on_every_connection() -> None:
    h = History().connect("c1").end("c1", "OK", by_controller=True).open("c2")
    assert refused(h, cmd.create_timely((1000, 2), workers=4), "c2").rule == "CREATE-3"
    accepted(
        History().connect("c1").end("c1", "OK", by_controller=True).open("c2"),
        cmd.create_timely((1000, 2)),
        "c2",
    )


def test_epochs_only_grow() -> None:
    h = History().connect("c1")
    h.add(StreamOpen(stream="c0", epoch=(999, 9), address="x"))
    with pytest.raises(ControllerError) as err:
        Oracle().consume_all(h.events)
    assert err.value.rule == "CREATE-1"


def test_nothing_is_sent_on_an_ended_or_replaced_stream() -> None:
    assert refused(indexed().end("c1", "OK", by_controller=True), cmd.schedule("u1")).rule == "TRANS-1"
    assert refused(indexed().connect("c2"), cmd.schedule("u1")).rule == "TRANS-1"


def test_replay_never_lowers_an_as_of() -> None:
    h = (
        History()
        .connect("c1")
        .index("c1", "u1", constant=[(R1, 3, 1)], as_of=3)
        .connect("c2")
        .end("c1", "OK")
    )
    lowered = cmd.create_dataflow(
        cmd.dataflow(
            as_of=2,
            objects=[cmd.build("t1", cmd.constant(1, []))],
            indexes=[cmd.index_export("u1", "t1", [0])],
        )
    )
    assert refused(h, lowered, "c2").rule == "RECON-4"


def test_legal_edge_cases_are_accepted() -> None:
    """Compaction beyond the upper, a second AllowWrites, a peek below its since, a double cancel."""
    h = indexed().compact("c1", "u1", 100)
    accepted(h, cmd.peek(1, "u1", 3, arity=1))
    h.allow_writes("c1")
    accepted(h, cmd.allow_writes())
    h.peek("c1", 1, "u1", t=3).cancel("c1", 1)
    accepted(h, cmd.cancel_peek(1))
    accepted(h, cmd.drop("u1"))


def test_probes_skip_the_check_and_suspend_trans_3() -> None:
    h = History().connect("c1").send("c1", cmd.cancel_peek(77), probe="TRANS-5: cancel an unknown uuid")
    h.end("c1", "FAILED_PRECONDITION", "unknown uuid")
    assert h.verdicts() == ["TRANS-5"]  # judged as the probe's rule (a CancelPeek is ignored), not TRANS-3
    h = History().connect("c1").send("c1", cmd.schedule("u77"), probe="TRANS-5: schedule an unknown id")
    assert h.end("c1", "FAILED_PRECONDITION", "unknown id").verdicts() == []


def test_a_probe_the_model_cannot_hold_is_noted_not_fatal() -> None:
    bad_plan = cmd.create_dataflow(
        cmd.dataflow(
            as_of=0, objects=[cmd.build("t1", cmd.get("u77"))], indexes=[cmd.index_export("u1", "t1", [0])]
        )
    )
    h = History().connect("c1").send("c1", bad_plan, probe="TRANS-4: Get of an unknown id")
    o = h.oracle()
    assert o.violations == [] and "not modelled" in o.notes[0]
