"""The hand-written scenarios of `scenarios/` (or `--conformance-scenarios DIR`), one test each."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.scenarios.format import ScenarioError, load_scenario, scenario_files
from conformance.session.failures import judged
from conformance.session.harness import run_scenario
from conformance.session.plugin import FRESH_MARK, state_of
from conformance.session.worker import WorkerContext


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario_file" not in metafunc.fixturenames:
        return
    settings = state_of(metafunc.config).settings()
    files = scenario_files(settings.scenarios)
    params = [pytest.param(f, id=f.stem, marks=[getattr(pytest.mark, FRESH_MARK)] if _fresh(f) else []) for f in files]
    metafunc.parametrize("scenario_file", params)


def _fresh(path: Path) -> bool:
    try:
        return load_scenario(path).fresh_replica
    except ScenarioError:
        return False  # reported by the test itself


def test_scenario(request: pytest.FixtureRequest, conformance_worker: WorkerContext, scenario_file: Path) -> None:
    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as e:
        problem = str(e)
    else:
        run_scenario(request, conformance_worker, scenario)
        return
    judged(conformance_worker, request.node.nodeid, "unexplained", problem)
    pytest.fail(problem, pytrace=False)
