"""`--replay FILE`: re-executes a saved failure (the plugin deselects every other suite test)."""

from __future__ import annotations

import pytest

from conformance.session.plugin import state_of
from conformance.session.replay import run_replay
from conformance.session.worker import WorkerContext


def test_replay(request: pytest.FixtureRequest, conformance_worker: WorkerContext) -> None:
    settings = state_of(request.config).settings()
    if settings.replay is None:
        pytest.skip("no --replay FILE given")
    run_replay(request, conformance_worker, settings.replay, settings.replay_runs)
