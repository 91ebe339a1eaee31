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

import time
from pathlib import Path
from typing import Any

import pytest

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
    requested = any(getattr(ns, name, None) for name in (*ACTIVATING, "conformance"))
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
        state.settings()  # validate options early: a bad option is a usage error, not a test failure
        state.check_workers()


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
            self._worker = WorkerContext(self.settings(), worker_id=self.worker_id, results=self.results)
        return self._worker

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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.active or "conformance" not in report.keywords:
            return
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if report.skipped and not hasattr(report, "wasxfail"):
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
                self.results.skipped.append(f"{report.nodeid}: {reason}")
            elif report.when == "call" or report.failed:
                self.results.tests_run += 1

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
        if not self.active or self.config.option.collectonly:
            return
        from conformance.report.session import finish

        self.report = finish(self, session)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None:
            return
        from conformance.report.session import terminal_summary

        terminal_summary(self, terminalreporter)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._worker is not None:
            self._worker.close()
        if self.report is not None:
            from conformance.report.session import append_junit

            append_junit(self)


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
def conformance_replica(conformance_worker: Any) -> Any:
    """This worker's replica (started on first use); a dead replica fails the test with its verdict."""
    try:
        return conformance_worker.replica()
    except ReplicaError as e:
        verdict = str(e)
    pytest.fail(verdict, pytrace=False)


@pytest.fixture(scope="session")
def conformance_results(request: pytest.FixtureRequest) -> RunResults:
    """The per-rule results this worker reports (suite tests add to them)."""
    return state_of(request.config).results


@pytest.fixture(scope="session")
def conformance_settings(request: pytest.FixtureRequest) -> Settings:
    return state_of(request.config).settings()
