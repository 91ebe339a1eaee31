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
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance.driver.errors import Refused, ReplicaGone, Stop
from conformance.machines.env import ExampleFailed, ExampleRecord, MachineEnv, ShrinkBudgetSpent
from conformance.machines.protocol import ProtocolMachine
from conformance.scenarios.format import Scenario
from conformance.session.database import example_database
from conformance.session.failures import FailureRecord, fail, unavailable
from conformance.session.profiles import Profile
from conformance.session.replicas import ReplicaError
from conformance.session.watch import MachineWatch
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
    with replica_for(request, worker, fresh=fresh, purpose="readonly" if fresh else "main") as target:
        profile = worker.settings.profile
        watch = MachineWatch(request, worker)  # the progress line, statistics and timings
        env = MachineEnv(
            new_backend=watch.stats.timed(new_backend_factory(worker, target)),
            storage_address=target.storage.address,
            ids=worker.ids,
            results=worker.results,
            test_id=request.node.nodeid,
            capabilities=worker.settings.capabilities,
            shrink_budget=SHRINK_BUDGET.get(profile.name, 60.0),
            on_example_end=watch.stats.example_ended,
        )
        bound = type(machine.__name__, (machine,), {"env": env, "__module__": machine.__module__})
        seed_given = request.config.getoption("hypothesis_seed", default=None) is not None
        hyp = hypothesis_settings(profile, worker.artifacts, seed_given)
        if hyp.derandomize:
            bound = seed(machine_seed(request.node.name))(bound)
        failure: BaseException | None = None
        try:
            watch.run(run_state_machine_as_test, bound, settings=hyp)
        except (Exception, ShrinkBudgetSpent) as exc:  # ExampleFailed, Flaky, a suite error...
            failure = exc
        except Stop as stop:  # the replica is gone or the run out of time: report what was found, if anything
            found = env.first_failure is not None and bool(env.first_failure.violations)
            if not found and isinstance(stop, Refused):
                _refused_between_examples(request, worker, target, stop)
            if not found and not isinstance(stop, ReplicaGone | Refused):
                raise
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
    def alive() -> bool:  # replays are worth running: the replica is there and the run has time
        return target.death_verdict() is None and not worker.limits().expired()

    failure = reported_failure(exc, env, rerun=lambda steps: _rerun(worker, target, steps), alive=alive)
    fail(request, worker, failure, death=target.death_verdict())


def reported_failure(
    exc: BaseException,
    env: MachineEnv,
    *,
    rerun: Callable[[list[Any]], ExampleRecord | None],
    alive: Callable[[], bool],
) -> FailureRecord:
    """The failure a state machine test reports: one observed with the profile's full patience.

    Hypothesis replays the minimal example last, with the full patience: when that replay
    failed (`ExampleFailed` with a full-patience record), it is the failure, reproduced. When it
    did not (Flaky: the replay passed, e.g. a race went the other way), when shrinking ran out
    of time (`ShrinkBudgetSpent`: no final replay), or when Hypothesis stopped with an error of
    its own, the steps are replayed here (`rerun`, as `--replay` does, full patience): the best
    shrink candidate's up to three times, then the first failure's up to twice (a race the
    replica lost once can go the other way); the first replay that fails again
    is the failure reported. Only when none does is the first failure (found with the full
    patience while generating) reported, as intermittent; and when the replica is gone
    (`alive`), the first failure is reported as it was, without replays. What shrink
    candidates found under the short patience is never reported.
    """
    record: ExampleRecord | None = None
    intermittent = False
    error = ""
    if isinstance(exc, ExampleFailed) and exc.record.full_patience:
        record = exc.record
    else:
        first = env.first_failure
        if first is not None and alive():
            record = _first_that_fails_again(rerun, alive, [(env.best_candidate, 3), (first, 2)])
            intermittent = record is None and alive()
        record = record or first
        if not isinstance(exc, ExampleFailed | Flaky | ShrinkBudgetSpent):  # Hypothesis's error, or the suite's
            error = f"{type(exc).__name__}: {_short(exc)}"
    if record is not None and record.error and not record.violations:  # verdicts explain themselves
        error = f"{error}\nthe example failed with {record.error}" if error else record.error
    return FailureRecord(
        source=type(exc).__name__,
        steps=list(record.steps) if record else [],
        findings=list(record.violations) if record else [],
        history=list(record.history) if record else [],
        error=error,
        intermittent=intermittent,
    )


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


def _first_that_fails_again(
    rerun: Callable[[list[Any]], ExampleRecord | None],
    alive: Callable[[], bool],
    hints: list[tuple[ExampleRecord | None, int]],
) -> ExampleRecord | None:
    """The first replay of a hint's steps that fails again like the hint did: citing one of its
    rules, or, if it cited none, failing without a verdict again."""
    for hint, runs in hints:
        for _ in range(runs if hint is not None else 0):
            if not alive():
                return None
            assert hint is not None
            again = rerun(hint.steps)
            if again is not None and (again.rules & hint.rules if hint.rules else not again.rules):
                return again
    return None


def _rerun(worker: WorkerContext, target: ReplicaTarget, steps: list[Any]) -> ExampleRecord | None:
    """`steps` run once as a scenario with the full patience; the record if they failed."""
    try:
        backend = new_backend_factory(worker, target)(None)
    except Stop:  # gone, refused or out of time since `alive()` said yes: no replay
        return None
    runner = StepRunner(backend, Catalog(ids=worker.ids, storage_address=target.storage.address))
    error = ""
    try:
        runner.run_all(steps)
        runner.teardown()
    except ConformanceViolation:
        pass
    except Exception as e:
        error = f"{type(e).__name__}: {_short(e)}"
    executed = list(runner.executed)
    if error or runner.violations:
        runner.reset_after_failure()
    finish(runner, backend)
    if not (error or runner.violations):
        return None
    lines = getattr(backend, "history_lines", None)
    return ExampleRecord("", executed, list(runner.violations), list(lines()) if callable(lines) else [], error)


def finish(runner: StepRunner, backend: Backend) -> None:
    """Close the backend's streams, then collect what the oracle judged meanwhile (a response
    that arrived after the last check is in the history, so its verdict must be in the record)."""
    backend.close()
    with contextlib.suppress(ConformanceViolation):
        runner.check()


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
            executed = list(runner.executed)
            if failure is not None:
                runner.reset_after_failure()
            finish(runner, backend)
            if failure is None and runner.violations:  # judged while the streams were being closed
                failure = ConformanceViolation(runner.violations, len(executed) - 1, (executed or [{"op": "none"}])[-1])
            _fold(worker, runner, request.node.nodeid)
            unjudged = getattr(backend, "unjudged", None)
            if callable(unjudged):
                worker.results.add_unjudged(unjudged())
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
    findings = list(runner.violations)  # every MUST verdict on the history saved with them
    error = "" if isinstance(exc, ConformanceViolation) else f"{type(exc).__name__}: {_short(exc)}"
    lines = getattr(backend, "history_lines", None)
    record = FailureRecord(source, executed, findings, list(lines()) if callable(lines) else [], error)
    fail(request, worker, record, death=target.death_verdict())
