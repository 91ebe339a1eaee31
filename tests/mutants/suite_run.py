"""Run the conformance suite, as a user would, against the reference replica with a fault on.

Every run is the documented command (`python -m conformance run`) in a subprocess of its own:
the ci profile (derandomized, so a fixed seed), the embedded reference replica started by the
suite with `--inject-fault NAME`, one replica per run, artifacts in a directory of the run.
The kill matrix adds `-x` (stop at the first failing test) and the probe plugin
(`tests.mutants.probe`: scenarios first, and when the first violation happened).

What a run found is read back from what the suite leaves for its users: the exit status, the
failure artifacts (`failures/*.replay.json`, whose `rules` are the rule ids the failure
cites, next to the `.history.jsonl`), the report (`conformance-report.json`: a replay keeps
its own under `replays/NAME/` and saves no replay file of the replay) and the probe's note.
A saved failure is then re-executed with `--replay FILE` against a replica with the same
fault: it must fail again, citing the same rule.

Faults of the SHOULD robustness rules (TRANS-4, TRANS-5) fail a run only in strict mode, so
their runs add `--conformance-strict`, and so does the clean run (the reference replica must
not even warn). Their failures come from the robustness probes, which are not steps: such a
failure is reproduced by running its test again instead of `--replay`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from conformance.history import read_history
from conformance.oracle import ControllerError, Oracle
from conformance.rules import RULES
from reference_replica import faults
from tests.mutants.probe import OUT_VARIABLE, STOP_VARIABLE

ROOT: Final = Path(__file__).resolve().parents[2]
PROFILE: Final = "ci"
PATIENCE: Final = 5.0
"""Seconds an owed answer may take (the ci profile's own is 20). The reference replica answers
in milliseconds, so 5 s keeps a wide margin on a loaded machine, and it makes the liveness
faults (a third of the zoo) cost a quarter of the time. The clean runs use the same value."""
REPLAY_RUNS: Final = 3
RUN_TIMEOUT: Final = 600.0  # seconds: a run that takes longer is reported, never waited for
MACHINES: Final = ROOT / "conformance" / "suite" / "test_machines.py"
MACHINE_TESTS: Final = ("test_read_only_machine", "test_protocol_machine")


@dataclass(frozen=True)
class FirstViolation:
    seconds: float  # since the suite's session started
    steps: int  # steps the suite had executed, the violating one included
    rules: list[str]
    test: str


@dataclass(frozen=True)
class Failure:
    """One failure the suite saved: its replay file, its history and the rules it cites."""

    replay_file: Path
    history_file: Path
    rules: list[str]
    test: str
    steps: int  # the length of the (shrunk) step sequence that replays it

    @staticmethod
    def load(path: Path) -> Failure:
        data = json.loads(path.read_text())
        replay = data.get("replay", {})
        return Failure(
            replay_file=path,
            history_file=path.with_name(replay.get("history", path.name.replace(".replay.json", ".history.jsonl"))),
            rules=list(data.get("rules", [])),
            test=str(replay.get("test", "")),
            steps=len(data.get("steps", [])),
        )


def offline_mismatch(failure: Failure) -> str:
    """How `python -m conformance check` on the failure's history disagrees with the live run
    ("" when it does not): the same MUST rules exactly, and every SHOULD rule the failure cites.
    A history that holds every event its verdicts name reaches them again on its own."""
    try:
        events = read_history(failure.history_file).events
        oracle = Oracle()
        oracle.consume_all(events)
    except (OSError, ValueError, ControllerError) as exc:
        return f"{failure.history_file.name} cannot be judged offline: {exc}"
    offline_must = {v.rule for v in oracle.violations}
    offline_should = {v.rule for v in oracle.warnings}
    live_must = {r for r in failure.rules if RULES[r].level == "MUST"}
    live_should = set(failure.rules) - live_must
    if offline_must == live_must and live_should <= offline_should:
        return ""
    offline = ", ".join(sorted(offline_must | offline_should)) or "nothing"
    live = ", ".join(sorted(failure.rules)) or "nothing"
    return f"offline check of {failure.history_file.name} cites {offline}, the live run {live}"


@dataclass(frozen=True)
class SuiteRun:
    fault: str | None
    command: list[str]
    exit_code: int
    seconds: float
    failures: list[Failure] = field(default_factory=list)
    first: FirstViolation | None = None
    output: str = ""
    reported: list[str] = field(default_factory=list)  # rules the run's report shows violated

    @property
    def cited(self) -> list[str]:
        """Every rule id the run's failures cite, first failure first, then those its report shows."""
        return list(dict.fromkeys([*(r for f in self.failures for r in f.rules), *self.reported]))

    def offline_mismatches(self) -> list[str]:
        """Every saved failure whose history, re-judged offline, disagrees with the live verdicts."""
        return [m for f in self.failures if (m := offline_mismatch(f))]

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.failures

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def strict_for(fault: str | None) -> bool:
    """Runs in strict mode: the clean one, and those of faults that break a SHOULD rule."""
    if fault is None:
        return True
    known = faults.REGISTRY.get(fault)  # (the matrix report shows the command for a placeholder NAME)
    return known is not None and RULES[known.rule].level == "SHOULD"


def replica_command(fault: str | None, variants: Sequence[str] = ()) -> str:
    command = "{python} -m reference_replica --listen 127.0.0.1:{port}"
    command += "".join(f" --variant {name}" for name in variants)
    return command if fault is None else f"{command} --inject-fault {fault}"


def suite_command(
    fault: str | None,
    artifacts: Path,
    *,
    patience: float = PATIENCE,
    first_failure: bool = True,
    variants: Sequence[str] = (),
) -> list[str]:
    """The suite as the kill matrix runs it; the clean runs use it too (with `fault=None`), and
    the legal-variant matrix with `variants` (`tests/variants`): strict, like the clean run."""
    command = [sys.executable, "-m", "conformance", "run", "-p", "tests.mutants.probe", "-q"]
    command += ["-p", "no:cacheprovider", "--conformance-profile", PROFILE]
    command += ["--conformance-patience", f"{patience:g}", "--conformance-artifacts", str(artifacts)]
    command += ["--replica-cmd", replica_command(fault, variants)]
    if strict_for(fault):
        command.append("--conformance-strict")
    if first_failure:
        command.append("-x")
    return command


def caught_by_machines(first: FirstViolation | None, rules: tuple[str, ...]) -> bool:
    """The first violation came from a state machine, citing one of `rules`."""
    if first is None or not set(first.rules) & set(rules):
        return False
    name = first.test.rsplit("::", 1)[-1]
    return name.startswith(MACHINE_TESTS)


def machines_command(fault: str | None, artifacts: Path, *, patience: float = PATIENCE) -> list[str]:
    """The state machines alone (no scenarios, no robustness probes), every one of them (no -x):
    what they catch unaided."""
    command = [*suite_command(fault, artifacts, patience=patience, first_failure=False), str(MACHINES)]
    return command


def run_machines(fault: str, workdir: Path, *, patience: float = PATIENCE) -> SuiteRun:
    """The state machines alone against the faulty replica, ended by the probe at the first
    violation that cites one of the fault's rules (`first` is then that one): only whether and
    when they catch the fault matters here, not the shrunk example."""
    artifacts = workdir / f"{fault}-machines"
    command = machines_command(fault, artifacts, patience=patience)
    rules = ",".join(faults.REGISTRY[fault].rules)
    run = execute(command, fault, artifacts, env={STOP_VARIABLE: rules})
    return replace(run, first=_first_violation(artifacts / "probe.json", "stopped_at"))


def replay_command(failure: Failure, fault: str | None, artifacts: Path, *, patience: float = PATIENCE) -> list[str]:
    command = [sys.executable, "-m", "conformance", "run", "-q", "-p", "no:cacheprovider"]
    command += ["--conformance-profile", PROFILE, "--conformance-patience", f"{patience:g}"]
    command += ["--conformance-artifacts", str(artifacts), "--replica-cmd", replica_command(fault)]
    if strict_for(fault):
        command.append("--conformance-strict")
    if failure.steps == 0 and "test_robustness.py::" in failure.test:
        # A robustness probe: not steps, so its test runs again (the node id is the suite's).
        path, _, name = failure.test.partition("::")
        return [*command, f"{ROOT / 'conformance' / 'suite' / Path(path).name}::{name}"]
    # As a user replays it (three runs, as by default): an asynchronous replica may win a race
    # in one run, and the replay counts when it reproduces in any.
    command += ["--replay", str(failure.replay_file), "--replay-runs", str(REPLAY_RUNS)]
    return command


def execute(
    command: list[str],
    fault: str | None,
    artifacts: Path,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> SuiteRun:
    """Run `command` (from the repository root) and read back what the suite saved in `artifacts`."""
    shutil.rmtree(artifacts, ignore_errors=True)  # an earlier run's failures must not count for this one
    artifacts.mkdir(parents=True)
    probe_file = artifacts / "probe.json"
    env = {**os.environ, **(env or {}), OUT_VARIABLE: str(probe_file)}
    argv = [*command, *(extra or [])]
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        code, output = -1, f"{_text(expired.stdout)}{_text(expired.stderr)}\nno end after {RUN_TIMEOUT:g} s"
    seconds = time.monotonic() - started
    failures = sorted(
        (Failure.load(p) for p in (artifacts / "failures").glob("*.replay.json")),
        key=lambda f: f.replay_file.stat().st_mtime,
    )
    return SuiteRun(fault, argv, code, seconds, failures, _first_violation(probe_file), output, _reported(artifacts))


def run_suite(fault: str | None, workdir: Path, *, patience: float = PATIENCE, first_failure: bool = True) -> SuiteRun:
    artifacts = workdir / (fault or "clean")
    return execute(suite_command(fault, artifacts, patience=patience, first_failure=first_failure), fault, artifacts)


def replay(run: SuiteRun, workdir: Path, *, patience: float = PATIENCE) -> SuiteRun:
    """Re-execute the run's first saved failure against a replica with the same fault."""
    if not run.failures:
        raise ValueError(f"the run against {run.fault or 'the clean replica'} saved no failure to replay")
    artifacts = workdir / f"{run.fault or 'clean'}-replay"
    return execute(replay_command(run.failures[0], run.fault, artifacts, patience=patience), run.fault, artifacts)


def _first_violation(path: Path, key: str = "first_violation") -> FirstViolation | None:
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    first = data.get(key)
    if not first:
        return None
    return FirstViolation(float(first["seconds"]), int(first["steps"]), list(first["rules"]), str(first["test"]))


def _reported(artifacts: Path) -> list[str]:
    """Rules the run's report (or a replay's, under `replays/`) shows violated."""
    out: list[str] = []
    for path in [artifacts / "conformance-report.json", *sorted(artifacts.glob("replays/*/conformance-report.json"))]:
        try:
            data: Any = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out += [r["id"] for r in data.get("rules", []) if r.get("status") in ("failed", "warning", "known_failing")]
    return list(dict.fromkeys(out))


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
