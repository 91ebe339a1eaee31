"""The glue between pytest and the suite's runners: which replica a test talks to, how a state
machine is run under the profile's Hypothesis settings, how a scenario or a replay runs, and
what happens when any of them fails.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance.machines.env import ExampleRecord, MachineEnv
from conformance.machines.protocol import ProtocolMachine
from conformance.scenarios.format import Scenario
from conformance.session.failures import FailureRecord, fail
from conformance.session.profiles import Profile
from conformance.session.replicas import ReplicaError
from conformance.session.worker import ReplicaTarget, WorkerContext
from conformance.steps.backend import Backend, Finding
from conformance.steps.catalog import Catalog
from conformance.steps.runner import ConformanceViolation, StepRunner

SHRINK_BUDGET = {"quick": 15.0, "ci": 30.0, "deep": 300.0}


# ---- replicas ----


@contextlib.contextmanager
def replica_for(worker: WorkerContext, *, fresh: bool, purpose: str) -> Iterator[ReplicaTarget]:
    """The replica a test runs against. `fresh`: one that never received AllowWrites (RO rules)."""
    own_fresh = fresh and worker.settings.owns_replicas
    target: ReplicaTarget | None = None
    verdict = ""
    try:
        target = worker.fresh_replica(purpose) if own_fresh else worker.replica()
    except ReplicaError as e:
        verdict = str(e)
    if target is None:
        pytest.fail(verdict, pytrace=False)
    if own_fresh:
        try:
            yield target
        finally:
            worker.release(target)
        return
    if fresh and (target.writable or target.tainted):
        pytest.skip(
            "needs a replica that never received AllowWrites (read-only rules), but this one became writable "
            "earlier in the session (AllowWrites is permanent, RO-2); with --replica-addr/--replica-pool run "
            "read-only tests first (-m conformance_fresh_replica) against a freshly started replica"
        )
    yield target


def new_backend_factory(worker: WorkerContext, target: ReplicaTarget) -> Callable[[float | None], Backend]:
    from conformance.steps.driver_backend import DriverBackend

    def make(patience: float | None = None) -> Backend:
        return DriverBackend(worker, target, patience)

    return make


# ---- state machines ----


def hypothesis_settings(profile: Profile, artifacts: Path, seed_given: bool) -> settings:
    """Explicit settings for every field that matters, so Hypothesis's own profiles (its `ci` one
    is auto-loaded when CI=true) never change what the suite does."""
    derandomize = profile.derandomize and not seed_given  # --hypothesis-seed must take effect
    # Hypothesis refuses a database with derandomize (the examples are fixed anyway).
    use_db = profile.use_database and not derandomize
    database = DirectoryBasedExampleDatabase(artifacts / "hypothesis") if use_db else None
    return settings(
        max_examples=profile.max_examples,
        stateful_step_count=profile.step_count,
        derandomize=derandomize,
        database=database,
        deadline=None,  # replica round trips vary; liveness has its own patience
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        print_blob=True,
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        verbosity=Verbosity.normal,
    )


def machine_seed(test_name: str) -> int:
    """A fixed seed per machine test. Derandomized Hypothesis seeds a search from the source of
    the test function, and every state machine runs through the same one, so without this the
    parts of `test_protocol_machine` would all draw the very same examples."""
    return int.from_bytes(hashlib.sha256(test_name.encode()).digest()[:8], "big")


def run_machine(
    request: pytest.FixtureRequest,
    worker: WorkerContext,
    machine: type[ProtocolMachine],
    *,
    fresh: bool = False,
) -> None:
    with replica_for(worker, fresh=fresh, purpose="readonly" if fresh else "main") as target:
        profile = worker.settings.profile
        env = MachineEnv(
            new_backend=new_backend_factory(worker, target),
            storage_address=target.storage.address,
            ids=worker.ids,
            results=worker.results,
            test_id=request.node.nodeid,
            capabilities=worker.settings.capabilities,
            shrink_budget=SHRINK_BUDGET.get(profile.name, 60.0),
        )
        bound = type(machine.__name__, (machine,), {"env": env, "__module__": machine.__module__})
        seed_given = request.config.getoption("hypothesis_seed", default=None) is not None
        hyp = hypothesis_settings(profile, worker.artifacts, seed_given)
        if hyp.derandomize:
            bound = seed(machine_seed(request.node.name))(bound)
        failure: BaseException | None = None
        try:
            run_state_machine_as_test(bound, settings=hyp)
        except Exception as exc:  # ConformanceViolation, Flaky, a wait that failed, a stream that ended...
            failure = exc
        if failure is not None:
            _machine_failed(request, worker, target, env, failure)


def _machine_failed(
    request: pytest.FixtureRequest,
    worker: WorkerContext,
    target: ReplicaTarget,
    env: MachineEnv,
    exc: BaseException,
) -> None:
    intermittent = isinstance(exc, Flaky)
    # After shrinking, Hypothesis replays the minimal example last: last_failure is that one.
    # A Flaky failure did not reproduce: fall back on the first one found (full patience).
    record: ExampleRecord | None = env.first_failure if intermittent else (env.last_failure or env.first_failure)
    findings = _findings(exc) or (record.violations if record else [])
    error = "" if isinstance(exc, ConformanceViolation) else f"{type(exc).__name__}: {_short(exc)}"
    if record is not None and record.error and not findings:
        error = f"{error}\nthe example failed with {record.error}" if error else record.error
    failure = FailureRecord(
        source=type(exc).__name__,
        steps=list(record.steps) if record else [],
        findings=findings,
        history=list(record.history) if record else [],
        error=error,
        intermittent=intermittent,
    )
    fail(request, worker, failure, death=target.death_verdict())


def _findings(exc: BaseException) -> list[Finding]:
    if isinstance(exc, ConformanceViolation):
        return exc.findings
    for inner in getattr(exc, "exceptions", ()):  # Flaky failures group the exceptions seen
        found = _findings(inner)
        if found:
            return found
    return []


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 2000 else text[:2000] + "..."


# ---- scenarios and replays ----


def run_scenario(request: pytest.FixtureRequest, worker: WorkerContext, scenario: Scenario) -> None:
    missing = worker.settings.capabilities.missing(scenario.features)
    if missing:
        pytest.skip(f"the replica does not declare {', '.join(missing)} (--capabilities)")
    with replica_for(worker, fresh=scenario.fresh_replica, purpose="scenario") as target:
        for _ in range(worker.settings.profile.scenario_repeats):
            backend = new_backend_factory(worker, target)(None)
            runner = StepRunner(backend, Catalog(ids=worker.ids, storage_address=target.storage.address))
            failure: Exception | None = None
            try:
                runner.run_all(scenario.steps)
                runner.teardown()
            except Exception as exc:
                failure = exc
            finally:
                _fold(worker, runner, request.node.nodeid)
            executed = list(runner.executed)
            unjudged = getattr(backend, "unjudged", None)
            if callable(unjudged):
                worker.results.add_unjudged(unjudged())
            if failure is not None:
                runner.reset_after_failure()
            backend.close()
            if failure is not None:  # outside the except block: the verdict is not an exception chain
                _steps_failed(request, worker, target, scenario.name, executed, runner, backend, failure)


def _fold(worker: WorkerContext, runner: StepRunner, test_id: str) -> None:
    worker.results.add_exercised(runner.exercised)
    runner.exercised.clear()
    for f in runner.warnings:
        worker.results.add_warning(f.rule_id, f.text, test_id)
    runner.warnings.clear()


def _steps_failed(
    request: pytest.FixtureRequest,
    worker: WorkerContext,
    target: ReplicaTarget,
    source: str,
    executed: list[Any],
    runner: StepRunner,
    backend: Backend,
    exc: Exception,
) -> None:
    findings = exc.findings if isinstance(exc, ConformanceViolation) else list(runner.violations)
    error = "" if isinstance(exc, ConformanceViolation) else f"{type(exc).__name__}: {_short(exc)}"
    lines = getattr(backend, "history_lines", None)
    record = FailureRecord(source, executed, findings, list(lines()) if callable(lines) else [], error)
    fail(request, worker, record, death=target.death_verdict())
