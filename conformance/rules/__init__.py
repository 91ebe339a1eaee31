"""The rule registry: every rule of docs/spec.md, one module per spec section.

`RULES` maps a rule id (`PEEK-3`) to its `Rule`, in spec order. The registry is the only place
a verdict may cite, and a test keeps it equal to the tables of docs/spec.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, ModuleType

from conformance.rules import (
    compaction,
    configuration,
    copy_to,
    creation,
    dataflows,
    frontiers,
    multi_process,
    peeks,
    read_only,
    reconciliation,
    stages,
    status,
    subscribes,
    transport,
)
from conformance.rules.rule import KINDS, LEVELS, Kind, Level, Rule

SECTIONS: tuple[ModuleType, ...] = (
    transport,
    stages,
    creation,
    dataflows,
    frontiers,
    compaction,
    peeks,
    subscribes,
    copy_to,
    status,
    configuration,
    read_only,
    reconciliation,
    multi_process,
)


def _collect() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for module in SECTIONS:
        for r in module.RULES:
            if r.id in rules:
                raise RuntimeError(f"rule {r.id} is registered twice")
            rules[r.id] = r
    return rules


RULES: Mapping[str, Rule] = MappingProxyType(_collect())


def rule(rule_id: str) -> Rule:
    """The registered rule with this id; a KeyError names the unknown id (a suite bug)."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"no rule {rule_id!r} in the registry") from None


def section_title(section: int) -> str:
    for module in SECTIONS:
        if section == module.SECTION:
            return str(module.TITLE)
    raise KeyError(f"no section {section} in the registry")


__all__ = ["KINDS", "LEVELS", "RULES", "SECTIONS", "Kind", "Level", "Rule", "rule", "section_title"]
