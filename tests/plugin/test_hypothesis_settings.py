"""The Hypothesis settings each profile runs with: explicit, so that Hypothesis's own `ci`
profile (auto-loaded when CI=true) changes nothing, and `--hypothesis-seed` still works."""

from __future__ import annotations

from pathlib import Path

from hypothesis import Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from conformance.session.harness import hypothesis_settings, machine_seed
from conformance.session.profiles import PROFILES, get_profile


def test_ci_is_derandomized_without_a_database(tmp_path: Path) -> None:
    s = hypothesis_settings(get_profile("ci"), tmp_path, seed_given=False)
    assert s.derandomize and s.database is None and s.deadline is None
    assert s.max_examples == PROFILES["ci"].max_examples and s.stateful_step_count == PROFILES["ci"].step_count
    assert not s.report_multiple_bugs
    assert Phase.shrink in s.phases and Phase.explain not in s.phases, "explaining costs minutes per failure"


def test_deep_explores_and_keeps_a_database_under_the_artifacts(tmp_path: Path) -> None:
    s = hypothesis_settings(get_profile("deep"), tmp_path, seed_given=False)
    assert not s.derandomize
    assert isinstance(s.database, DirectoryBasedExampleDatabase)
    assert s.database.path == tmp_path / "hypothesis"


def test_a_seed_switches_derandomization_off(tmp_path: Path) -> None:
    s = hypothesis_settings(get_profile("quick"), tmp_path, seed_given=True)
    assert not s.derandomize, "--hypothesis-seed must take effect"
    assert isinstance(s.database, DirectoryBasedExampleDatabase)


def test_hypothesis_ci_profile_does_not_leak_in(tmp_path: Path) -> None:
    settings.register_profile("_loud", max_examples=3, derandomize=False, deadline=200, stateful_step_count=2)
    previous = settings.get_current_profile_name()
    settings.load_profile("_loud")
    try:
        s = hypothesis_settings(get_profile("ci"), tmp_path, seed_given=False)
        assert s.max_examples == PROFILES["ci"].max_examples and s.derandomize and s.deadline is None
    finally:
        settings.load_profile(previous)


def test_profiles_grow_from_quick_to_deep() -> None:
    quick, ci, deep = (PROFILES[n] for n in ("quick", "ci", "deep"))
    assert quick.max_examples < ci.max_examples < deep.max_examples
    assert quick.patience <= ci.patience <= deep.patience
    assert get_profile("ci").with_overrides(examples=3, steps=4, patience=1.5) == ci.__class__(
        "ci", 3, 4, 1.5, ci.derandomize, ci.use_database, ci.scenario_repeats
    )


def test_each_machine_test_searches_with_a_seed_of_its_own() -> None:
    """Derandomized Hypothesis seeds from the test function's source, which every machine test
    shares: without a seed per test, the parts of test_protocol_machine would draw the same
    examples."""
    drawn: dict[str, list[int]] = {}

    class Draws(RuleBasedStateMachine):
        name = ""

        @rule(x=st.integers(0, 1 << 30))
        def draw(self, x: int) -> None:
            drawn.setdefault(self.name, []).append(x)

    for name in ("test_protocol_machine[0]", "test_protocol_machine[1]", "test_protocol_machine[0] again"):
        part = name.removesuffix(" again")
        bound = seed(machine_seed(part))(type("Draws", (Draws,), {"name": name}))
        few = settings(max_examples=5, stateful_step_count=3, derandomize=True, database=None)
        run_state_machine_as_test(bound, settings=few)
    assert drawn["test_protocol_machine[0]"] == drawn["test_protocol_machine[0] again"], "still derandomized"
    assert drawn["test_protocol_machine[0]"] != drawn["test_protocol_machine[1]"]
