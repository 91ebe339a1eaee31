"""The StepRunner over a fake backend: what it executes, records, settles and raises."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.steps.backend import Finding, PeekAnswer
from conformance.steps.catalog import Catalog
from conformance.steps.runner import ConformanceViolation, ExpectationFailed, StepRunner
from conformance.steps.values import FieldError
from tests.plugin.fakes import FakeBackend

Json = Any

STEPS: list[Json] = [
    {"op": "create_shard", "shard": "src", "columns": ["int64"]},
    {"op": "connect"},
    {
        "op": "create_dataflow",
        "dataflow": "df",
        "as_of": 0,
        "sources": ["src"],
        "objects": [{"name": "v", "plan": {"get": "src"}}],
        "indexes": [{"name": "idx", "on": "v", "key": [0]}],
        "sinks": [{"name": "sub", "kind": "subscribe", "from": "v"}],
    },
    {"op": "append", "shard": "src", "updates": [[[1], 0, 2]], "upper": [1]},
    {"op": "peek", "peek": "p", "target": "idx", "time": 0},
    {"op": "peek", "peek": "q", "target": "idx", "time": 5},
]


def runner(backend: FakeBackend | None = None) -> StepRunner:
    return StepRunner(backend or FakeBackend(), Catalog())


def test_runs_steps_and_records_exactly_what_ran() -> None:
    r = runner()
    r.run_all(STEPS)
    assert r.executed == STEPS
    assert r.backend.ops()[:6] == [  # type: ignore[attr-defined]
        "create_shard",
        "connect",
        "send:create_dataflow",
        "send:schedule",
        "send:schedule",
        "append",
    ]


def test_teardown_initializes_cancels_drops_and_settles() -> None:
    r = runner()
    r.run_all(STEPS)
    r.run({"op": "wait_peek", "peek": "p"})
    tail = r.teardown_steps()
    assert tail == [
        {"op": "initialization_complete"},
        {"op": "cancel_peek", "peek": "q"},  # p was answered (a wait established it): not cancelled
        {"op": "drop", "id": "sub"},  # latest first: importers go before the indexes they read
        {"op": "drop", "id": "idx"},
        {"op": "settle"},
        {"op": "wait_quiet", "seconds": 0.05},  # a trailing response is judged before the stream ends
    ]
    r.teardown()
    assert r.executed[-6:] == tail, "teardown steps are recorded, so replays include them"
    assert runner().teardown_steps() == [], "nothing to settle before connecting"


def test_teardown_leaves_no_result_size_limit_behind() -> None:
    r = runner()
    r.run_all([*STEPS[:2], {"op": "update_configuration", "max_result_size": 1}])
    assert r.teardown_steps()[-3:-1] == [
        {"op": "update_configuration", "max_result_size": 1 << 40},
        {"op": "settle"},
    ]


def test_a_must_finding_stops_the_run_with_the_rule_first() -> None:
    backend = FakeBackend()
    r = runner(backend)
    r.run_all(STEPS[:3])
    backend.pending_findings = [
        Finding("PEEK-1", "MUST", "PEEK-1 [MUST safety] a second response"),
        Finding("STATUS-3", "SHOULD", "STATUS-3 hydrated went back"),
    ]
    with pytest.raises(ConformanceViolation) as e:
        r.run(STEPS[3])
    assert str(e.value).startswith("PEEK-1 violated after step 3 (append)")
    assert e.value.rule_ids == ["PEEK-1"]
    assert [f.rule_id for f in r.warnings] == ["STATUS-3"], "SHOULD findings are collected, not raised"
    assert r.executed[-1] == STEPS[3], "the failing step is part of the record"


def test_check_pulls_findings_between_steps() -> None:
    backend = FakeBackend()
    r = runner(backend)
    r.run_all(STEPS[:2])
    r.check()
    backend.pending_findings = [Finding("FRONT-4", "MUST", "FRONT-4 regression")]
    with pytest.raises(ConformanceViolation, match="FRONT-4"):
        r.check()


def test_peek_expectations() -> None:
    backend = FakeBackend(peek_answer=PeekAnswer("rows", ((((("int64", 1),), 2)),)))
    r = runner(backend)
    r.run_all(STEPS)
    r.run({"op": "wait_peek", "peek": "p", "expect": {"answer": "rows", "rows": [[[1], 2]]}})
    r.run({"op": "wait_peek", "peek": "p", "expect": {"answer": "rows_or_error"}})
    with pytest.raises(ExpectationFailed, match=r"expected rows \{\(1\) x1\}, got \{\(1\) x2\}"):
        r.run({"op": "wait_peek", "peek": "p", "expect": {"answer": "rows", "rows": [[[1], 1]]}})
    backend.peek_answer = PeekAnswer("error", error="boom")
    with pytest.raises(ExpectationFailed, match="expected rows, got error: boom"):
        r.run({"op": "wait_peek", "peek": "p", "expect": {"answer": "rows"}})


def test_malformed_steps_are_refused_before_anything_is_sent() -> None:
    backend = FakeBackend()
    r = runner(backend)
    with pytest.raises(FieldError, match="unknown op"):
        r.run({"op": "explode"})
    assert backend.calls == [] and r.executed == []


def test_an_index_with_live_importers_is_not_droppable() -> None:
    """The machines drop only what upstream's controller could: its read holds keep an index alive
    while a dataflow importing it has a live export (spec COMPACT-1)."""
    r = runner()
    r.run_all(STEPS)
    importer = {
        "op": "create_dataflow",
        "dataflow": "imp",
        "as_of": 0,
        "imports": ["idx"],
        "objects": [{"name": "w", "plan": {"get": "idx"}}],
        "sinks": [{"name": "imp_sub", "kind": "subscribe", "from": "w"}],
    }
    r.run(importer)
    assert sorted(c.name for c in r.catalog.droppable()) == ["imp_sub", "sub"]
    r.run({"op": "drop", "id": "imp_sub"})
    assert sorted(c.name for c in r.catalog.droppable()) == ["idx", "sub"]
    assert [s["id"] for s in r.teardown_steps() if s["op"] == "drop"] == ["sub", "idx"]
