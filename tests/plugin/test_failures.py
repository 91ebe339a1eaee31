"""Failure artifacts: the replay file is a loadable scenario holding the executed steps, the
history sits next to it, and names never collide."""

from __future__ import annotations

from pathlib import Path

from conformance.scenarios.format import load_scenario
from conformance.session.failures import FailureRecord, slug, write_artifacts
from conformance.steps.backend import Finding

STEPS = [
    {"op": "create_shard", "shard": "s", "columns": ["int64"]},
    {"op": "connect"},
    {"op": "initialization_complete"},
    {"op": "settle"},
]


def record(**kw: object) -> FailureRecord:
    base: dict[str, object] = {
        "source": "ProtocolMachine",
        "steps": STEPS,
        "findings": [Finding("PEEK-1", "MUST", "PEEK-1 [MUST safety] a second response")],
        "history": ['{"type": "note", "text": "x"}'],
    }
    base.update(kw)
    return FailureRecord(**base)  # type: ignore[arg-type]


def test_replay_file_is_a_scenario_with_the_steps_and_the_verdict(tmp_path: Path) -> None:
    replay, history = write_artifacts(
        tmp_path, "conformance/suite/test_machines.py::test_protocol_machine[2]", record()
    )
    assert replay.name == "test_protocol_machine-2-PEEK-1.replay.json"
    assert history.name == "test_protocol_machine-2-PEEK-1.history.jsonl"
    scenario = load_scenario(replay)
    assert scenario.steps == STEPS and scenario.rules == ["PEEK-1"]
    assert scenario.replay is not None and scenario.replay["violations"] == ["PEEK-1 [MUST safety] a second response"]
    assert scenario.replay["history"] == history.name and scenario.replay["suite_version"]
    assert history.read_text() == '{"type": "note", "text": "x"}\n'


def test_names_never_collide(tmp_path: Path) -> None:
    names = {write_artifacts(tmp_path, "t::test_x", record())[0].name for _ in range(3)}
    assert names == {
        "test_x-PEEK-1.replay.json",
        "test_x-PEEK-1~2.replay.json",
        "test_x-PEEK-1~3.replay.json",
    }


def test_failures_without_a_violation_still_replay(tmp_path: Path) -> None:
    replay, _ = write_artifacts(tmp_path, "t::test_y", record(findings=[], error="WaitFailed: peek p1"))
    scenario = load_scenario(replay)
    assert scenario.rules == [] and scenario.replay is not None and scenario.replay["error"] == "WaitFailed: peek p1"


def test_slug() -> None:
    assert slug("test_scenario[peek below/since]") == "test_scenario-peek-below-since"
    assert slug("///") == "failure"
