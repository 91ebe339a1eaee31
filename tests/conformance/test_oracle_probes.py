"""Robustness probes in the oracle (check_probes): what the breaker cases cannot show alone."""

from __future__ import annotations

from conformance.oracle.check_probes import probe_rule
from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from tests.conformance.breakers import R1, indexed
from tests.conformance.histories import REPLICA_WRITER, History


def test_a_response_about_the_probed_id_breaks_trans_5_besides_its_own_rule() -> None:
    h = indexed()
    h.send("c1", cmd.allow_compaction("u9", 3), probe="TRANS-5: AllowCompaction of an id never created")
    bad = h.frontiers("c1", "u9", all=5).verdicts()
    assert sorted(bad) == ["FRONT-2", "TRANS-5"]
    good = indexed()
    good.send("c1", cmd.allow_compaction("u9", 3), probe="TRANS-5: AllowCompaction of an id never created")
    assert good.frontiers("c1", "u1", all=5).end("c1", "CANCELLED", by_controller=True).verdicts() == []


def test_passing_probes_count_as_checks() -> None:
    h = indexed()
    h.send("c1", cmd.cancel_peek(77), probe="TRANS-5: CancelPeek of a uuid never sent")
    h.end("c1", "CANCELLED", by_controller=True)
    h.connect("c2", init=True)
    h.send("c2", cmd.create_instance(), probe="TRANS-4: a second CreateInstance")
    h.end("c2", "FAILED_PRECONDITION", "CreateInstance: repeated on this stream")
    h.connect("c3", init=True).persist_peek("c3", 9, "a", 0).rows("c3", 9, [(R1, 1)])
    o = h.oracle()
    assert o.violations == [] and o.warnings == []
    assert o.exercised["TRANS-5"] == 1  # the cancel was ignored
    assert o.exercised["TRANS-4"] == 2  # the status, then the next stream answered


def test_a_label_names_its_rule_first() -> None:
    assert probe_rule("TRANS-4: a second CreateInstance") == "TRANS-4"
    assert probe_rule("TRANS-5 unknown uuid") == "TRANS-5"
    assert probe_rule("CREATE-4: another timely config") == "CREATE-4"
    assert probe_rule("CREATE-3: another timely config") == ""
    assert probe_rule("TRANS-45") == ""


EARLY_ALLOW_WRITES = "TRANS-4 (or accepted): AllowWrites before InitializationComplete"


def _early_allow_writes() -> History:
    h = History()
    h.connect("c1").shard("a", upper=EMPTY)
    return h.send("c1", cmd.allow_writes(), probe=EARLY_ALLOW_WRITES)


def test_allow_writes_before_initialization_may_be_accepted() -> None:
    """A1: accepted, the stream serves on and the replica is writable from then on."""
    h = _early_allow_writes().init("c1").persist_peek("c1", 9, "a", 0).rows("c1", 9, [])
    h.end("c1", "CANCELLED", by_controller=True)
    o = h.oracle()
    assert o.violations == [] and o.warnings == [] and o.exercised["TRANS-4"] == 1
    assert o.ctx.replica.writable


def test_allow_writes_before_initialization_may_be_refused_and_then_has_no_effect() -> None:
    """TRANS-4: refused with a status and a message; the replica stays read-only (a later write
    is RO-1), and the next stream must still be served."""
    h = _early_allow_writes().end("c1", "FAILED_PRECONDITION", "AllowWrites: before InitializationComplete")
    h.connect("c2", init=True).persist_peek("c2", 9, "a", 0).rows("c2", 9, [])
    o = h.oracle()
    assert o.violations == [] and o.warnings == [] and o.exercised["TRANS-4"] == 2
    assert not o.ctx.replica.writable
    assert h.shard("t").write("t", [(R1, 0, 1)], upper=1, writer=REPLICA_WRITER).verdicts() == ["RO-1"]


def test_allow_writes_before_initialization_must_not_end_the_stream_otherwise() -> None:
    bad = _early_allow_writes().end("c1", "INTERNAL", "panic").verdicts()
    assert bad == ["TRANS-4"]
    died = _early_allow_writes().end("c1", "UNAVAILABLE", "")
    assert died.connect("c2").end("c2", "UNAVAILABLE", "").verdicts() == ["TRANS-4", "TRANS-4"]


def other_config(end: tuple[str, str] | None) -> History:
    """A connection with another timely config (a CREATE-4 probe), served or ended as `end` says,
    then a connection with the first config that answers a peek."""
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=2)
    h.open("c2")
    h.send("c2", cmd.create_timely(h.streams["c2"], workers=2), probe="CREATE-4: a CreateTimely with other workers")
    if end is None:  # served
        h.send("c2", cmd.create_instance()).init("c2").persist_peek("c2", 1, "a", 0).rows("c2", 1, [(R1, 1)])
        h.end("c2", "CANCELLED", by_controller=True)
    else:
        h.end("c2", *end)
    return h.connect("c3", init=True).persist_peek("c3", 2, "a", 0)


def test_another_config_may_be_served_or_refused() -> None:
    for end in (None, ("FAILED_PRECONDITION", "CreateTimely: timely config differs (CREATE-4)")):
        o = other_config(end).rows("c3", 2, [(R1, 1)]).oracle()
        assert o.violations == [] and o.warnings == [], end
        assert o.exercised["CREATE-4"] == 1


def test_a_replica_that_served_another_config_is_read_only_again() -> None:
    """Served means started afresh (spec 4): writability is gone until the next AllowWrites, so a
    later write is RO-1, and the controller no longer owes RO-2 progress to earlier writes."""
    h = History()
    h.connect("c0", init=True).send("c0", cmd.allow_writes())
    served = h.shard("a").write("a", [(R1, 0, 1)], upper=2)
    served.open("c2")
    label = "CREATE-4: a CreateTimely with other workers"
    served.send("c2", cmd.create_timely(served.streams["c2"], workers=2), probe=label)
    served.send("c2", cmd.create_instance()).init("c2").persist_peek("c2", 1, "a", 0).rows("c2", 1, [(R1, 1)])
    served.end("c2", "CANCELLED", by_controller=True)
    o = served.oracle()
    assert o.violations == [] and not o.ctx.replica.writable
    assert served.shard("t").write("t", [(R1, 0, 1)], upper=1, writer=REPLICA_WRITER).verdicts() == ["RO-1"]


def test_another_config_refused_otherwise_or_not_served_after_is_trans_4() -> None:
    crashed = other_config(("UNAVAILABLE", "the process exited")).rows("c3", 2, [(R1, 1)])
    assert crashed.verdicts() == ["TRANS-4"]
    h = other_config(("FAILED_PRECONDITION", "CreateTimely: timely config differs"))
    assert h.end("c3", "UNAVAILABLE", "connection refused").verdicts() == ["TRANS-4"]
