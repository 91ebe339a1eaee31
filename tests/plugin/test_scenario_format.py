"""Scenario files: the shipped ones load, the schema file is current, and a bad file gets an
error that names the file, the step and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.scenarios.format import (
    FORMAT,
    Scenario,
    ScenarioError,
    dump_scenario,
    load_directory,
    load_scenario,
    parse_scenario,
    scenario_files,
)
from conformance.steps.schema import OPS, json_schema

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

GOOD: dict[str, Any] = {
    "format": FORMAT,
    "name": "good",
    "rules": ["PEEK-7"],
    "steps": [
        {"op": "create_shard", "shard": "src", "columns": ["int64", "string?"]},
        {"op": "connect"},
        {
            "op": "create_dataflow",
            "dataflow": "df",
            "as_of": 0,
            "sources": ["src"],
            "objects": [
                {
                    "name": "v",
                    "plan": {
                        "mfp": {
                            "input": {"get": "src"},
                            "predicates": [{"gt": [{"column": 0}, {"literal": 1}]}],
                        }
                    },
                }
            ],
            "indexes": [{"name": "idx", "on": "v", "key": [0]}],
        },
        {"op": "initialization_complete"},
        {"op": "append", "shard": "src", "updates": [[[2, "a"], 0, 1]], "upper": [1]},
        {"op": "peek", "peek": "p", "target": "idx", "time": 0},
        {"op": "wait_peek", "peek": "p", "expect": {"answer": "rows", "rows": [[[2, "a"], 1]]}},
    ],
}


def test_every_shipped_scenario_loads_and_names_rules() -> None:
    scenarios = load_directory(SCENARIOS)
    assert len(scenarios) >= 15
    names = [s.name for s in scenarios]
    assert len(set(names)) == len(names)
    for s in scenarios:
        assert s.rules, s.name
        assert Path(s.source).stem == s.name, "file name and scenario name agree, so test ids are findable"
        assert s.description


def test_shipped_scenarios_cover_the_classic_cases() -> None:
    ops = {step["op"] for s in load_directory(SCENARIOS) for step in s.steps}
    assert {"reconnect", "cancel_peek", "allow_writes", "update_configuration", "drop", "wait_copy_to"} <= ops
    features = set().union(*(s.features for s in load_directory(SCENARIOS)))
    assert {
        "sink:subscribe",
        "sink:materialized_view",
        "sink:copy_to",
        "peek:index",
        "peek:persist",
    } <= features


def test_schema_file_is_generated_from_the_loader_table() -> None:
    committed = json.loads((SCENARIOS / "schema.json").read_text())
    assert committed == json_schema(), "regenerate scenarios/schema.json from conformance.steps.schema.json_schema()"
    assert "schema.json" not in [p.name for p in scenario_files(SCENARIOS)]


def test_readme_documents_every_op() -> None:
    readme = (SCENARIOS / "README.md").read_text()
    missing = [op for op in OPS if f"`{op}`" not in readme]
    assert not missing


def test_good_scenario_parses_and_round_trips(tmp_path: Path) -> None:
    s = parse_scenario(GOOD, "good.json")
    assert s.features == {"op:get", "op:mfp", "peek:index"}
    path = dump_scenario(s, tmp_path / "good.json")
    again = load_scenario(path)
    assert again.steps == s.steps and again.rules == s.rules
    assert path.read_text().count("\n") > len(s.steps), "one step per line"


def _broken(step: int, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    data["steps"][step].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "step", "fragment"),
    [
        (_broken(5, op="peak"), 5, "field op: unknown op 'peak'"),
        (_broken(5, time="soon"), 5, "field time: expected a time"),
        (_broken(5, tme=1), 5, "field tme: unknown field"),
        (
            _broken(4, updates=[[[2, 3], 0, 1]]),
            4,
            "field updates[0][0][1]: int64 datum in a column of string?",
        ),
        (_broken(4, updates=[[[2, "a"], 5, 1]]), 4, "field updates[0][1]: time 5 is outside"),
        (_broken(2, sources=["nope"]), 2, "field sources[0]: unknown shard 'nope'"),
        (_broken(2, objects=[{"name": "v", "plan": {"get": "idx2"}}]), 2, "field objects[0].plan.get"),
        (
            _broken(
                2,
                objects=[
                    {
                        "name": "v",
                        "plan": {
                            "mfp": {
                                "input": {"get": "src"},
                                "predicates": [{"gt": [{"column": 1}, {"literal": 1}]}],
                            }
                        },
                    }
                ],
            ),
            2,
            "same kind, got string and int64",
        ),
        (
            _broken(2, objects=[{"name": "v", "plan": {"mfp": {"input": {"get": "src"}, "projection": [7]}}}]),
            2,
            "field objects[0].plan.mfp.projection[0]",
        ),
        (_broken(5, target="ghost"), 5, "field target: unknown collection 'ghost'"),
        (_broken(6, expect={"answer": "maybe"}), 6, "field expect.answer: expected one of"),
        (_broken(5, finishing={"limit": -1}), 5, "field finishing.limit"),
    ],
)
def test_bad_step_names_file_step_and_field(data: dict[str, Any], step: int, fragment: str) -> None:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(data, "scenarios/bad.json")
    message = str(e.value)
    assert message.startswith(f"scenarios/bad.json: step {step} ("), message
    assert fragment in message, message
    assert e.value.step == step


def test_controller_rules_are_refused_with_the_rule() -> None:
    data = copy.deepcopy(GOOD)
    data["steps"].insert(3, {"op": "allow_writes"})
    with pytest.raises(ScenarioError, match=r"step 3 \(allow_writes\): field op: AllowWrites before Initialization"):
        parse_scenario(data, "x.json")
    data = copy.deepcopy(GOOD)
    data["steps"][0:2] = [data["steps"][1], data["steps"][0]]
    data["steps"].insert(6, {"op": "allow_compaction", "id": "idx", "frontier": [3]})
    data["steps"].insert(7, {"op": "allow_compaction", "id": "idx", "frontier": [2]})
    with pytest.raises(ScenarioError, match=r"step 7 .*compaction never goes back.*COMPACT-1"):
        parse_scenario(data, "x.json")


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.pop("steps"), "field steps: is required"),
        (lambda d: d.update(format="v0"), "field format: expected"),
        (lambda d: d.update(rules=["peek 7"]), "field rules: expected a list of rule ids"),
        (lambda d: d.update(extra=1), "field extra: unknown field"),
        (lambda d: d.update(steps=[]), "field steps: expected a non-empty list"),
        (
            lambda d: d["steps"].insert(0, {"op": "peek", "peek": "p", "target": "idx", "time": 0}),
            "step 0 (peek): field op: peek before the first connect step",
        ),
    ],
)
def test_bad_top_level_names_the_field(mutate: Any, fragment: str) -> None:
    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(ScenarioError) as e:
        parse_scenario(data, "f.json")
    assert fragment in str(e.value) and str(e.value).startswith("f.json: ")


def test_unreadable_and_invalid_json_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": ')
    with pytest.raises(ScenarioError, match=r"bad.json: not valid JSON: .* line 1"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.json")


def test_scenario_to_json_keeps_optional_fields() -> None:
    s = Scenario(name="n", rules=["RO-1"], steps=GOOD["steps"], fresh_replica=True, replay={"test": "t"})
    data = s.to_json()
    assert data["fresh_replica"] is True and data["replay"] == {"test": "t"}
    assert parse_scenario(data).fresh_replica


def test_a_wait_establishes_what_later_steps_rely_on() -> None:
    """A saved run advanced a shard's since once a wait had shown its persist peek answered; the
    loader plans the file as that run did, so the file replays (it was refused as invalid)."""
    steps: list[dict[str, Any]] = [
        {"op": "create_shard", "shard": "src", "columns": ["int64"]},
        {"op": "append", "shard": "src", "updates": [[[1], 0, 1]], "upper": [2]},
        {"op": "connect"},
        {"op": "initialization_complete"},
        {"op": "peek", "peek": "p", "target": "src", "target_kind": "persist", "time": 0},
        {"op": "wait_peek", "peek": "p"},
        {"op": "advance_since", "shard": "src", "since": 1},
    ]
    data = {"format": FORMAT, "name": "since-after-answer", "rules": ["PEEK-7"], "steps": steps}
    assert parse_scenario(data, "since-after-answer.json").steps == steps
    unanswered = {**data, "steps": [s for s in steps if s["op"] != "wait_peek"]}
    with pytest.raises(ScenarioError, match="may still be pending"):
        parse_scenario(unanswered, "since-before-answer.json")
