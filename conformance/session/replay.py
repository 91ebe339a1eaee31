"""`--replay FILE`: re-execute a saved failure and say how often it reproduces.

A replay file is a scenario (the shrunk steps of a failing example), so replaying needs no
Hypothesis database and survives suite upgrades. Replicas are asynchronous: a failure may
depend on timing, so the file runs N times (`--replay-runs`, default 3), each on a fresh
iteration, and the verdict is "reproduced k of N". The test fails when k > 0, like any
regression test, with the first reproduction's violation. A replay keeps its artifacts apart
from the run that saved the file (`ARTIFACTS/replays/NAME/`: its report and the history of
what it saw, never a replay file of the replay). The file was checked when the run started
(a file that cannot be replayed is a usage error).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.driver.errors import ReplicaGone, Stop
from conformance.scenarios.format import ScenarioError, load_scenario
from conformance.session.failures import FailureRecord, fail, unavailable
from conformance.session.harness import finish, new_backend_factory, replica_for
from conformance.session.worker import WorkerContext
from conformance.steps.catalog import Catalog
from conformance.steps.runner import ConformanceViolation, StepRunner


def run_replay(request: pytest.FixtureRequest, worker: WorkerContext, path: Path, runs: int) -> None:
    try:
        scenario = load_scenario(path)
    except ScenarioError as e:
        pytest.fail(f"cannot replay: {e}", pytrace=False)
    original = set(scenario.rules)
    outcomes: list[str] = []
    first: FailureRecord | None = None
    stopped: Stop | None = None
    with replica_for(request, worker, fresh=scenario.fresh_replica, purpose="replay") as target:
        for i in range(runs):
            try:
                backend = new_backend_factory(worker, target)(None)
            except Stop as stop:  # the replica is gone, or refused, or the run out of time
                if first is None:
                    raise
                outcomes.append(f"not run: {stop}")
                break
            runner = StepRunner(backend, Catalog(ids=worker.ids, storage_address=target.storage.address))
            exc: BaseException | None = None
            try:
                runner.run_all(scenario.steps)
                runner.teardown()
            except (Exception, Stop) as e:
                exc = e
            worker.results.add_exercised(runner.exercised)
            if exc is not None:
                runner.reset_after_failure()
            finish(runner, backend)  # what arrived after the last check is in the history: judge it too
            executed = list(runner.executed)
            if exc is None and runner.violations:
                exc = ConformanceViolation(runner.violations, len(executed) - 1, (executed or [{"op": "none"}])[-1])
            if isinstance(exc, Stop) and not runner.violations:
                stopped = exc
                outcomes.append(f"not finished: {exc}")
                break
            if exc is None:
                outcomes.append("passed")
            else:
                findings = list(runner.violations)
                rules = {f.rule_id for f in findings}
                if findings and (not original or rules & original):
                    outcomes.append("reproduced " + ", ".join(sorted(rules)))
                elif findings:
                    outcomes.append("failed differently: " + ", ".join(sorted(rules)))
                else:
                    outcomes.append(f"failed differently: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                if first is None:
                    lines = getattr(backend, "history_lines", None)
                    error = "" if isinstance(exc, ConformanceViolation) else f"{type(exc).__name__}: {exc}"
                    first = FailureRecord(
                        f"replay of {path.name} (run {i + 1})",
                        executed,
                        findings,
                        list(lines()) if callable(lines) else [],
                        error,
                    )
            if target.death_verdict():
                break
    if stopped is not None and first is None and not isinstance(stopped, ReplicaGone):
        raise stopped
    if first is None and (gone := target.death_verdict()) is not None:
        unavailable(request, worker, gone)
    reproduced = sum(1 for o in outcomes if o.startswith("reproduced"))
    done = sum(1 for o in outcomes if not o.startswith("not "))
    summary = f"replay {path}: reproduced {reproduced} of {done}"
    details = "; ".join(f"run {i + 1}: {o}" for i, o in enumerate(outcomes))
    worker.results.notes.append(f"{summary} ({details})")
    if first is not None:
        first.error = f"{summary} ({details})" + (f"\n{first.error}" if first.error else "")
        fail(request, worker, first, death=target.death_verdict())
