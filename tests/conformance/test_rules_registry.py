"""The registry and docs/spec.md must agree on every rule: id, level, kind, section and text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.rules import RULES, SECTIONS, rule, section_title

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec.md"
_SECTION = re.compile(r"^## (\d+)\. ")
_ROW = re.compile(r"^\| ([A-Z]+-\d+) \|")


def spec_rules(text: str) -> dict[str, tuple[int, str, str, str]]:
    """Rule rows of the spec's tables: id -> (section, level, kind, rule text)."""
    out: dict[str, tuple[int, str, str, str]] = {}
    section = -1
    for line in text.splitlines():
        if m := _SECTION.match(line):
            section = int(m.group(1))
        if _ROW.match(line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            assert len(cells) == 6, f"malformed rule row: {line}"
            rid, level, kind, summary = cells[0], cells[1], cells[2], cells[3]
            assert rid not in out, f"{rid} appears twice in the spec"
            out[rid] = (section, level, kind, summary)
    return out


@pytest.fixture(scope="module")
def spec() -> dict[str, tuple[int, str, str, str]]:
    return spec_rules(SPEC.read_text(encoding="utf-8"))


def test_same_ids(spec: dict[str, tuple[int, str, str, str]]) -> None:
    missing = sorted(set(spec) - set(RULES))
    extra = sorted(set(RULES) - set(spec))
    assert not missing and not extra, f"in spec only: {missing}; in registry only: {extra}"


def test_same_level_kind_section_and_text(spec: dict[str, tuple[int, str, str, str]]) -> None:
    diffs = []
    for rid, (section, level, kind, summary) in spec.items():
        r = RULES.get(rid)
        if r is None:
            continue
        if (r.section, r.level, r.kind, r.summary) != (section, level, kind, summary):
            diffs.append(f"{rid}: spec {(section, level, kind)} vs registry {(r.section, r.level, r.kind)}")
    assert not diffs, "\n".join(diffs)


def test_spec_order_is_registry_order(spec: dict[str, tuple[int, str, str, str]]) -> None:
    assert list(RULES) == list(spec)


def test_one_module_per_section() -> None:
    sections = [m.SECTION for m in SECTIONS]
    assert sections == sorted(set(sections))
    for module in SECTIONS:
        assert all(r.section == module.SECTION for r in module.RULES), module.__name__
        assert section_title(module.SECTION)


def test_every_rule_names_its_origin() -> None:
    for r in RULES.values():
        assert r.upstream and all(r.upstream), r.id
        assert r.observed_by, r.id


def test_parser_notices_a_disagreement(spec: dict[str, tuple[int, str, str, str]]) -> None:
    """The comparison is not vacuous: a spec with one rule changed is seen to differ."""
    text = SPEC.read_text(encoding="utf-8")
    changed = spec_rules(
        text.replace("| PEEK-3 | MUST |", "| PEEK-3 | SHOULD |").replace("| SUB-2 |", "| SUB-99 |")
    )
    assert changed["PEEK-3"][1] == "SHOULD" != RULES["PEEK-3"].level
    assert "SUB-99" in changed and "SUB-99" not in RULES and "SUB-2" not in changed


def test_lookup_names_unknown_ids() -> None:
    assert rule("PEEK-2").kind == "liveness"
    with pytest.raises(KeyError, match="NOPE-1"):
        rule("NOPE-1")
