"""The zoo is complete: every check of the spec has a fault that breaks exactly its rule.

"Checks" are the MUST rules of kind safety or liveness (the registry's, which a test keeps equal
to docs/spec.md), and the SHOULD robustness rules TRANS-4 and TRANS-5, whose probes fail a
run in strict mode; MAY and CTRL rules are not conformance verdicts, and other SHOULD rules
only warn. Each fault names one of those rules, says what it does, and, when it
reproduces a bug that happened in a real replica, which one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.rules import RULES
from reference_replica import faults
from tests.mutants import matrix, suite_run


def test_every_check_has_a_fault() -> None:
    covered = {f.rule for f in faults.REGISTRY.values()}
    missing = [rule for rule in matrix.checks() if rule not in covered]
    assert not missing, f"MUST rules that no fault breaks: {', '.join(missing)}"
    assert len(matrix.checks()) >= 50  # the spec has about 52; a broken filter would find none


def test_every_robustness_rule_has_a_fault() -> None:
    covered = {f.rule for f in faults.REGISTRY.values()}
    assert matrix.robustness_checks() == ["TRANS-4", "TRANS-5"]
    assert set(matrix.robustness_checks()) <= covered


def test_should_faults_and_the_clean_run_are_strict() -> None:
    assert suite_run.strict_for(None) and suite_run.strict_for("crash-on-illegal-command")
    assert not suite_run.strict_for("silent-drop") and not suite_run.strict_for("NAME")
    assert "--conformance-strict" in suite_run.suite_command("refuses-unknown-cancel", Path("a"))
    assert "--conformance-strict" not in suite_run.suite_command("silent-drop", Path("a"))


def test_every_fault_breaks_one_check() -> None:
    checks = set(matrix.checks()) | set(matrix.robustness_checks())
    for name, fault in faults.REGISTRY.items():
        assert fault.name == name
        assert fault.rule in checks, f"{name} names {fault.rule}, neither a MUST safety/liveness nor a robustness rule"
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert fault.description and not fault.description.endswith(".")
        assert re.fullmatch(r"(B\d\d)?", fault.source), f"{name}: source {fault.source!r}"
    assert len(faults.REGISTRY) >= 30


def test_a_data_fault_shows_only_through_other_data_rules() -> None:
    """`also` names the rules the same wrong data breaks in the other outputs (a subscribe, a
    view, a copy-to): checks all, never the fault's own rule again."""
    checks = set(matrix.checks())
    for name, fault in faults.REGISTRY.items():
        assert set(fault.also) <= checks and fault.rule not in fault.also, name
        assert fault.rules[0] == fault.rule


def test_every_fault_is_checked_somewhere_in_the_replica() -> None:
    """A registered fault that no code path tests would be a fault in name only."""
    code = "\n".join(p.read_text() for p in Path("reference_replica").rglob("*.py"))
    for name in faults.REGISTRY:
        assert f'"{name}"' in code.replace(f'"{name}",', ""), f"{name} is registered but never checked"


def test_the_checks_are_the_registry_must_rules() -> None:
    must = {rid for rid, r in RULES.items() if r.level == "MUST"}
    assert set(matrix.checks()) <= must
    assert {rid for rid in must if RULES[rid].kind in ("safety", "liveness")} == set(matrix.checks())


def test_unproven_lists_the_checks_no_run_cited() -> None:
    row = matrix.Row("f", "PEEK-1", "", "d", True, ["PEEK-1", "PEEK-2"], "PEEK-1", 1.0, 1, 1, "t", True, 1.0)
    left = matrix.unproven([row])
    assert "PEEK-1" not in left and "PEEK-2" not in left and "PEEK-3" in left
    assert matrix.unproven([]) == matrix.checks()


def test_the_command_line_lists_every_fault() -> None:
    """`--inject-fault` knows the whole zoo, and refuses a name outside it (exit status 2)."""
    listed = subprocess.run(
        [sys.executable, "-m", "reference_replica", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in faults.REGISTRY:
        assert name in listed
    bad = subprocess.run(
        [sys.executable, "-m", "reference_replica", "--inject-fault", "no-such-fault"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert bad.returncode == 2 and "no-such-fault" in bad.stderr


@pytest.mark.parametrize("name", ["silent-drop", "no-droppedat"])
def test_a_fault_is_off_unless_enabled(name: str) -> None:
    try:
        faults.enable([])
        assert not faults.on(name)
        faults.enable([name])
        assert faults.on(name) and faults.enabled() == [name]
    finally:
        faults.enable([])
