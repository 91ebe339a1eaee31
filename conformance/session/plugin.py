"""The pytest plugin: `pytest --replica-addr HOST:PORT` runs the conformance suite.

Entry point `compute_conformance` (pyproject.toml); from a checkout without installing,
load it with `-p conformance.session.plugin`.

The plugin is inert unless suite tests are collected: it adds options and fixtures, but
starts no replica, writes no report and leaves the exit status alone for every other run
(the project's own `make test` included). It becomes active when

- a conformance option is given on the command line (`--replica-addr`, `--replica-cmd`,
  `--replica-pool`, `--conformance-profile`, `--replay`, `--conformance`): with no file
  arguments, the suite's directory is added to the arguments, so `pytest --replica-addr X`
  alone runs the suite; or
- suite modules are collected otherwise (`pytest --pyargs conformance.suite`).

Hooks here are thin; the work lives in `options`, `worker`, `report`, `machines`,
`scenarios` and `replay`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import pytest

from conformance.driver.errors import ReplicaGone, RunDeadline, Stop
from conformance.report.results import RunResults
from conformance.session.options import ACTIVATING, Settings, add_options, conformance_requested, resolve
from conformance.session.replicas import ReplicaError, ReplicaUsageError, check_worker_assignment
from conformance.suite import SUITE_DIR

STATE_NAME = "compute-conformance-state"
FRESH_MARK = "conformance_fresh_replica"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)
    parser.getgroup("compute-conformance").addoption(
        "--conformance",
        dest="conformance",
        action="store_true",
        default=None,
        help="run the conformance suite (implied by --replica-addr, --replica-cmd, --replica-pool, "
        "--conformance-profile, --replay)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Bare `pytest --replica-addr X` means "run the suite": add its directory when no path is given."""
    ns = early_config.known_args_namespace
    requested = any(getattr(ns, name, None) is not None for name in (*ACTIVATING, "conformance"))
    if not requested:
        return
    if getattr(ns, "file_or_dir", None):
        return
    args.append(str(SUITE_DIR))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: a test of the compute-protocol conformance suite")
    config.addinivalue_line(
        "markers", f"{FRESH_MARK}: needs a replica that never received AllowWrites (read-only mode rules)"
    )
    state = ConformanceState(config)
    config.pluginmanager.register(state, STATE_NAME)
    if conformance_requested(config) or config.getoption("conformance", default=None):
        state.requested = True
        if not hasattr(config, "workerinput"):
            from conformance.report.session import clear_report
            from conformance.session.options import artifacts_dir

            # An earlier run's report must not outlive a run refused below (a stale PASS in CI).
            clear_report(artifacts_dir(config))
        state.settings()  # validate options early: a bad option is a usage error, not a test failure
        state.check_workers()
        state.catch_sigterm()
        _one_test_at_a_time(config)


def _one_test_at_a_time(config: pytest.Config) -> None:
    """With `-n N`, hand tests to the workers one at a time (xdist's `--maxschedchunk 1`).

    xdist's default (`load`) first sends each worker a contiguous quarter of its share: the
    suite's first items are its few long state-machine tests (the read-only one first, it needs
    a fresh replica), so one worker got all of them and `-n 2` ran as long as a serial run.
    One at a time, whichever worker is free takes the next test. A --maxschedchunk given on
    the command line, and any other --dist, is left alone."""
    option = config.option
    if getattr(option, "dist", "no") == "load" and getattr(option, "maxschedchunk", 0) is None:
        option.maxschedchunk = 1


def state_of(config: pytest.Config) -> ConformanceState:
    state = config.pluginmanager.get_plugin(STATE_NAME)
    assert isinstance(state, ConformanceState), "the compute_conformance plugin is not configured"
    return state


def is_suite_item(item: pytest.Item) -> bool:
    try:
        return Path(item.path).resolve().is_relative_to(SUITE_DIR)
    except (OSError, ValueError):
        return False


class ConformanceState:
    """Per-process state: settings, this worker's context, and the results to report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._worker: Any = None
        self.results = RunResults()
        self.active = False  # suite tests were collected in this process (or by a worker)
        self.started = time.monotonic()
        self.report: Any = None
        self.requested = False  # a conformance option was given (the suite runs, or it is a usage error)
        self.signalled = ""  # the signal that cut the run short, if one did
        self._old_sigterm: Any = None

    # ---- settings and workers ----

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = resolve(self.config, _known_rule_ids())
        return self._settings

    @property
    def worker_id(self) -> str:
        workerinput = getattr(self.config, "workerinput", None)
        return str(workerinput["workerid"]) if workerinput else "main"

    def worker_count(self) -> int:
        workerinput = getattr(self.config, "workerinput", None)
        if workerinput:
            return int(workerinput.get("workercount", 1))
        n = getattr(self.config.option, "numprocesses", None)
        dist = getattr(self.config.option, "dist", "no")
        return int(n) if isinstance(n, int) and n > 0 and dist != "no" else 1

    def check_workers(self) -> None:
        s = self.settings()
        try:
            check_worker_assignment(addr=s.replica_addr, pool=s.replica_pool, workers=self.worker_count())
        except ReplicaUsageError as e:
            raise pytest.UsageError(str(e)) from None

    def worker(self) -> Any:
        if self._worker is None:
            from conformance.session.worker import WorkerContext

            self.check_workers()
            self._worker = WorkerContext(
                self.settings(),
                worker_id=self.worker_id,
                results=self.results,
                started=self.started,
                workers=self.worker_count(),
            )
        return self._worker

    # ---- signals and preflight ----

    def catch_sigterm(self) -> None:
        """SIGTERM (a CI job's timeout) ends the run like Ctrl-C: the report is still written."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._old_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        if self.signalled:
            return  # already winding down: let it finish writing the report
        self.signalled = "SIGTERM"
        raise KeyboardInterrupt("SIGTERM")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Before the first test, once per run (not in xdist workers): can the replica(s) given
        by address be reached, and do they serve the compute protocol? Else one line, exit 4."""
        if not self.requested or hasattr(self.config, "workerinput") or self.config.option.collectonly:
            return
        if not _suite_in_args(self.config):
            return  # only the user's own tests run: the replica is theirs to use
        from conformance.session.preflight import first_problem

        problem = first_problem(self.settings())
        if problem is not None:
            from conformance.report.session import refused

            refused(self, problem)
            raise pytest.UsageError(problem)

    # ---- collection ----

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        suite = [i for i in items if is_suite_item(i)]
        if not suite:
            return
        self.active = True
        replaying = config.getoption("replay", default=None) is not None
        # --replay runs only the replay test; without it the replay test is not a test at all.
        keep = [i for i in suite if (i.originalname if isinstance(i, pytest.Function) else i.name) == "test_replay"]
        if replaying:
            others = [i for i in suite if i not in keep]
            items[:] = [i for i in items if i not in others]
            suite = keep
        else:
            items[:] = [i for i in items if i not in keep]
            suite = [i for i in suite if i not in keep]
        self.results.suite_collected = len(suite)
        for item in suite:
            item.add_marker(pytest.mark.conformance)
        # Read-only rules need a replica that never saw AllowWrites: run those tests first (with
        # --replica-addr they then get a chance; otherwise they get a fresh replica anyway).
        items.sort(key=lambda i: 0 if i.get_closest_marker(FRESH_MARK) else 1)
        # A full run collects every suite module whole (no node ids, no -k/-m: see pytest_deselected).
        collected = {Path(i.path).resolve() for i in suite}
        modules = {p for p in SUITE_DIR.glob("test_*.py") if p.name != "test_replay.py"}
        if replaying or not modules <= collected or any("::" in str(a) for a in config.args):
            self.results.full_run = False

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        n = sum(1 for i in items if is_suite_item(i))
        if n:
            self.results.tests_deselected += n
            self.results.full_run = False

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.active:
            self.results.tests_selected = sum(1 for i in session.items if is_suite_item(i))

    # ---- outcomes ----

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        except Stop as stop:
            self._stopped(item, stop)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        except Stop as stop:
            self._stopped(item, stop)

    def _stopped(self, item: pytest.Item, stop: Stop) -> NoReturn:
        """A test the run's deadline cut short did not finish (skipped, with the reason); one cut
        short because its replica is gone fails with that verdict, without a traceback. (A Stop
        must never reach pytest itself, which would take it for Ctrl-C.)"""
        if isinstance(stop, RunDeadline):
            pytest.skip(f"not finished: {self._deadline_passed()} ({stop})")
        if isinstance(stop, ReplicaGone):
            self.results.add_replica_problem(str(stop))
            if self._worker is not None:
                self._worker.judged[item.nodeid] = "replica"
        elif self._worker is not None:  # Refused: the TRANS-6 verdict stands
            self._worker.judged[item.nodeid] = "violation"
            for f in getattr(stop, "findings", []):
                self.results.add_violation(f.rule_id, f.text, item.nodeid)
        pytest.fail(str(stop), pytrace=False)

    def _deadline_passed(self) -> str:
        s = self.settings()
        reason = (
            f"the whole-run deadline ({s.bounds.deadline:g} s, --conformance-deadline) passed before the run finished"
        )
        if reason not in self.results.cut_short:
            self.results.cut_short.append(reason)
        return reason

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.active or "conformance" not in report.keywords:
            return
        if report.when == "call":
            self.results.timings[report.nodeid] = round(report.duration, 2)
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if report.skipped and not hasattr(report, "wasxfail"):
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
                self.results.skipped.append(f"{report.nodeid}: {reason}")
            elif report.when == "call" or report.failed:
                self.results.tests_run += 1
        if report.failed:
            self._count_failure(report)

    def _count_failure(self, report: pytest.TestReport) -> None:
        """Every failed suite test counts against PASS; one the suite did not judge (a traceback)
        is the suite's own error."""
        self.results.tests_failed += 1
        judged = self._worker.judged if self._worker is not None else {}
        if report.nodeid in judged:
            return
        text = report.longreprtext or ""
        if any(problem in text for problem in self.results.replica_deaths):
            return  # a fixture that could not get its replica (module-scoped: one verdict, many tests)
        crash = getattr(report.longrepr, "reprcrash", None)
        message = getattr(crash, "message", "") or (text.strip().splitlines() or ["failed"])[-1]
        entry = f"{report.nodeid}: {message.splitlines()[0][:300] if message else 'failed'}"
        self.results.suite_errors.append(entry)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        """Fail fast: once the replica is gone (dead, unreachable, silent, never started) or the
        run is out of time, no further test starts; the verdict says why."""
        result = yield
        if not is_suite_item(item) or self._worker is None:
            return result
        problem = self._worker.problem()
        if problem is not None:
            self.results.add_replica_problem(problem)
        stop = ""
        if self.results.replica_deaths:
            stop = f"the replica is gone: {self.results.replica_deaths[0]}"[:500]
        elif self.results.violations.get("TRANS-6"):
            stop = "the replica sent what the controller cannot take (TRANS-6)"
        elif self._worker.limits().expired():
            stop = self._deadline_passed()
        if stop:
            item.session.shouldstop = stop
            self.results.stopped = self.results.stopped or stop
        return result

    # ---- the end ----

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {}).get("compute_conformance")
        if output:
            self.active = True
            self.results.merge(RunResults.from_json(output))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._worker is not None:
            self._worker.close()
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            if self.active:
                workeroutput["compute_conformance"] = self.results.to_json()
            return
        interrupted = self.requested and session.exitstatus == pytest.ExitCode.INTERRUPTED
        if not (self.active or interrupted) or self.config.option.collectonly:
            return
        from conformance.report.session import finish

        self.report = finish(self, session)

    def _sweep(self) -> None:
        """Stop replicas that xdist workers could not stop (they were killed: Ctrl-C, SIGTERM).
        Runs last (unconfigure), once the workers are gone, so it never pulls a replica from
        under a test."""
        from conformance.session.replicas import sweep
        from conformance.session.worker import REGISTRY

        with contextlib.suppress(pytest.UsageError):
            for leftover in sweep(self.settings().artifacts / REGISTRY):
                print(f"compute-conformance: stopped a replica its worker left running: {leftover}")

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int) -> None:
        if self.report is None:
            from conformance.session.hint import start_hint

            hint = start_hint(self.config, exitstatus)
            if hint is not None:
                terminalreporter.write_line(hint, yellow=True)
            return
        from conformance.report.session import terminal_summary

        terminal_summary(self, terminalreporter)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None
        if self._worker is not None:
            self._worker.close()
        if self.requested and not hasattr(config, "workerinput"):
            self._sweep()
        if self.report is not None:
            from conformance.report.session import append_junit

            append_junit(self)


def _suite_in_args(config: pytest.Config) -> bool:
    """Will the suite be collected: is its directory (or a module of it, or a directory above it)
    among the arguments? Known before collection, which xdist's controller never does."""
    for arg in config.args:
        base = str(arg).split("::", 1)[0]
        if config.option.pyargs and base.startswith("conformance"):
            return True
        try:
            path = Path(base).resolve()
        except (OSError, ValueError):
            continue
        if path == SUITE_DIR or path.is_relative_to(SUITE_DIR) or SUITE_DIR.is_relative_to(path):
            return True
    return False


def _known_rule_ids() -> set[str] | None:
    try:
        from conformance.rules import RULES
    except ImportError:
        return None
    return set(RULES)


# ---- fixtures (module level: a plugin's fixtures, available to every test) ----


@pytest.fixture(scope="session")
def conformance_worker(request: pytest.FixtureRequest) -> Any:
    """This worker's WorkerContext: settings, results, replicas and their storage services."""
    try:
        return state_of(request.config).worker()
    except ReplicaUsageError as e:
        problem = str(e)
    pytest.fail(problem, pytrace=False)


@pytest.fixture
def conformance_replica(request: pytest.FixtureRequest, conformance_worker: Any) -> Any:
    """This worker's replica (started on first use); a dead replica fails the test with its verdict."""
    from conformance.session.failures import unavailable

    try:
        return conformance_worker.replica()
    except ReplicaError as e:
        verdict = str(e)
    unavailable(request, conformance_worker, verdict)


@pytest.fixture(scope="session")
def conformance_results(request: pytest.FixtureRequest) -> RunResults:
    """The per-rule results this worker reports (suite tests add to them)."""
    return state_of(request.config).results


@pytest.fixture(scope="session")
def conformance_settings(request: pytest.FixtureRequest) -> Settings:
    return state_of(request.config).settings()
