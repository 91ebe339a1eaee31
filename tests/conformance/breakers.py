"""For every rule the oracle checks: a hand-written history that breaks it, and its corrected twin.

Each case is a function `case(bad)`: with `bad=True` the history breaks exactly its rule, with
`bad=False` it differs only where the replica behaves correctly. The tests require the first
to be flagged with exactly that rule id and the second with nothing, which shows every check
both fires on bad input and stays quiet on good input.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row
from tests.conformance.histories import REPLICA_WRITER, History

Case = Callable[[bool], History]
CASES: dict[str, list[Case]] = {}

R1, R2, R3 = row(1), row(2), row(3)


def breaks(rule_id: str) -> Callable[[Case], Case]:
    def register(case: Case) -> Case:
        CASES.setdefault(rule_id, []).append(case)
        return case

    return register


def indexed(*, init: bool = True, upper: int = 5) -> History:
    """c1 with index u1 over shard a holding (1) at 0 and (2) at 2, upper [upper]."""
    h = History()
    h.connect("c1")
    h.shard("a").write("a", [(R1, 0, 1), (R2, 2, 1)], upper=upper)
    h.index("c1", "u1", source="a")
    if init:
        h.init("c1")
    return h


def late(h: History) -> History:
    """Let the patience budget (1 s) pass and record a timed-out wait."""
    return h.tick(2.0).wait()


# --- section 2: transport -------------------------------------------------------------------


@breaks("TRANS-2")
def trans_2(bad: bool) -> History:
    h = indexed()
    h.frontiers("c1", "u1", all=5)
    h.connect("c2", init=True)
    if not bad:
        h.end("c1", "OK")
    return late(h)


@breaks("TRANS-3")
def trans_3(bad: bool) -> History:
    h = indexed()
    h.frontiers("c1", "u1", all=5)
    return h.end("c1", "UNAVAILABLE", "connection reset", by_controller=not bad)


@breaks("TRANS-3")
def trans_3_not_when_the_process_is_gone(bad: bool) -> History:
    """A stream that ended because the replica died is the run's "replica died", not TRANS-3."""
    h = indexed()
    h.frontiers("c1", "u1", all=5)
    return h.end("c1", "UNAVAILABLE", "Socket closed", gone="" if bad else "replica died: exited with code 3")


@breaks("TRANS-6")
def trans_6_undecodable(bad: bool) -> History:
    h = indexed()
    if bad:
        return h.rejected("c1", "undecodable", detail="not a ProtoComputeResponse: Error parsing message")
    return h.frontiers("c1", "u1", all=5)


@breaks("TRANS-6")
def trans_6_too_many(bad: bool) -> History:
    h = indexed()
    h.frontiers("c1", "u1", all=5)
    if bad:
        h.rejected("c1", "too_many", detail="response 20001 on this stream")
    return h


# --- section 2: robustness probes (conformance.oracle.check_probes) ---------------------------


@breaks("TRANS-4")
def trans_4_wrong_status(bad: bool) -> History:
    h = indexed()
    h.send("c1", cmd.create_instance(), probe="TRANS-4: a second CreateInstance")
    return h.end("c1", "INTERNAL" if bad else "FAILED_PRECONDITION", "CreateInstance: repeated")


@breaks("TRANS-4")
def trans_4_no_message(bad: bool) -> History:
    h = indexed()
    h.send("c1", cmd.Cmd(), probe="TRANS-4: a command with no kind")
    return h.end("c1", "INVALID_ARGUMENT", "" if bad else "command: no kind set")


@breaks("TRANS-4")
def trans_4_stream_kept_open(bad: bool) -> History:
    h = indexed().frontiers("c1", "u1", all=5)
    h.send("c1", cmd.initialization_complete(), probe="TRANS-4: a second InitializationComplete")
    if not bad:
        h.end("c1", "FAILED_PRECONDITION", "InitializationComplete: repeated on this stream")
    return late(h)


@breaks("TRANS-4")
def trans_4_no_longer_served(bad: bool) -> History:
    """The process died of the probe: the next stream ends before anything is answered on it."""
    h = indexed()
    h.send("c1", cmd.create_instance(), probe="TRANS-4: a second CreateInstance")
    h.end("c1", "FAILED_PRECONDITION", "CreateInstance: repeated on this stream")
    h.connect("c2", init=True).persist_peek("c2", 9, "a", 0)
    if not bad:
        h.rows("c2", 9, [(R1, 1)])
    return h.end("c2", "UNAVAILABLE", "connection refused", by_controller=not bad)


@breaks("TRANS-5")
def trans_5_cancel_ends_stream(bad: bool) -> History:
    h = indexed()
    h.send("c1", cmd.cancel_peek(77), probe="TRANS-5: CancelPeek of a uuid never sent")
    return h.end("c1", "FAILED_PRECONDITION", "CancelPeek: unknown uuid", by_controller=not bad)


@breaks("TRANS-5")
def trans_5_wrong_status(bad: bool) -> History:
    h = indexed()
    h.send("c1", cmd.schedule("u9"), probe="TRANS-5: Schedule of an id never created")
    return h.end("c1", "INVALID_ARGUMENT" if bad else "FAILED_PRECONDITION", "Schedule: collection u9 unknown")


# --- section 3: stages ------------------------------------------------------------------------


@breaks("STAGE-1")
def stage_1(bad: bool) -> History:
    h = History()
    h.open("c1").send("c1", cmd.create_timely((1000, 1)))
    if not bad:
        h.send("c1", cmd.create_instance())
        h.index("c1", "u1", constant=[(R1, 0, 1)])
    return h.frontiers("c1", "u1", all=0)


@breaks("STAGE-3")
def stage_3(bad: bool) -> History:
    h = indexed(init=False)
    h.init("c1")
    if not bad:
        h.frontiers("c1", "u1", all=5)
    return late(h)


# --- section 5: dataflows -------------------------------------------------------------------


def viewed(*, writable: bool = True) -> History:
    """Index-free dataflow: view u1 over shard a (rows (1)@0, (2)@2, upper 5) into shard m."""
    h = History()
    h.connect("c1", init=True)
    if writable:
        h.allow_writes("c1")
    h.shard("a").write("a", [(R1, 0, 1), (R2, 2, 1)], upper=5)
    h.shard("m")
    h.view("c1", "u1", source="a", target="m")
    return h


@breaks("DF-4")
def df_4_target(bad: bool) -> History:
    h = viewed()
    shard = "a" if bad else "m"
    h.write(shard, [(R1, 0, 1), (R2, 2, 1)], upper=5, writer=REPLICA_WRITER)
    return h.frontiers("c1", "u1", all=5) if not bad else h


@breaks("DF-4")
def df_4_contents(bad: bool) -> History:
    h = viewed()
    updates = [(R1, 0, 1)] if bad else [(R1, 0, 1), (R2, 2, 1)]
    h.write("m", updates, upper=5, writer=REPLICA_WRITER)
    return h.frontiers("c1", "u1", all=5)


# --- section 6: frontiers -------------------------------------------------------------------


@breaks("FRONT-1")
def front_1(bad: bool) -> History:
    h = History()
    h.connect("c1")
    h.subscribe("c1", "u1", constant=[(R1, 0, 1)])
    if bad:
        return h.frontiers("c1", "u1", all=EMPTY)
    return h.batch("c1", "u1", 0, EMPTY, [(0, R1, 1)])


@breaks("FRONT-2")
def front_2(bad: bool) -> History:
    h = indexed(init=False)
    return h.frontiers("c1", "u7" if bad else "u1", write=3)


@breaks("FRONT-3")
def front_3(bad: bool) -> History:
    h = History()
    h.connect("c1")
    h.shard("a").advance("a", 5)
    h.index("c1", "u1", source="a", as_of=3)
    return h.frontiers("c1", "u1", write=2 if bad else 3)


@breaks("FRONT-4")
def front_4(bad: bool) -> History:
    h = indexed(init=False)
    h.frontiers("c1", "u1", write=4)
    return h.frontiers("c1", "u1", write=3 if bad else 4)


@breaks("FRONT-5")
def front_5(bad: bool) -> History:
    h = History()
    h.connect("c1")
    h.index("c1", "u1", constant=[(R1, 0, 1)])
    h.frontiers("c1", "u1", write=EMPTY)
    return h.frontiers("c1", "u1", write=EMPTY) if bad else h.frontiers("c1", "u1", input=EMPTY)


@breaks("FRONT-6")
def front_6(bad: bool) -> History:
    h = indexed()
    h.frontiers("c1", "u1", all=5)
    h.drop("c1", "u1")
    if not bad:
        h.frontiers("c1", "u1", all=EMPTY)
    return late(h)


@breaks("FRONT-7")
def front_7(bad: bool) -> History:
    h = History()
    h.connect("c1")
    h.index("c1", "u1", constant=[(R1, 0, 1)])
    h.frontiers("c1", "u1", write=EMPTY, input=EMPTY)
    h.frontiers("c1", "u1", output=EMPTY)
    return h.frontiers("c1", "u1", output=EMPTY) if bad else h


@breaks("FRONT-8")
def front_8(bad: bool) -> History:
    h = indexed(init=False)
    return h.frontiers("c1", "u1") if bad else h.frontiers("c1", "u1", write=0)


@breaks("FRONT-9")
def front_9(bad: bool) -> History:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.index("c1", "u1", source="a")
    h.frontiers("c1", "u1", write=5, input=5, output=4 if bad else 5)
    return late(h)


@breaks("FRONT-10")
def front_10(bad: bool) -> History:
    h = indexed(init=False)
    return h.frontiers("c1", "u1", write=7 if bad else 5)


# --- section 8: peeks -----------------------------------------------------------------------


@breaks("PEEK-1")
def peek_1(bad: bool) -> History:
    h = indexed().peek("c1", 1, "u1", t=3)
    h.rows("c1", 1, [(R1, 1), (R2, 1)])
    return h.rows("c1", 1, [(R1, 1), (R2, 1)]) if bad else h


@breaks("PEEK-2")
def peek_2(bad: bool) -> History:
    h = indexed().peek("c1", 1, "u1", t=3)
    h.frontiers("c1", "u1", all=5)
    if not bad:
        h.rows("c1", 1, [(R1, 1), (R2, 1)])
    return late(h)


@breaks("PEEK-3")
def peek_3(bad: bool) -> History:
    h = indexed().peek("c1", 1, "u1", t=3)
    return h.rows("c1", 9 if bad else 1, [(R1, 1), (R2, 1)])


@breaks("PEEK-4")
def peek_4(bad: bool) -> History:
    h = indexed().peek("c1", 1, "u1", t=3)
    if not bad:
        h.cancel("c1", 1)
    return h.canceled("c1", 1)


@breaks("PEEK-6")
def peek_6(bad: bool) -> History:
    h = indexed().peek("c1", 1, "u1", t=7)
    if not bad:
        h.advance("a", 8)
    return h.rows("c1", 1, [(R1, 1), (R2, 1)])


@breaks("PEEK-7")
def peek_7(bad: bool) -> History:
    h = indexed().peek("c1", 1, "u1", t=3)
    return h.rows("c1", 1, [(R1, 1), (R2, 2 if bad else 1)])


@breaks("PEEK-7")
def peek_7_merged_over_processes(bad: bool) -> History:
    h = History()
    h.connect("c1", processes=2)
    h.shard("a").write("a", [(R1, 0, 1), (R2, 2, 1)], upper=5)
    h.index("c1.p0", "u1", source="a").init("c1.p0").peek("c1.p0", 1, "u1", t=3)
    h.rows("c1.p0", 1, [(R1, 1)]).rows("c1.p1", 1, [] if bad else [(R2, 1)])
    return h.frontiers("c1.p0", "u1", all=5).frontiers("c1.p1", "u1", all=5)


@breaks("PEEK-10")
def peek_10_merged_over_processes(bad: bool) -> History:
    h = History()
    h.connect("c1", processes=2)
    h.index("c1.p0", "u1", constant=[(R1, 0, 1), ("oops", 0, 1)]).init("c1.p0").peek("c1.p0", 1, "u1", t=0)
    if bad:
        h.rows("c1.p0", 1, [(R1, 1)])
    else:
        h.error("c1.p0", 1, "oops")
    h.rows("c1.p1", 1, [])
    return h.frontiers("c1.p0", "u1", all=EMPTY).frontiers("c1.p1", "u1", all=EMPTY)


@breaks("PEEK-8")
def peek_8(bad: bool) -> History:
    h = History()
    h.connect("c1", init=True)
    h.index("c1", "u1", constant=[(R1, 0, 1), (R2, 0, 1), (R3, 0, 1)])
    h.peek("c1", 1, "u1", t=0, finish=cmd.finishing(limit=2, order_by=[(0, False, False)]))
    return h.rows("c1", 1, [(R1, 1)] if bad else [(R1, 1), (R2, 1)])


@breaks("PEEK-9")
def peek_9(bad: bool) -> History:
    h = indexed().compact("c1", "u1", 4).peek("c1", 1, "u1", t=3)
    return h.rows("c1", 1, [(R1, 1), (R2, 1)]) if bad else h.error("c1", 1, "below since")


@breaks("PEEK-10")
def peek_10(bad: bool) -> History:
    h = History()
    h.connect("c1", init=True)
    h.index("c1", "u1", constant=[(R1, 0, 1), ("division by zero", 0, 1)])
    h.peek("c1", 1, "u1", t=0)
    return h.rows("c1", 1, [(R1, 1)]) if bad else h.error("c1", 1, "division by zero")


@breaks("PEEK-11")
def peek_11(bad: bool) -> History:
    h = indexed().peek("c1", 1, "u1", t=3)
    return h.error("c1", 1, "spurious") if bad else h.rows("c1", 1, [(R1, 1), (R2, 1)])


@breaks("PEEK-12")
def peek_12(bad: bool) -> History:
    h = indexed().config("c1", max_result_size=1).peek("c1", 1, "u1", t=3)
    return h.rows("c1", 1, [(R1, 1), (R2, 1)]) if bad else h.error("c1", 1, "result exceeds max size")


@breaks("PEEK-13")
def peek_13(bad: bool) -> History:
    h = indexed(upper=3).peek("c1", 1, "u1", t=3)
    h.compact("c1", "u1", 5).advance("a", 6)
    return h.error("c1", 1, "compacted") if bad else h.rows("c1", 1, [(R1, 1), (R2, 1)])


# --- section 9: subscribes ------------------------------------------------------------------


def subscribed(constant: list[tuple[object, int, int]] | None = None, **kw: object) -> History:
    h = History()
    h.connect("c1")
    h.subscribe("c1", "u1", constant=constant if constant is not None else [(R1, 0, 1)], **kw)
    return h


@breaks("SUB-1")
def sub_1(bad: bool) -> History:
    return subscribed().batch("c1", "u1", 2 if bad else 0, EMPTY, [] if bad else [(0, R1, 1)])


@breaks("SUB-2")
def sub_2(bad: bool) -> History:
    h = subscribed().batch("c1", "u1", 0, 1, [(0, R1, 1)])
    return h.batch("c1", "u1", 1, 1 if bad else 2)


@breaks("SUB-3")
def sub_3(bad: bool) -> History:
    h = subscribed([(R1, 3, 1)], as_of=3)
    return h.batch("c1", "u1", 0, 2) if bad else h.batch("c1", "u1", 0, 3)


@breaks("SUB-4")
def sub_4(bad: bool) -> History:
    h = subscribed([(R1, 2, 1)])
    return h.batch("c1", "u1", 0, 3, [(5 if bad else 2, R1, 1)])


@breaks("SUB-5")
def sub_5(bad: bool) -> History:
    h = subscribed([(R1, 0, 2)])
    return h.batch("c1", "u1", 0, 1, [(0, R1, 1), (0, R1, 1)] if bad else [(0, R1, 2)])


@breaks("SUB-6")
def sub_6(bad: bool) -> History:
    h = subscribed([(R1, 0, 1), (R2, 2, 1)])
    h.batch("c1", "u1", 0, 2, [(0, R1, 1)])
    return h.batch("c1", "u1", 2, 4, [(2, R3 if bad else R2, 1)])


@breaks("SUB-6")
def sub_6_without_snapshot(bad: bool) -> History:
    h = subscribed([(R1, 0, 1), (R2, 2, 1)], with_snapshot=False)
    return h.batch("c1", "u1", 0, 4, [(0, R1, 1), (2, R2, 1)] if bad else [(2, R2, 1)])


@breaks("SUB-6")
def sub_6_beyond_inputs(bad: bool) -> History:
    h = History()
    h.connect("c1")
    h.shard("a").write("a", [(R1, 0, 1)], upper=3)
    h.subscribe("c1", "u1", source="a")
    return h.batch("c1", "u1", 0, 5 if bad else 3, [(0, R1, 1)])


@breaks("SUB-6")
def sub_6_up_to(bad: bool) -> History:
    h = subscribed([(R1, 0, 1), (R2, 4, 1)], up_to=3)
    return h.batch("c1", "u1", 0, EMPTY, [(0, R1, 1), (4, R2, 1)] if bad else [(0, R1, 1)])


@breaks("SUB-7")
def sub_7(bad: bool) -> History:
    h = subscribed([(R1, 0, 1), ("division by zero", 1, 1)])
    h.batch("c1", "u1", 0, 1, [(0, R1, 1)])
    return h.batch("c1", "u1", 1, 2, []) if bad else h.batch("c1", "u1", 1, 2, error="division by zero")


@breaks("SUB-7")
def sub_7_unexplained_error(bad: bool) -> History:
    h = subscribed([(R1, 0, 1)])
    return h.batch("c1", "u1", 0, 1, error="spurious") if bad else h.batch("c1", "u1", 0, 1, [(0, R1, 1)])


@breaks("SUB-8")
def sub_8(bad: bool) -> History:
    h = subscribed([(R1, 0, 1)]).config("c1", max_result_size=1)
    h.batch("c1", "u1", 0, 1, error="result exceeds max size")
    h.config("c1", max_result_size=1 << 40)
    return (
        h.batch("c1", "u1", 1, 2, []) if bad else h.batch("c1", "u1", 1, 2, error="result exceeds max size")
    )


@breaks("SUB-9")
def sub_9(bad: bool) -> History:
    h = History()
    h.connect("c1").config("c1", max_result_size=1)
    h.subscribe("c1", "u1", constant=[(R1, 0, 1)])
    return h.batch("c1", "u1", 0, 1, [(0, R1, 1)]) if bad else h.batch("c1", "u1", 0, 1, error="too large")


@breaks("SUB-10")
def sub_10(bad: bool) -> History:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.subscribe("c1", "u1", source="a")
    h.batch("c1", "u1", 0, 3 if bad else 5, [(0, R1, 1)])
    return late(h)


@breaks("SUB-11")
def sub_11(bad: bool) -> History:
    h = subscribed().batch("c1", "u1", 0, EMPTY, [(0, R1, 1)])
    return h.batch("c1", "u1", EMPTY, EMPTY) if bad else h


@breaks("SUB-12")
def sub_12_no_drop(bad: bool) -> History:
    h = subscribed().batch("c1", "u1", 0, 1, [(0, R1, 1)])
    if not bad:
        h.drop("c1", "u1")
    return h.dropped_at("c1", "u1", 1)


@breaks("SUB-12")
def sub_12_frontier(bad: bool) -> History:
    h = subscribed().batch("c1", "u1", 0, 1, [(0, R1, 1)]).drop("c1", "u1")
    return h.dropped_at("c1", "u1", 0 if bad else 1)


@breaks("SUB-13")
def sub_13(bad: bool) -> History:
    h = subscribed().init("c1").batch("c1", "u1", 0, 1, [(0, R1, 1)])
    h.drop("c1", "u1")
    if not bad:
        h.dropped_at("c1", "u1", 1)
    return late(h)


@breaks("SUB-14")
def sub_14(bad: bool) -> History:
    h = subscribed()
    h.index("c1", "u2", constant=[(R1, 0, 1)])
    return h.batch("c1", "u2" if bad else "u1", 0, EMPTY, [(0, R1, 1)])


# --- section 10: copy-to --------------------------------------------------------------------


def copying(*, writable: bool = True) -> History:
    h = History()
    h.connect("c1", init=True)
    if writable:
        h.allow_writes("c1")
    h.shard("a").write("a", [(R1, 0, 1), (R2, 0, 2)], upper=5)
    h.copy_to("c1", "u1", source="a", as_of=3, blob_key="out/1")
    return h


@breaks("COPY-1")
def copy_1(bad: bool) -> History:
    h = copying().blob("out/1", [R1, R2, R2]).copied("c1", "u1", 3)
    return h.copied("c1", "u1", 3) if bad else h


@breaks("COPY-2")
def copy_2(bad: bool) -> History:
    h = copying().blob("out/1", [R1, R2, R2])
    return h.copied("c1", "u7" if bad else "u1", 3)


@breaks("COPY-3")
def copy_3(bad: bool) -> History:
    h = copying()
    if not bad:
        h.blob("out/1", [R1, R2, R2]).copied("c1", "u1", 3)
    return late(h)


@breaks("COPY-4")
def copy_4_no_blob(bad: bool) -> History:
    h = copying()
    if not bad:
        h.blob("out/1", [R1, R2, R2])
    return h.copied("c1", "u1", 3)


@breaks("COPY-4")
def copy_4_count(bad: bool) -> History:
    return copying().blob("out/1", [R1, R2, R2]).copied("c1", "u1", 2 if bad else 3)


@breaks("COPY-4")
def copy_4_error(bad: bool) -> History:
    h = copying()
    return (
        h.copy_error("c1", "u1", "spurious") if bad else h.blob("out/1", [R1, R2, R2]).copied("c1", "u1", 3)
    )


@breaks("COPY-4")
def copy_4_dropped(bad: bool) -> History:
    h = copying()
    if not bad:
        h.drop("c1", "u1")
    return h.copy_dropped("c1", "u1")


# --- section 11: status ---------------------------------------------------------------------


@breaks("STATUS-1")
def status_1(bad: bool) -> History:
    return indexed().status("c1", "u7" if bad else "u1")


@breaks("STATUS-1")
def status_1_object(bad: bool) -> History:
    """An object a dataflow builds (t1) is no collection: only exports have a status."""
    return indexed().status("c1", "t1" if bad else "u1")


@breaks("STATUS-1")
def status_1_finished(bad: bool) -> History:
    h = History()
    h.connect("c1")
    h.index("c1", "u1", constant=[(R1, 0, 1)])
    h.frontiers("c1", "u1", write=EMPTY, input=EMPTY)
    if bad:
        h.frontiers("c1", "u1", output=EMPTY)
    return h.status("c1", "u1")


@breaks("STATUS-3")
def status_3(bad: bool) -> History:
    h = indexed().status("c1", "u1", hydrated=True)
    return h.status("c1", "u1", hydrated=not bad)


# --- section 12: configuration --------------------------------------------------------------


@breaks("CONFIG-1")
def config_1(bad: bool) -> History:
    h = indexed(upper=2).peek("c1", 1, "u1", t=3).config("c1", max_result_size=1)
    # The answer to a later peek proves the replica processed the configuration before the
    # write that makes peek 1 final: from then on only the new limit can apply.
    h.peek("c1", 2, "u1", t=1).error("c1", 2, "result exceeds max size").advance("a", 5)
    return h.rows("c1", 1, [(R1, 1), (R2, 1)]) if bad else h.error("c1", 1, "result exceeds max size")


@breaks("CONFIG-2")
def config_2(bad: bool) -> History:
    h = indexed().config("c1", max_result_size=1).config("c1", dyncfg={"k": "v"})
    h.peek("c1", 1, "u1", t=3)
    return h.rows("c1", 1, [(R1, 1), (R2, 1)]) if bad else h.error("c1", 1, "result exceeds max size")


# --- section 13: read-only mode -------------------------------------------------------------


@breaks("RO-1")
def ro_1(bad: bool) -> History:
    h = viewed(writable=False)
    if not bad:
        h.allow_writes("c1")
    h.write("m", [(R1, 0, 1), (R2, 2, 1)], upper=5, writer=REPLICA_WRITER)
    return h.frontiers("c1", "u1", all=5)


@breaks("RO-2")
def ro_2(bad: bool) -> History:
    h = History()
    h.connect("c1", init=True).allow_writes("c1")
    h.connect("c2", init=True).end("c1", "OK")
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.shard("m")
    h.view("c2", "u1", source="a", target="m")
    h.frontiers("c2", "u1", input=5, output=5)
    if not bad:
        h.write("m", [(R1, 0, 1)], upper=5, writer=REPLICA_WRITER).frontiers("c2", "u1", write=5)
    return late(h)


@breaks("RO-3")
def ro_3(bad: bool) -> History:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.shard("m").write("m", [(R1, 0, 1)], upper=3)
    h.view("c1", "u1", source="a", target="m")
    h.frontiers("c1", "u1", input=5, output=5, write=2 if bad else 3)
    return late(h)


# --- section 14: reconciliation -------------------------------------------------------------


@breaks("RECON-1")
def recon_1(bad: bool) -> History:
    h = indexed().frontiers("c1", "u1", all=5)
    h.connect("c2").end("c1", "OK")
    if not bad:
        h.index("c2", "u1", source="a")
    return h.frontiers("c2", "u1", all=5)


@breaks("RECON-2")
def recon_2(bad: bool) -> History:
    h = indexed(upper=2).peek("c1", 1, "u1", t=3)
    h.connect("c2").end("c1", "OK")
    h.index("c2", "u1", source="a")
    if not bad:
        h.peek("c2", 1, "u1", t=3)
    h.init("c2").advance("a", 5)
    return h.rows("c2", 1, [(R1, 1), (R2, 1)])


@breaks("RECON-3")
def recon_3(bad: bool) -> History:
    h = indexed().frontiers("c1", "u1", all=5)
    h.connect("c2").end("c1", "OK")
    h.index("c2", "u1", source="a", as_of=3).init("c2")
    if not bad:
        h.frontiers("c2", "u1", all=5)
    return late(h)
