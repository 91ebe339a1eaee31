"""What upstream's replica does at the pinned commit, event by event: the oracle accepts it.

Each history below is what Materialize's replica at `63dc09f1c1` sends in a situation where a
stricter reading of the protocol would flag it (docs/upstream.md, U1..U10, names the code).
Every case is written twice where the spec admits two behaviours: upstream's, and the
reference replica's; both must pass. The one upstream behaviour the spec declares a deviation
(section 17: a read-only view's output frontier, U4) is checked to be flagged, with the rule
that says so, and to be declared.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from conformance.cli import check
from conformance.history import HistoryWriter
from conformance.model.build import col, div, lit, mfp
from conformance.wire import commands as cmd
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row
from tests.conformance.breakers import R1, R2, indexed, late
from tests.conformance.histories import REPLICA_WRITER, STORAGE, History

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"


def clean(h: History) -> None:
    judged = h.judged()
    assert judged == [], "\n".join(f"{v.rule}: {v.subject}: {v.actual}" for v in judged)


# --- U1: no progress reported before the inputs pass as_of (FRONT-12) ---------------------------


def early(*, reports: bool) -> History:
    """Index u1 and subscribe u2, as_of [5], over shard a whose upper is still [5]."""
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.index("c1", "u1", source="a", as_of=5)
    h.subscribe("c1", "u2", source="a", as_of=5)
    if reports:  # the reference replica's way: as_of at once
        h.frontiers("c1", "u1", all=5).batch("c1", "u2", 0, 5)
    return late(h)


def test_silence_while_the_input_upper_is_at_as_of() -> None:
    clean(early(reports=False))


def test_reports_at_as_of_while_the_input_upper_is_at_as_of() -> None:
    clean(early(reports=True))


def test_progress_is_owed_once_the_inputs_pass_as_of() -> None:
    h = early(reports=False).advance("a", 7)
    assert set(late(h).verdicts()) == {"FRONT-9", "SUB-10"}
    h = early(reports=False).advance("a", 7)
    h.frontiers("c1", "u1", all=7).batch("c1", "u2", 0, 7, [(5, R1, 1)])
    clean(late(h))


# --- U2: an index peek evaluates its MFP on every arranged row (PEEK-14) --------------------------


def mfp_peek(answer: str) -> History:
    """Index u1 holds (2) from time 0 and (0) only from time 4; a peek at 1 divides 12 by col 0."""
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R2, 0, 1), (row(0), 4, 1)], upper=6)
    h.index("c1", "u1", source="a").frontiers("c1", "u1", all=6)
    divide = mfp(1, expressions=[div(lit(12), col(0))], projection=[0, 1])
    h.peek("c1", 1, "u1", t=1, mfp=divide)
    return h.error("c1", 1, "division by zero") if answer == "error" else h.rows("c1", 1, [(row(2, 6), 1)])


def test_mfp_error_on_a_row_of_a_later_time() -> None:
    clean(mfp_peek("error"))


def test_rows_when_the_erring_row_is_not_there_at_t() -> None:
    clean(mfp_peek("rows"))


def test_an_mfp_error_on_no_row_at_any_time_is_still_unexplained() -> None:
    h = indexed().frontiers("c1", "u1", all=5)
    h.peek("c1", 1, "u1", t=3, mfp=mfp(1, expressions=[div(lit(12), col(0))], projection=[0, 1]))
    assert h.error("c1", 1, "division by zero").verdicts() == ["PEEK-11"]


# --- U3: a subscribe without snapshot leaves out errors held at as_of (SUB-15) -----------------------


def no_snapshot(errors_at: int) -> History:
    h = History()
    h.connect("c1", init=True)
    h.subscribe("c1", "u1", constant=[(R1, 0, 1), ("oops", errors_at, 1), (R2, 2, 1)], with_snapshot=False)
    return h


def test_subscribe_without_snapshot_over_errors_held_at_as_of() -> None:
    clean(late(no_snapshot(0).batch("c1", "u1", 0, EMPTY, [(2, R2, 1)])))  # upstream
    clean(late(no_snapshot(0).batch("c1", "u1", 0, EMPTY, error="oops")))  # the reference replica


def test_errors_that_arrive_after_as_of_still_need_an_error_batch() -> None:
    h = no_snapshot(1).batch("c1", "u1", 0, EMPTY, [(2, R2, 1)])
    assert late(h).verdicts() == ["SUB-7"]


# --- U4: a read-only view's output frontier stalls with the target shard (declared) --------------


def test_read_only_view_output_stalled_at_the_shard_is_a_declared_deviation() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.shard("m").write("m", [(R1, 0, 1)], upper=3)
    h.view("c1", "u1", source="a", target="m")
    h.frontiers("c1", "u1", input=5, output=3, write=3)  # output = meet(write, progress)
    assert late(h).verdicts() == ["FRONT-9"]  # the output kind follows the inputs (RO-3 defers to FRONT-9)
    seventeen = SPEC.read_text(encoding="utf-8").split("## 17.")[1]
    assert "output frontier" in seventeen and "(upstream.md#u4)" in seventeen


# --- U5: a dataflow stops at its until, and its importers follow it to [] (FRONT-13) ---------------


def until_imported(*, follow: bool) -> History:
    """Index u1 over shard a with until [4]; index u2 imports it. Shard a's upper passes 4."""
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1), (R2, 2, 1), (row(3), 5, 1)], upper=6)
    h.index("c1", "u1", source="a", until=4)
    imported = cmd.dataflow(
        as_of=0,
        index_imports=[cmd.index_import("u1", ["int64"], [0])],
        objects=[cmd.build("t2", cmd.get("u1"))],
        indexes=[cmd.index_export("u2", "t2", [0])],
    )
    h.send("c1", cmd.create_dataflow(imported)).schedule("c1", "u2")
    frontier = EMPTY if follow else 6
    h.frontiers("c1", "u1", all=frontier).frontiers("c1", "u2", all=frontier)
    h.peek("c1", 1, "u2", t=20)
    if follow:  # upstream: everything is final, the peek is answered at once
        h.rows("c1", 1, [(R1, 1), (R2, 1)])
    return late(h)


def test_importer_follows_an_until_index_to_empty() -> None:
    clean(until_imported(follow=True))


def test_importer_follows_the_shard_past_until() -> None:
    clean(until_imported(follow=False))


# --- U6: configuration survives a reconnect (CONFIG-3) -------------------------------------------


def reconnected(answer: str) -> History:
    h = indexed().config("c1", max_result_size=1).frontiers("c1", "u1", all=5)
    h.connect("c2").end("c1", "OK")
    h.index("c2", "u1", source="a").init("c2").peek("c2", 1, "u1", t=3)
    h.frontiers("c2", "u1", all=5)
    return h.error("c2", 1, "result exceeds max size") if answer == "error" else h.rows("c2", 1, [(R1, 1), (R2, 1)])


def test_limit_of_an_earlier_connection_still_in_effect() -> None:
    clean(late(reconnected("error")))  # upstream: the compute state survives reconciliation


def test_limit_back_to_the_default_on_a_new_connection() -> None:
    clean(late(reconnected("rows")))


def test_a_limit_the_new_connection_lifted_is_lifted() -> None:
    h = indexed().config("c1", max_result_size=1).frontiers("c1", "u1", all=5)
    h.connect("c2").end("c1", "OK").config("c2", max_result_size=1 << 40)
    h.index("c2", "u1", source="a").init("c2").peek("c2", 1, "u1", t=3).frontiers("c2", "u1", all=5)
    assert late(h.error("c2", 1, "result exceeds max size")).verdicts() == ["PEEK-11"]


# --- U7: a persist peek with a limit stops after offset + limit rows (PEEK-15, PEEK-16) -----------


def limited_persist_peek(answer: str) -> History:
    """Shard a holds (0), (2), (3); the peek divides 12 by col 0 and wants one row."""
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(row(0), 0, 1), (R2, 0, 1), (row(3), 0, 1)], upper=2)
    peek = cmd.persist_peek(
        1,
        h.source("a"),
        "a",
        1,
        storage_address=STORAGE,
        columns=["int64"],
        mfp=mfp(1, expressions=[div(lit(12), col(0))], projection=[0, 1]),
        finish=cmd.finishing(limit=1),
    )
    h.send("c1", peek)
    if answer == "error":
        return h.error("c1", 1, "division by zero")
    return h.rows("c1", 1, [(row(2, 6), 1)])


def test_persist_peek_that_stops_before_the_erring_row() -> None:
    clean(limited_persist_peek("rows"))


def test_persist_peek_that_reads_the_erring_row() -> None:
    clean(limited_persist_peek("error"))


def test_persist_peek_without_enough_good_rows_must_error() -> None:
    h2 = History()
    h2.connect("c1", init=True)
    h2.shard("a").write("a", [(row(0), 0, 1)], upper=2)
    lone = cmd.persist_peek(
        1,
        h2.source("a"),
        "a",
        1,
        storage_address=STORAGE,
        columns=["int64"],
        mfp=mfp(1, expressions=[div(lit(12), col(0))], projection=[0, 1]),
        finish=cmd.finishing(limit=1),
    )
    assert h2.send("c1", lone).rows("c1", 1, []).verdicts() == ["PEEK-10"]


# --- U8: a copy-to writes while read-only (RO-5) -------------------------------------------------


def test_copy_to_written_and_answered_while_read_only() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.copy_to("c1", "u1", source="a", blob_key="k").blob("k", [R1]).copied("c1", "u1", 1)
    clean(late(h))


def test_copy_to_of_an_earlier_connection_written_while_read_only() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.copy_to("c1", "u1", source="a", blob_key="k")
    h.connect("c2", init=True).end("c1", "OK")
    clean(late(h.blob("k", [R1])))  # the old copy-to's write, still in flight


def test_a_blob_no_copy_to_names_is_still_a_write_while_read_only() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    assert h.blob("elsewhere", [R1]).verdicts() == ["RO-1"]


def test_a_view_still_writes_nothing_while_read_only() -> None:
    h = History()
    h.connect("c1", init=True)
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.shard("m")
    h.view("c1", "u1", source="a", target="m")
    h.write("m", [(R1, 0, 1)], upper=5, writer=REPLICA_WRITER)
    assert "RO-1" in h.verdicts()


# --- U9: copy-tos across a reconnect (A8, declared in section 17) --------------------------------


def test_a_leaked_copy_to_dropped_on_a_new_connection_is_a_declared_deviation() -> None:
    h = History()
    h.connect("c1", init=True).allow_writes("c1")
    h.shard("a").write("a", [(R1, 0, 1)], upper=1)
    h.copy_to("c1", "u1", source="a", blob_key="k")
    h.connect("c2", init=True).end("c1", "OK")
    assert late(h.copy_dropped("c2", "u1")).verdicts() == ["RECON-1"]


def test_a_reused_copy_to_that_never_answers_again_is_a_declared_deviation() -> None:
    h = History()
    h.connect("c1", init=True).allow_writes("c1")
    h.shard("a").write("a", [(R1, 0, 1)], upper=5)
    h.copy_to("c1", "u1", source="a", blob_key="k").blob("k", [R1]).copied("c1", "u1", 1)
    h.connect("c2").end("c1", "OK")
    h.copy_to("c2", "u1", source="a", blob_key="k").init("c2").allow_writes("c2")
    assert late(h).verdicts() == ["STAGE-3"]  # COPY-3, owed from InitializationComplete on
    seventeen = SPEC.read_text(encoding="utf-8").split("## 17.")[1]
    assert "(upstream.md#u9)" in seventeen


# --- offline: `python -m conformance check` accepts each of upstream's histories -----------------

UPSTREAM_HISTORIES = {
    "U1 silence before as_of": lambda: early(reports=False),
    "U2 MFP error at another time": lambda: mfp_peek("error"),
    "U3 no snapshot over errors": lambda: late(no_snapshot(0).batch("c1", "u1", 0, EMPTY, [(2, R2, 1)])),
    "U5 importer follows until to []": lambda: until_imported(follow=True),
    "U6 limit survives a reconnect": lambda: late(reconnected("error")),
    "U7 persist peek stops at the limit": lambda: limited_persist_peek("rows"),
}


@pytest.mark.parametrize("name", list(UPSTREAM_HISTORIES))
def test_conformance_check_accepts_upstreams_history(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "upstream.history.jsonl"
    with HistoryWriter(path) as w:
        for ev in UPSTREAM_HISTORIES[name]().events:
            w.write(ev)
    assert check.run(argparse.Namespace(history=path, patience=None, strict=True)) == check.EXIT_OK
    assert "0 violation(s) of MUST rules, 0 warning(s)" in capsys.readouterr().out
