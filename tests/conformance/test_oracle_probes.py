"""Robustness probes in the oracle (check_probes): what the breaker cases cannot show alone."""

from __future__ import annotations

from conformance.oracle.check_probes import probe_rule
from conformance.wire import commands as cmd
from tests.conformance.breakers import R1, indexed
from tests.conformance.histories import History


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


def test_another_config_refused_otherwise_or_not_served_after_is_trans_4() -> None:
    crashed = other_config(("UNAVAILABLE", "the process exited")).rows("c3", 2, [(R1, 1)])
    assert crashed.verdicts() == ["TRANS-4"]
    h = other_config(("FAILED_PRECONDITION", "CreateTimely: timely config differs"))
    assert h.end("c3", "UNAVAILABLE", "connection refused").verdicts() == ["TRANS-4"]
