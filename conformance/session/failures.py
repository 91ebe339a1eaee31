"""Saving and explaining a failure: the replay file, the history, the verdict, the command.

Whatever found the failure (a state machine, a scenario, a replay), the same things happen:
the executed steps are written as a scenario (the replay file) with the wire history next
to it, the first violation of each rule goes into the run's results, and the test fails with
the oracle's explanation (rule id first) followed by the one command that replays it. A
failure whose every rule is listed as known-failing becomes an xfail instead.

Every failure is also classified for the run's verdict: a rule verdict, the replica's death
(which also stops the run), or a failure without a rule verdict. A replay run (`--replay`)
saves only the history of what it saw, never a replay file of the replay. The artifact
budget bounds what is written: a history that does not fit is cut short with a note.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from conformance.scenarios.format import Scenario, dump_scenario, format_scenario
from conformance.session.artifacts import ArtifactBudget
from conformance.steps.backend import Finding
from conformance.version import suite_version

Json = Any
MESSAGE_LIMIT = 8000  # characters of explanation a failure message shows (the history holds the rest)


@dataclass
class FailureRecord:
    """What is known about one failure, whoever found it."""

    source: str  # machine or scenario name
    steps: list[Json]
    findings: list[Finding] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    error: str = ""  # a failure that is not an oracle finding (expectation, wait, stream...)
    intermittent: bool = False  # observed once, but its steps did not fail again when replayed
    rerun: bool = False  # not steps (a robustness probe): reproduced by running the test again


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "failure"


def write_artifacts(
    artifacts: Path,
    test_id: str,
    record: FailureRecord,
    budget: ArtifactBudget | None = None,
    *,
    replay_file: bool = True,
) -> tuple[Path, Path]:
    """`failures/<test>.replay.json` and `.history.jsonl`; numbered when a name is taken.

    Without `replay_file` (a replay run) only the history is written (the replay path is
    returned all the same, for the history's name)."""
    folder = artifacts / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    base = slug(test_id.split("::")[-1])
    if record.findings:
        base += "-" + record.findings[0].rule_id
    n = 1
    while (folder / f"{base}.replay.json").exists() or (folder / f"{base}.history.jsonl").exists():
        n += 1
        base = re.sub(r"~\d+$", "", base) + f"~{n}"
    replay_path = folder / f"{base}.replay.json"
    history_path = folder / f"{base}.history.jsonl"
    rules = list(dict.fromkeys(f.rule_id for f in record.findings))
    scenario = Scenario(
        name=base,
        description=f"Saved failure of {test_id} ({record.source}).",
        rules=rules,
        steps=record.steps,
        replay={
            "test": test_id,
            "suite_version": suite_version(),
            "violations": [f.text for f in record.findings],
            "error": record.error,
            "intermittent": record.intermittent,
            "history": history_path.name,
        },
        source=str(replay_path),
    )
    if replay_file and (record.steps or record.rerun):
        text = format_scenario(scenario)
        if budget is None or budget.take(len(text)) == len(text):
            dump_scenario(scenario, replay_path)
        # else: no room left (--conformance-max-artifact-bytes); the message says it was not saved
    _write_history(history_path, record.history, budget)
    return replay_path, history_path


def _write_history(path: Path, lines: list[str], budget: ArtifactBudget | None) -> None:
    """The history lines that fit in the budget; if some do not, a note event says how many."""
    with path.open("w", encoding="utf-8") as f:
        for n, line in enumerate(lines):
            text = line if line.endswith("\n") else line + "\n"
            if budget is not None and budget.take(len(text)) < len(text):
                left = len(lines) - n
                note = {"type": "note", "seq": 0, "time": 0.0, "text": f"history cut short: {left} more event(s) "
                        "left out (--conformance-max-artifact-bytes)"}
                f.write(json.dumps(note) + "\n")
                return
            f.write(text)


def replay_command(config: pytest.Config, replay_path: Path) -> str:
    """The one command that re-executes a replay file against the same kind of target."""
    return shlex.join([*_target_argv(config), "--replay", str(replay_path)])


def rerun_command(config: pytest.Config, test_id: str) -> str:
    """The one command that runs test `test_id` again against the same kind of target."""
    return shlex.join([*_target_argv(config), test_id])


def check_command(history_path: Path) -> str:
    """The command that re-judges a saved history offline, with the interpreter that ran the suite."""
    return shlex.join([sys.executable, "-m", "conformance", "check", str(history_path)])


def _target_argv(config: pytest.Config) -> list[str]:
    """pytest as this run started it: the same interpreter (`pytest` alone may not be on PATH
    outside the venv), the plugin named when it is not installed, and the options that decide
    the verdict (target, TLS, profile and its overrides, strictness)."""
    from conformance.session.plugin import state_of
    from conformance.session.profiles import PROFILES

    s = state_of(config).settings()
    argv = [sys.executable, "-m", "pytest"]
    if config.pluginmanager.get_plugin("compute_conformance") is None:
        argv += ["-p", "conformance.session.plugin"]  # running from a checkout
    if s.replica_addr:
        argv += ["--replica-addr", s.replica_addr]
    elif s.replica_pool:
        argv += ["--replica-addr", s.replica_pool.split(";")[0].strip()]
    elif s.replica_cmd:
        argv += ["--replica-cmd", s.replica_cmd]
    for opt, value in (
        ("--replica-tls-ca", s.tls_ca),
        ("--replica-tls-cert", s.tls_cert),
        ("--replica-tls-key", s.tls_key),
        ("--storage-tls-cert", s.storage_tls_cert),
        ("--storage-tls-key", s.storage_tls_key),
        ("--storage-tls-client-ca", s.storage_tls_client_ca),
    ):
        if value is not None:
            argv += [opt, str(value)]
    argv += ["--conformance-profile", s.profile.name]
    named = PROFILES.get(s.profile.name)
    if named is not None and s.profile.patience != named.patience:  # a liveness verdict depends on it
        argv += ["--conformance-patience", f"{s.profile.patience:g}"]
    artifacts = config.getoption("conformance_artifacts", default=None)
    if artifacts:
        argv += ["--conformance-artifacts", str(artifacts)]
    if s.strict:
        argv.append("--conformance-strict")
    return argv


def _commands(
    request: pytest.FixtureRequest, worker: Any, record: FailureRecord, replay_path: Path, history_path: Path
) -> tuple[str, str]:
    """The commands a failure message ends with, ready to paste into a shell: the one that runs it
    again (a replay of the saved steps, or the test itself for a probe; none from a replay run,
    which is that command already), and the one that re-judges its history offline."""
    rerun = ""
    if getattr(worker.settings, "replay", None) is None:
        if record.rerun:
            rerun = rerun_command(request.config, f"{request.node.path}::{request.node.name}")
        elif replay_path.exists():
            rerun = replay_command(request.config, replay_path)
    check = check_command(history_path) if record.history else ""
    return rerun, check


def judged(worker: Any, test_id: str, kind: str, text: str = "") -> None:
    """Classify a test's failure for the verdict: `violation`, `replica` or `unexplained`."""
    worker.judged[test_id] = kind
    if kind == "unexplained":
        first = next((line for line in text.splitlines() if line.strip()), "failed")
        entry = f"{test_id}: {first[:300]}"
        if entry not in worker.results.unexplained:
            worker.results.unexplained.append(entry)


def unavailable(request: pytest.FixtureRequest, worker: Any, verdict: str) -> NoReturn:
    """The test cannot run: its replica could not be started or is gone (a verdict of its own)."""
    worker.results.add_replica_problem(verdict)
    judged(worker, request.node.nodeid, "replica")
    pytest.fail(verdict, pytrace=False)


def fail(
    request: pytest.FixtureRequest,
    worker: Any,
    record: FailureRecord,
    death: str | None = None,
    *,
    replica_problem: bool = True,
) -> NoReturn:
    """Record the failure in the run's results, save its artifacts, and fail (or xfail) the test.

    `death` says why the replica is gone, if it is; unless `replica_problem` is false (a probe's
    own replica, whose death is the probe's verdict), that is a verdict of the run too."""
    test_id = request.node.nodeid
    replaying = getattr(worker.settings, "replay", None) is not None
    replay_path, history_path = write_artifacts(
        worker.artifacts, test_id, record, getattr(worker, "budget", None), replay_file=not replaying
    )
    rerun, check = _commands(request, worker, record, replay_path, history_path)
    for f in record.findings:
        if f.level == "MUST":
            artifact = "" if replaying else str(replay_path)
            worker.results.add_violation(f.rule_id, f.text, test_id, artifact, rerun=rerun, check=check)
        else:
            worker.results.add_warning(f.rule_id, f.text, test_id, rerun=rerun, check=check)
    if death and replica_problem:
        worker.results.add_replica_problem(death)
    must = [f for f in record.findings if f.level == "MUST"]
    if must or (record.findings and worker.settings.strict):
        judged(worker, test_id, "violation")
    elif death and replica_problem:
        judged(worker, test_id, "replica")
    else:
        judged(worker, test_id, "unexplained", record.error or (record.findings[0].text if record.findings else ""))
    lines = []
    if death:
        lines.append(death)
    if record.intermittent:
        lines.append(
            "INTERMITTENT: the failure below was observed once (with the full patience), but its steps did not "
            "fail again when the suite replayed them."
        )
    lines += [f.text for f in record.findings] or [record.error or "failed without a recorded violation"]
    if record.error and record.findings:
        lines.append(record.error)
    message = "\n".join(lines)
    if len(message) > MESSAGE_LIMIT:
        lines = [message[:MESSAGE_LIMIT] + f"... ({len(message)} characters in all; see the history)"]
    lines += ["", f"history: {history_path}"]
    if replaying:
        lines.append(f"replayed: {worker.settings.replay}")
    elif record.rerun:
        lines.append(f"re-run:  {rerun}")
    elif replay_path.exists():
        lines.append(f"replay:  {rerun}")
    elif not record.steps:
        lines.append("replay:  none (no step of an example led to it: it came between examples)")
    else:
        lines.append("replay:  not saved (the artifact budget is spent: --conformance-max-artifact-bytes)")
    if check:
        lines.append(f"check:   {check}")
    message = "\n".join(lines)
    rules = {f.rule_id for f in record.findings if f.level == "MUST"}
    known = worker.settings.known_failing
    if rules and rules <= known and not death:
        pytest.xfail(f"known failing ({', '.join(sorted(rules))}): {record.findings[0].text.splitlines()[0]}")
    pytest.fail(message, pytrace=False)
