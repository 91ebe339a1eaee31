"""Reading and writing scenario files, with errors that name the file, the step and the field.

A file is checked in two passes: the schema (every field's shape) and a dry run of the
steps through a fresh `Catalog` (names defined before use, legal controller behaviour:
times within the shard's upper, compaction never going back, ...). Both report the same
way: `FILE: step 7 (peek): field finishing.limit: expected an integer ...`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from conformance.steps.catalog import Catalog
from conformance.steps.schema import check_step
from conformance.steps.values import FieldError

FORMAT: Final = "compute-conformance-scenario/1"
_RULE_ID: Final = re.compile(r"^[A-Z]+-\d+$")
_TOP_FIELDS: Final = ("format", "name", "description", "rules", "fresh_replica", "replay", "steps")

Json = Any


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file, the step and the field."""

    def __init__(self, source: str, message: str, step: int | None = None, op: str | None = None) -> None:
        where = source if step is None else f"{source}: step {step}" + (f" ({op})" if op else "")
        super().__init__(f"{where}: {message}")
        self.source, self.step, self.op = source, step, op


@dataclass
class Scenario:
    name: str
    rules: list[str]
    steps: list[dict[str, Json]]
    description: str = ""
    fresh_replica: bool = False  # needs a replica that has never received AllowWrites
    replay: dict[str, Json] | None = None  # for saved failures: what failed, where, with what
    source: str = "<scenario>"
    features: set[str] = field(default_factory=set)  # op:*, sink:*, peek:* the steps use

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {"format": FORMAT, "name": self.name}
        if self.description:
            out["description"] = self.description
        out["rules"] = list(self.rules)
        if self.fresh_replica:
            out["fresh_replica"] = True
        if self.replay is not None:
            out["replay"] = self.replay
        out["steps"] = self.steps
        return out


def parse_scenario(data: Json, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(source, f"expected a JSON object at the top level, got {type(data).__name__}")
    for name in data:
        if name not in _TOP_FIELDS:
            raise ScenarioError(source, f"field {name}: unknown field; expected one of {', '.join(_TOP_FIELDS)}")
    if data.get("format") != FORMAT:
        raise ScenarioError(source, f"field format: expected {FORMAT!r}, got {data.get('format')!r}")
    for required in ("name", "rules", "steps"):
        if required not in data:
            raise ScenarioError(source, f"field {required}: is required but missing")
    if not isinstance(data["name"], str) or not data["name"]:
        raise ScenarioError(source, "field name: expected a non-empty string")
    if not isinstance(data.get("description", ""), str):
        raise ScenarioError(source, "field description: expected a string")
    rules = data["rules"]
    if not isinstance(rules, list) or not all(isinstance(r, str) and _RULE_ID.match(r) for r in rules):
        raise ScenarioError(source, f"field rules: expected a list of rule ids such as PEEK-1, got {rules!r}")
    if not isinstance(data.get("fresh_replica", False), bool):
        raise ScenarioError(source, "field fresh_replica: expected true or false")
    if not isinstance(data.get("replay", {}), dict):
        raise ScenarioError(source, "field replay: expected an object")
    steps = data["steps"]
    if not isinstance(steps, list) or not steps:
        raise ScenarioError(source, "field steps: expected a non-empty list of steps")
    catalog = dry_run(steps, source)
    return Scenario(
        name=data["name"],
        rules=list(rules),
        steps=steps,
        description=data.get("description", ""),
        fresh_replica=data.get("fresh_replica", False),
        replay=data.get("replay"),
        source=source,
        features=set(catalog.features),
    )


def dry_run(steps: list[Json], source: str) -> Catalog:
    """Check every step's shape, then plan it on a fresh catalog (no replica involved; every
    wait taken to succeed, as the run that wrote the steps planned them)."""
    catalog = Catalog()
    for i, step in enumerate(steps):
        op = step.get("op") if isinstance(step, dict) else None
        try:
            check_step(step)
            catalog.plan(step)
            if op in ("wait_peek", "wait_copy_to"):
                # As a run whose wait succeeds: what it establishes decides which later steps are
                # valid (a since advanced past a persist peek once it is answered, say).
                catalog.note_answered(str(step.get("peek") or step.get("id")))
        except FieldError as e:
            raise ScenarioError(source, str(e), step=i, op=op if isinstance(op, str) else None) from None
    return catalog


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ScenarioError(str(p), f"cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(str(p), f"not a text file: {e.reason} at byte {e.start}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(str(p), f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise ScenarioError(str(p), "not valid JSON for a scenario: nested too deeply") from None
    try:
        return parse_scenario(data, str(p))
    except RecursionError:
        raise ScenarioError(str(p), "a step is nested too deeply to plan") from None


def default_directory() -> Path | None:
    """The scenarios shipped with the suite: `shipped/` in this package, a symlink to the
    repository's `scenarios/` in a checkout and a copy of it in an installed wheel."""
    candidate = (Path(__file__).parent / "shipped").resolve()
    return candidate if candidate.is_dir() else None


def scenario_files(directory: str | Path | None = None) -> list[Path]:
    """Every `*.json` scenario in a directory (not schema.json), sorted by file name."""
    d = Path(directory) if directory is not None else default_directory()
    if d is None:
        return []
    return sorted(p for p in d.glob("*.json") if p.name != "schema.json")


def load_directory(directory: str | Path | None = None) -> list[Scenario]:
    return [load_scenario(p) for p in scenario_files(directory)]


def dump_scenario(scenario: Scenario, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(format_scenario(scenario))
    return p


def format_scenario(scenario: Scenario) -> str:
    """One step per line: diffs of replay files stay readable and files stay short."""
    data = scenario.to_json()
    steps = data.pop("steps")
    head = json.dumps(data, indent=2)[:-2]  # drop the closing "\n}"
    lines = ",\n".join("    " + json.dumps(s, separators=(", ", ": ")) for s in steps)
    return f'{head},\n  "steps": [\n{lines}\n  ]\n}}\n'
