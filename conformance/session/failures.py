"""Saving and explaining a failure: the replay file, the history, the verdict, the command.

Whatever found the failure (a state machine, a scenario, a replay), the same things happen:
the executed steps are written as a scenario (the replay file) with the wire history next
to it, the first violation of each rule goes into the run's results, and the test fails with
the oracle's explanation (rule id first) followed by the one command that replays it. A
failure whose every rule is listed as known-failing becomes an xfail instead.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from conformance.scenarios.format import Scenario, dump_scenario
from conformance.steps.backend import Finding
from conformance.version import suite_version

Json = Any


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


def write_artifacts(artifacts: Path, test_id: str, record: FailureRecord) -> tuple[Path, Path]:
    """`failures/<test>.replay.json` and `.history.jsonl`; numbered when a name is taken."""
    folder = artifacts / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    base = slug(test_id.split("::")[-1])
    if record.findings:
        base += "-" + record.findings[0].rule_id
    n = 1
    while (folder / f"{base}.replay.json").exists():
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
    dump_scenario(scenario, replay_path)
    history_path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in record.history))
    return replay_path, history_path


def replay_command(config: pytest.Config, replay_path: Path) -> str:
    """The one command that re-executes a replay file against the same kind of target."""
    return shlex.join([*_target_argv(config), "--replay", str(replay_path)])


def rerun_command(config: pytest.Config, test_id: str) -> str:
    """The one command that runs test `test_id` again against the same kind of target."""
    return shlex.join([*_target_argv(config), test_id])


def _target_argv(config: pytest.Config) -> list[str]:
    from conformance.session.plugin import state_of

    s = state_of(config).settings()
    argv = ["pytest"]
    if config.pluginmanager.get_plugin("compute_conformance") is None:
        argv = ["python", "-m", "pytest", "-p", "conformance.session.plugin"]  # running from a checkout
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
    ):
        if value is not None:
            argv += [opt, str(value)]
    argv += ["--conformance-profile", s.profile.name]
    if s.strict:
        argv.append("--conformance-strict")
    return argv


def fail(request: pytest.FixtureRequest, worker: Any, record: FailureRecord, death: str | None = None) -> NoReturn:
    """Record the failure in the run's results, save its artifacts, and fail (or xfail) the test."""
    test_id = request.node.nodeid
    replay_path, history_path = write_artifacts(worker.artifacts, test_id, record)
    for f in record.findings:
        if f.level == "MUST":
            worker.results.add_violation(f.rule_id, f.text, test_id, str(replay_path))
        else:
            worker.results.add_warning(f.rule_id, f.text, test_id)
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
    lines += ["", f"history: {history_path}"]
    if record.rerun:
        lines.append(f"re-run:  {rerun_command(request.config, f'{request.node.path}::{request.node.name}')}")
    else:
        lines.append(f"replay:  {replay_command(request.config, replay_path)}")
    message = "\n".join(lines)
    rules = {f.rule_id for f in record.findings if f.level == "MUST"}
    known = worker.settings.known_failing
    if rules and rules <= known and not death:
        pytest.xfail(f"known failing ({', '.join(sorted(rules))}): {record.findings[0].text.splitlines()[0]}")
    pytest.fail(message, pytrace=False)
