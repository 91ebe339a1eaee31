"""The glue between pytest and the suite's runners: which replica a test talks to, how a state
machine is run under the profile's Hypothesis settings, how a scenario or a replay runs, and
what happens when any of them fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance.driver.errors import Refused, ReplicaGone, Stop
from conformance.machines.env import ExampleRecord, MachineEnv
from conformance.machines.protocol import ProtocolMachine
from conformance.scenarios.format import Scenario
from conformance.session.database import example_database
from conformance.session.failures import FailureRecord, fail, unavailable
from conformance.session.profiles import Profile
from conformance.session.replicas import ReplicaError
from conformance.session.worker import ReplicaTarget, WorkerContext
from conformance.steps.backend import Backend, Finding
from conformance.steps.catalog import Catalog
from conformance.steps.runner import ConformanceViolation, StepRunner

SHRINK_BUDGET = {"quick": 15.0, "ci": 30.0, "deep": 300.0}


# ---- replicas ----


FRESH_REMEDY = (
    "start the replica afresh before the run and pass --replica-fresh, or let the suite start it "
    "(--replica-cmd)"
)


@contextlib.contextmanager
def replica_for(
    request: pytest.FixtureRequest, worker: WorkerContext, *, fresh: bool, purpose: str
) -> Iterator[ReplicaTarget]:
    """The replica a test runs against. `fresh`: one that never received AllowWrites (RO rules).

    A replica the suite did not start is fresh only if the user says so (--replica-fresh):
    one reused from an earlier run may have received AllowWrites there, and that is permanent
    (RO-2), so judging it by the read-only rules would blame a correct replica."""
    own_fresh = fresh and worker.settings.owns_replicas
    if fresh and not worker.settings.knows_fresh:
        reason = (
            "not run: needs a replica that never received AllowWrites, and the suite cannot know that of "
            f"a replica it did not start; {FRESH_REMEDY}"
        )
        worker.results.fresh_unavailable = reason
        pytest.skip(reason)
    target: ReplicaTarget | None = None
    verdict = ""
    try:
        target = worker.fresh_replica(purpose) if own_fresh else worker.replica()
    except ReplicaError as e:
        verdict = str(e)
    if target is None:
        unavailable(request, worker, verdict)
    if own_fresh:
        try:
            yield target
        finally:
            worker.release(target)
        return
    if fresh and (target.writable or target.tainted):
        reason = (
            "not run: needs a replica that never received AllowWrites (read-only rules), but this one became "
            "writable earlier in this session (AllowWrites is permanent, RO-2); run the read-only tests first "
            "(-m conformance_fresh_replica) against a freshly started replica"
        )
        worker.results.fresh_unavailable = reason
        pytest.skip(reason)
    yield target


def new_backend_factory(worker: WorkerContext, target: ReplicaTarget) -> Callable[[float | None], Backend]:
    """Backends for one test's examples; none once the replica is gone or the run is out of time
    (`Stop`: Hypothesis neither shrinks nor retries on it, the test ends at once)."""
    from conformance.steps.driver_backend import DriverBackend

    def make(patience: float | None = None) -> Backend:
        worker.limits().check("starting an example")
        gone = target.death_verdict()
        if gone is not None:
            raise ReplicaGone(gone)
        refused = getattr(target.driver, "refused", "") if target.driver is not None else ""
        if refused:
            why = f"no further example: the controller refused a response of the replica (TRANS-6, {refused})"
            raise Refused(why, _refusals(target))
        return DriverBackend(worker, target, patience)

    return make


# ---- state machines ----


def hypothesis_settings(profile: Profile, artifacts: Path, seed_given: bool) -> settings:
    """Explicit settings for every field that matters, so Hypothesis's own profiles (its `ci` one
    is auto-loaded when CI=true) never change what the suite does."""
    derandomize = profile.derandomize and not seed_given  # --hypothesis-seed must take effect
    # Hypothesis refuses a database with derandomize (the examples are fixed anyway).
    use_db = (profile.use_database or bool(profile.database)) and not derandomize
    database = example_database(profile.database, artifacts) if use_db else None
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


def run_machine(
    request: pytest.FixtureRequest,
    worker: WorkerContext,
    machine: type[ProtocolMachine],
    *,
    fresh: bool = False,
) -> None:
    with replica_for(request, worker, fresh=fresh, purpose="readonly" if fresh else "main") as target:
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
        failure: BaseException | None = None
        try:
            run_state_machine_as_test(bound, settings=hyp)
        except Exception as exc:  # ConformanceViolation, Flaky, a wait that failed, a stream that ended...
            failure = exc
        except Stop as stop:  # the replica is gone or the run out of time: report what was found, if anything
            found = any(r is not None and r.violations for r in (env.first_failure, env.last_failure))
            if not found and isinstance(stop, Refused):
                _refused_between_examples(request, worker, target, stop)
            if not found and not isinstance(stop, ReplicaGone | Refused):
                raise
            if env.last_failure is not None and not env.last_failure.violations and found:
                env.last_failure = None  # the example the stop cut short found nothing: report the one that did
            failure = stop
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


def _refused_between_examples(
    request: pytest.FixtureRequest, worker: WorkerContext, target: ReplicaTarget, stop: Refused
) -> None:
    """The controller refused a response that came after its example had ended (a hostile replica
    sends when it likes): the TRANS-6 verdict is the test's failure, with nothing to replay."""
    fail(request, worker, FailureRecord(request.node.name, [], _refusals(target), [], f"{type(stop).__name__}: {stop}"))


def _refusals(target: ReplicaTarget) -> list[Finding]:
    """The oracle's TRANS-6 verdicts on this target, as findings."""
    from conformance.oracle import format_violation

    violations = getattr(target.driver, "violations", []) if target.driver is not None else []
    return [Finding(v.rule, v.level, format_violation(v)) for v in violations if v.rule == "TRANS-6"]


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
    with replica_for(request, worker, fresh=scenario.fresh_replica, purpose="scenario") as target:
        for _ in range(worker.settings.profile.scenario_repeats):
            backend = new_backend_factory(worker, target)(None)
            runner = StepRunner(backend, Catalog(ids=worker.ids, storage_address=target.storage.address))
            failure: BaseException | None = None
            try:
                runner.run_all(scenario.steps)
                runner.teardown()
            except (Exception, Stop) as exc:
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
            if isinstance(failure, Stop) and not runner.violations and not isinstance(failure, ReplicaGone | Refused):
                raise failure  # out of time, nothing found: the test did not finish (not a failure)
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
    exc: BaseException,
) -> None:
    findings = exc.findings if isinstance(exc, ConformanceViolation) else list(runner.violations)
    error = "" if isinstance(exc, ConformanceViolation) else f"{type(exc).__name__}: {_short(exc)}"
    lines = getattr(backend, "history_lines", None)
    record = FailureRecord(source, executed, findings, list(lines()) if callable(lines) else [], error)
    fail(request, worker, record, death=target.death_verdict())
