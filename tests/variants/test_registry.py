"""The variant registry is complete and consistent: every MAY rule has a variant that takes it
the other way (or a reason why none can), names are valid, conflicts are symmetric, the
command line knows every variant, and the matrix's bookkeeping proves only what passed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.rules import RULES
from reference_replica import variants
from tests.variants import matrix

UPSTREAM = (Path(__file__).resolve().parents[2] / "docs" / "upstream.md").read_text(encoding="utf-8")


def test_at_least_25_variants_each_explained() -> None:
    assert len(variants.REGISTRY) >= 25
    for name, v in variants.REGISTRY.items():
        assert v.name == name and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert v.exercises and v.description and v.legal, name
        assert not v.description.endswith("."), name


def test_every_may_rule_has_a_variant_that_takes_its_other_branch() -> None:
    named = {rule for v in variants.REGISTRY.values() for rule in v.permissions}
    may = set(matrix.permissions())
    assert named <= may, f"permissions that are no MAY rule: {sorted(named - may)}"
    missing = may - named - matrix.UNPROVABLE.keys()
    assert not missing, f"MAY rules no variant takes the other way: {sorted(missing)}"
    assert set(matrix.UNPROVABLE) <= may and all(matrix.UNPROVABLE.values())


def test_upstream_behaviours_resolve() -> None:
    for v in variants.REGISTRY.values():
        for ref in re.findall(r"\bU\d+\b", v.upstream):
            assert f"#### {ref}\n" in UPSTREAM, f"{v.name}: {ref} is not in docs/upstream.md"
        for rule in v.permissions:
            assert RULES[rule].level == "MAY", f"{v.name}: {rule}"


def test_conflicts_are_symmetric_and_known() -> None:
    for v in variants.REGISTRY.values():
        for other in v.conflicts:
            assert other in variants.REGISTRY, f"{v.name} conflicts with unknown {other}"
            assert v.name in variants.REGISTRY[other].conflicts, f"{v.name} / {other}"


def test_enable_refuses_unknown_and_conflicting_variants() -> None:
    try:
        with pytest.raises(variants.UnknownVariant, match="no-such"):
            variants.enable(["no-such"])
        with pytest.raises(variants.ConflictingVariants, match="delayed-responses"):
            variants.enable(["delayed-responses", "bunched-responses"])
        variants.enable(["slow-cancel"])
        assert variants.on("slow-cancel") and not variants.on("no-status")
        with pytest.raises(KeyError):
            variants.on("not-registered")
    finally:
        variants.enable([])


def test_groups_cover_every_variant_without_conflicts() -> None:
    groups = matrix.compose(list(variants.REGISTRY), matrix.GROUPS)
    assert len(groups) == matrix.GROUPS
    assert sorted(n for g in groups for n in g) == sorted(variants.REGISTRY)
    for g in groups:
        assert variants.compatible(g), g
    assert max(map(len, groups)) - min(map(len, groups)) <= 1


def test_a_may_rule_counts_as_proven_only_by_a_passing_run() -> None:
    row = matrix.Row(["slow-cancel"], "PEEK-5", True, 1.0, [], [])
    failed = matrix.Row(["no-status"], "STATUS-2", False, 1.0, ["STATUS-1"], [])
    proofs = matrix.proven([row, failed])
    assert proofs["PEEK-5"] == ["slow-cancel"] and proofs["STATUS-2"] == []
    data = matrix.report([row, failed], 5.0)
    assert "STATUS-2" in data["unproven"] and "MULTI-2" not in data["unproven"]
    assert data["permissions"]["MULTI-2"]["unprovable"]


def test_the_command_line_lists_every_variant() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "reference_replica", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in variants.REGISTRY:
        assert name in listed
    for bad in (["--variant", "no-such-variant"], ["--variant", "no-status", "--variant", "status-hello"]):
        run = subprocess.run(
            [sys.executable, "-m", "reference_replica", *bad], capture_output=True, text=True, check=False, timeout=30
        )
        assert run.returncode == 2 and bad[-1] in run.stderr
