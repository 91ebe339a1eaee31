"""Every rule with a check: a history that breaks it is flagged with exactly that id; its twin is clean."""

from __future__ import annotations

import pytest

from conformance.oracle import format_violation
from conformance.rules import RULES
from tests.conformance.breakers import CASES, Case

PARAMS = [
    pytest.param(rule_id, case, id=f"{rule_id}:{case.__name__}")
    for rule_id, cases in CASES.items()
    for case in cases
]


def _explain(case: Case, bad: bool) -> str:
    return "\n\n".join(format_violation(v) for v in case(bad).judged())


@pytest.mark.parametrize(("rule_id", "case"), PARAMS)
def test_breaking_history_is_flagged_with_exactly_its_rule(rule_id: str, case: Case) -> None:
    verdicts = case(True).verdicts()
    assert verdicts, f"{case.__name__} was not flagged at all"
    assert set(verdicts) == {rule_id}, _explain(case, True)


@pytest.mark.parametrize(("rule_id", "case"), PARAMS)
def test_corrected_history_passes(rule_id: str, case: Case) -> None:
    assert case(False).verdicts() == [], _explain(case, False)


def test_every_checked_rule_has_a_breaking_history() -> None:
    """MUST/SHOULD safety and liveness rules, minus the robustness ones graded elsewhere."""
    checked = {rid for rid, r in RULES.items() if r.checked_by_oracle}
    assert sorted(checked - set(CASES)) == []
    assert set(CASES) <= set(RULES)


def test_every_checked_rule_is_counted_when_exercised() -> None:
    """The coverage report relies on `exercised`: each rule's check counts where it could fail."""
    seen: set[str] = set()
    for cases in CASES.values():
        for case in cases:
            seen.update(rid for rid, n in case(False).oracle().exercised.items() if n > 0)
    checked = {rid for rid, r in RULES.items() if r.checked_by_oracle}
    assert sorted(checked - seen) == []
    assert {"STAGE-2", "FRONT-11", "PEEK-5", "DF-2", "COMPACT-2", "CREATE-2", "STATUS-2"} - seen == set()
    assert {"STAGE-4", "STAGE-5", "DF-1", "DF-3", "COMPACT-1", "RO-4", "CREATE-1", "CREATE-3"} - seen == set()
