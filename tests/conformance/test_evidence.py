"""`conformance/rules/evidence.json` (the mutants and legal variants that exercise each rule)
is current with the replica's registries, and `rules ID` shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.rules import RULES
from conformance.rules.where import EVIDENCE, mutants_for
from reference_replica.faults import REGISTRY
from tests import evidence


def test_the_shipped_file_is_current() -> None:
    assert evidence.main(["--check"]) == 0, "run `python -m tests.evidence` and commit the file"
    assert EVIDENCE.read_text() == evidence.render()


def test_every_fault_is_listed_under_its_rule() -> None:
    for fault in REGISTRY.values():
        assert fault.name in [m["name"] for m in mutants_for(fault.rule)], fault.name
    listed = {m["name"] for rule in RULES for m in mutants_for(rule)}
    assert listed == set(REGISTRY)


def test_rules_shows_the_mutants_that_break_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "PEEK-1", "STAGE-2"]) == 0
    out = capsys.readouterr().out
    peek1 = out.split("STAGE-2  MAY")[0]
    assert "mutants:     duplicate-peek-response (B11): answer every peek twice" in peek1
    assert "canceled-after-answer (B17)" in peek1
    assert "mutants:     none (a permission cannot be broken" in out.split("STAGE-2  MAY")[1]
    assert main(["rules", "--json", "FRONT-6"]) == 0
    shown = json.loads(capsys.readouterr().out)[0]
    assert {m["name"] for m in shown["mutants"]} == {f.name for f in REGISTRY.values() if f.rule == "FRONT-6"}
    assert shown["variants"] == [] or all(v["name"] and v["description"] for v in shown["variants"])


def test_a_stale_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "evidence.json"
    stale.write_text('{"rules": {}}\n')
    monkeypatch.setattr(evidence, "EVIDENCE", stale)
    monkeypatch.setattr(evidence, "ROOT", tmp_path)
    assert evidence.main(["--check"]) == 1
    assert evidence.main([]) == 0 and evidence.main(["--check"]) == 0
