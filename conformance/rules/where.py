"""Where the suite checks and exercises a rule, found in its own sources and scenario files.

`python -m conformance rules PEEK-1` shows it, so that a replica author who meets a verdict can
go from the rule to the code that judged it and to a scenario that shows the rule at work.
The places are read from the code (every string literal equal to the rule id inside the oracle
and the suite's tests) rather than kept in a table, so they cannot go stale. The mutants and
legal variants of the reference replica that exercise a rule come from `evidence.json`, which
the project's tests generate from the replica's registries and keep current (the suite never
imports the replica).
"""

from __future__ import annotations

import ast
import json
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
EVIDENCE = Path(__file__).resolve().parent / "evidence.json"
CHECK_DIRS = ("oracle", "suite", "driver")


@cache
def _literals() -> dict[str, list[str]]:
    """rule id -> ["oracle/check_peeks.py:check_peek_response", ...] for every id-shaped literal."""
    found: dict[str, list[str]] = {}
    for folder in CHECK_DIRS:
        for path in sorted((PACKAGE / folder).glob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for func, text in _strings_by_function(tree):
                place = f"{folder}/{path.name}:{func}"
                places = found.setdefault(text, [])
                if place not in places:
                    places.append(place)
    return found


def _strings_by_function(tree: ast.AST) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) else func
            if isinstance(child, ast.Constant) and isinstance(child.value, str) and "-" in child.value:
                out.append((func, child.value.split(":")[0]))
            visit(child, name)

    visit(tree, "<module>")
    return out


def checked_in(rule_id: str) -> list[str]:
    """The functions of the oracle, driver and suite tests that name the rule."""
    return list(_literals().get(rule_id, []))


def scenarios_for(rule_id: str, folder: Path | None = None) -> list[str]:
    """The scenario files (shipped with the suite, or in `folder`) that list the rule."""
    root = folder or PACKAGE / "scenarios" / "shipped"
    names = []
    for path in sorted(root.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and rule_id in data.get("rules", ()):
            names.append(path.stem)
    return names


@cache
def _evidence() -> dict[str, dict[str, list[dict[str, str]]]]:
    try:
        data = json.loads(EVIDENCE.read_text())
    except (OSError, ValueError):
        return {}
    rules = data.get("rules", {}) if isinstance(data, dict) else {}
    return rules if isinstance(rules, dict) else {}


def mutants_for(rule_id: str) -> list[dict[str, str]]:
    """The faults of the mutant zoo that break the rule (name, description, the real bug's entry)."""
    return list(_evidence().get(rule_id, {}).get("faults", []))


def variants_for(rule_id: str) -> list[dict[str, str]]:
    """The legal variants of the reference replica that take the rule's other branch or exercise it."""
    return list(_evidence().get(rule_id, {}).get("variants", []))
