"""Legal but tricky behaviour: asynchrony and permissions the oracle must never flag."""

from __future__ import annotations

from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row
from tests.conformance.breakers import R1, R2, indexed, late, subscribed, viewed
from tests.conformance.histories import REPLICA_WRITER, History

BOTH = [(R1, 1), (R2, 1)]


def reported(upper: int = 5) -> History:
    """`indexed()` whose index u1 has reported all three frontiers at `upper`."""
    return indexed(upper=upper).frontiers("c1", "u1", all=upper)


def clean(h: History) -> None:
    judged = h.judged()
    assert judged == [], "\n".join(f"{v.rule}: {v.actual}" for v in judged)


# --- peeks and cancels -------------------------------------------------------------------------


def test_rows_after_cancel() -> None:
    clean(late(reported().peek("c1", 1, "u1", t=3).cancel("c1", 1).rows("c1", 1, BOTH)))


def test_explained_error_after_cancel() -> None:
    h = reported().compact("c1", "u1", 4).peek("c1", 1, "u1", t=3).cancel("c1", 1)
    clean(late(h.error("c1", 1, "below since")))


def test_canceled_after_cancel_of_a_pending_peek() -> None:
    clean(late(reported(2).peek("c1", 1, "u1", t=3).cancel("c1", 1).canceled("c1", 1)))


def test_cancel_after_the_answer_needs_nothing() -> None:
    clean(late(reported().peek("c1", 1, "u1", t=3).rows("c1", 1, BOTH).cancel("c1", 1)))


def test_double_cancel() -> None:
    clean(late(reported(2).peek("c1", 1, "u1", t=3).cancel("c1", 1).cancel("c1", 1).canceled("c1", 1)))


def test_a_peek_that_is_not_final_is_not_owed() -> None:
    clean(late(reported(2).peek("c1", 1, "u1", t=3)))


def test_peek_keeps_its_read_access_after_its_target_is_dropped() -> None:
    h = reported(2).peek("c1", 1, "u1", t=3).drop("c1", "u1").advance("a", 5)
    clean(late(h.rows("c1", 1, BOTH).frontiers("c1", "u1", all=EMPTY)))


def test_configuration_in_flight_when_the_answer_became_final() -> None:
    """Commands and storage travel on different streams: the replica may see the write that
    makes the peek final before the configuration sent ahead of it, and use the old limit."""
    h = reported(2).peek("c1", 1, "u1", t=3).config("c1", max_result_size=1).advance("a", 5)
    clean(late(h.rows("c1", 1, BOTH).frontiers("c1", "u1", all=5)))


def test_peek_with_limit_may_return_more_than_the_limit() -> None:
    h = History()
    h.connect("c1", init=True)
    h.index("c1", "u1", constant=[(R1, 0, 1), (R2, 0, 1), (row(3), 0, 1)])
    h.peek("c1", 1, "u1", t=0, finish=cmd.finishing(limit=1))
    clean(h.rows("c1", 1, BOTH))


def test_persist_peek_waits_for_the_shard_and_answers() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=2)
    h.persist_peek("c1", 1, "a", 3).advance("a", 4)
    clean(late(h.rows("c1", 1, [(R1, 1)])))


# --- reconnects ------------------------------------------------------------------------------


def test_reconnect_with_a_pending_peek_not_resent() -> None:
    h = reported(2).peek("c1", 1, "u1", t=3)
    h.connect("c2")
    h.advance("a", 5).rows("c1", 1, BOTH)  # the old stream's answer, in flight
    h.end("c1", "CANCELLED", "replaced by a newer stream")
    h.index("c2", "u1", source="a").init("c2").frontiers("c2", "u1", all=5)
    clean(late(h))


def test_reconnect_with_a_pending_peek_resent() -> None:
    h = reported(2).peek("c1", 1, "u1", t=3)
    h.connect("c2").end("c1", "OK")
    h.index("c2", "u1", source="a").peek("c2", 1, "u1", t=3).init("c2")
    h.advance("a", 5).rows("c2", 1, BOTH).frontiers("c2", "u1", all=5)
    clean(late(h))


def test_streams_racing_to_the_replica_are_not_judged() -> None:
    """Two streams open at once may reach the replica in either order; it ends the one it saw first."""
    h = History().connect("c1").connect("c2").end("c2", "OK")
    o = late(h).oracle()
    assert o.violations == [] and "may have received the streams in the other order" in o.notes[0]


def test_old_stream_reports_in_flight_after_a_new_stream_opened() -> None:
    h = indexed(upper=3).frontiers("c1", "u1", all=3)
    h.connect("c2")
    h.advance("a", 5).frontiers("c1", "u1", all=5).end("c1", "OK")
    clean(late(h))


def test_reconnect_recreates_the_same_ids_from_scratch() -> None:
    h = subscribed().init("c1").batch("c1", "u1", 0, 1, [(0, R1, 1)])
    h.connect("c2").end("c1", "OK")
    h.subscribe("c2", "u1", constant=[(R1, 0, 1)]).init("c2")
    clean(late(h.batch("c2", "u1", 0, EMPTY, [(0, R1, 1)])))


# --- frontiers -----------------------------------------------------------------------------


def test_equal_frontier_reports() -> None:
    clean(
        late(
            reported()
            .frontiers("c1", "u1", all=5)
            .frontiers("c1", "u1", all=5)
            .frontiers("c1", "u1", write=5)
        )
    )


def test_frontiers_in_flight_after_a_drop() -> None:
    h = indexed(upper=3).frontiers("c1", "u1", all=3).drop("c1", "u1")
    h.advance("a", 5).frontiers("c1", "u1", all=5).frontiers("c1", "u1", write=EMPTY)
    clean(late(h.frontiers("c1", "u1", input=EMPTY, output=EMPTY)))


def test_compaction_beyond_the_upper_changes_nothing() -> None:
    clean(late(reported().compact("c1", "u1", 100).frontiers("c1", "u1", all=5)))


def test_unscheduled_dataflows_owe_nothing() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").advance("a", 5)
    clean(late(h.index("c1", "u1", source="a", schedule=False)))


def test_until_caps_what_frontiers_must_reach() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").advance("a", 9)
    h.index("c1", "u1", source="a", until=4)
    clean(late(h.frontiers("c1", "u1", all=4)))


# --- initialization ----------------------------------------------------------------------------


def test_deferred_initialization_answers() -> None:
    h = indexed(init=False).peek("c1", 1, "u1", t=3)
    h.tick(5.0).wait("nothing is owed before InitializationComplete")
    h.init("c1").rows("c1", 1, BOTH).frontiers("c1", "u1", all=5)
    clean(late(h))


def test_answers_during_initialization() -> None:
    h = indexed(init=False).peek("c1", 1, "u1", t=3)
    h.rows("c1", 1, BOTH).frontiers("c1", "u1", all=5).init("c1")
    clean(late(h))


# --- subscribes ----------------------------------------------------------------------------


def test_final_batch_in_flight_after_a_drop() -> None:
    h = subscribed().init("c1").drop("c1", "u1")
    clean(late(h.batch("c1", "u1", 0, EMPTY, [(0, R1, 1)])))


def test_dropped_at_without_any_batch() -> None:
    clean(late(subscribed().init("c1").drop("c1", "u1").dropped_at("c1", "u1", 0)))


def test_error_batches_stay_errors() -> None:
    h = subscribed([(R1, 0, 1), ("oops", 2, 1)]).init("c1")
    h.batch("c1", "u1", 0, 2, [(0, R1, 1)]).batch("c1", "u1", 2, 3, error="oops")
    clean(late(h.batch("c1", "u1", 3, EMPTY, error="oops")))


def test_subscribe_progress_one_batch_at_a_time() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=2)
    h.subscribe("c1", "u1", source="a").batch("c1", "u1", 0, 2, [(0, R1, 1)])
    h.write("a", [(R2, 3, 1)], upper=4).batch("c1", "u1", 2, 4, [(3, R2, 1)])
    clean(late(h))


# --- sinks and storage ---------------------------------------------------------------------


def test_view_write_in_flight_after_a_drop() -> None:
    h = viewed().drop("c1", "u1")
    h.write("m", [(R1, 0, 1), (R2, 2, 1)], upper=5, writer=REPLICA_WRITER)
    clean(late(h.frontiers("c1", "u1", all=EMPTY)))


def test_copy_to_dropped_after_a_drop() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.copy_to("c1", "u1", source="a", blob_key="k").drop("c1", "u1")
    clean(late(h.copy_dropped("c1", "u1")))


def test_copy_to_waits_for_allow_writes() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.copy_to("c1", "u1", source="a", blob_key="k").tick(3.0).wait()
    h.allow_writes("c1").blob("k", [R1]).copied("c1", "u1", 1)
    clean(late(h))


def test_copy_to_into_a_blob_an_earlier_iteration_wrote() -> None:
    """Spec 16, A8: RowCount for a blob already holding the contents, or Error (the put fails)."""
    for answer in ("count", "error"):
        h = History()
        h.connect("c1", init=True).allow_writes("c1")
        h.shard("a").write("a", [(R1, 0, 1)], upper=5)
        h.copy_to("c1", "u1", source="a", blob_key="k").blob("k", [R1]).copied("c1", "u1", 1)
        h.connect("c2").end("c1", "OK")
        h.copy_to("c2", "u1", source="a", blob_key="k").init("c2").allow_writes("c2")
        clean(late(h.copied("c2", "u1", 1) if answer == "count" else h.copy_error("c2", "u1", "exists")))


def test_repeated_allow_writes_and_a_writable_replica_from_before() -> None:
    h = History().writable()
    h.connect("c1", init=True).allow_writes("c1").allow_writes("c1")
    clean(late(h))


# --- status ----------------------------------------------------------------------------------


def test_status_hydration_progress_per_worker() -> None:
    h = reported().status("c1", "u1", hydrated=False).status("c1", "u1", hydrated=True)
    clean(h.status("c1", "u1", hydrated=False, worker=1).status("c1", "u1", hydrated=True, worker=1))


# --- multi-process ---------------------------------------------------------------------------


def test_each_process_answers_with_its_share() -> None:
    h = History()
    h.connect("c1", processes=2)
    h.shard("a").write("a", [(R1, 0, 1), (R2, 2, 1)], upper=5)
    h.index("c1.p0", "u1", source="a").init("c1.p0").peek("c1.p0", 1, "u1", t=3)
    h.rows("c1.p0", 1, [(R1, 1)]).rows("c1.p1", 1, [(R2, 1)])
    h.frontiers("c1.p0", "u1", all=5).frontiers("c1.p1", "u1", all=5)
    clean(late(h))


def test_a_process_without_the_erring_share_answers_rows() -> None:
    h = History()
    h.connect("c1", processes=2)
    h.index("c1.p0", "u1", constant=[(R1, 0, 1), ("oops", 0, 1)]).init("c1.p0").peek("c1.p0", 1, "u1", t=0)
    h.error("c1.p0", 1, "oops").rows("c1.p1", 1, [])
    clean(late(h.frontiers("c1.p0", "u1", all=EMPTY).frontiers("c1.p1", "u1", all=EMPTY)))


def test_one_silent_process_is_flagged_on_its_own_stream() -> None:
    h = History()
    h.connect("c1", processes=2)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.index("c1.p0", "u1", source="a").init("c1.p0")
    h.frontiers("c1.p0", "u1", all=5)
    judged = late(h).judged()
    assert {(v.rule, v.stream) for v in judged} == {("STAGE-3", "c1.p1")}
