"""Robustness probes in the oracle (check_probes): what the breaker cases cannot show alone."""

from __future__ import annotations

from conformance.oracle.check_probes import probe_rule
from conformance.wire import commands as cmd
from tests.conformance.breakers import R1, indexed


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
    assert probe_rule("CREATE-4: another timely config") == ""
    assert probe_rule("TRANS-45") == ""
