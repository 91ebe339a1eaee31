"""Wall time of the whole ci profile, serial against `-n 2` (pytest-xdist), and examples per second.

Run from the repository root:

    PYTHONPATH=$PWD:$PWD/protos python bench/ci_scaling.py [--quick] [--strict] [--root DIR]

Each run is `python -m conformance run --conformance-profile ci` against the embedded reference
replica (what `make conformance` runs), once serial and once with `-n 2`, interleaved; the
figures are the wall time of the command and, from the run's own report, the examples the
state machines executed and the protocol steps they drove. Baseline: the serial run of the
same round. Target: `-n 2` takes at most 0.6x the serial wall time (two workers, two
replicas, on two cores). Every run must pass: a failing run is no measurement.

`--root DIR` measures another checkout of the suite (e.g. an older commit, for a before/after
comparison) with this interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench._report import Targets, add_arguments, median

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 1800.0  # the ci profile's own run deadline


@dataclass(frozen=True)
class Run:
    workers: int
    seconds: float
    examples: int
    steps: int

    def line(self) -> str:
        return (
            f"  {'serial' if self.workers == 0 else f'-n {self.workers}':<7} {self.seconds:6.1f} s wall, "
            f"{self.examples} examples ({self.examples / self.seconds:5.1f}/s), "
            f"{self.steps} steps ({self.steps / self.seconds:5.0f}/s)"
        )


def run_ci(root: Path, workers: int, artifacts: Path, profile: str) -> Run:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "protos")])
    command = [sys.executable, "-m", "conformance", "run", "--conformance-profile", profile]
    command += ["--conformance-artifacts", str(artifacts), "-p", "no:cacheprovider", "-q"]
    if workers:
        command += ["-n", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = done.stdout[-3000:]
        raise SystemExit(f"the {profile} run (-n {workers}) did not pass (exit {done.returncode}):\n{tail}")
    report = json.loads((artifacts / "conformance-report.json").read_text())
    machines = report["timings"]["machines"]
    return Run(workers, seconds, sum(m["examples"] for m in machines), sum(m["steps"] for m in machines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout of the suite to measure")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (default 1)")
    args = parser.parse_args()
    profile = "quick" if args.quick else "ci"
    runs: dict[int, list[Run]] = {0: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for workers in runs:
                run = run_ci(args.root.resolve(), workers, Path(tmp) / f"{r}-{workers}", profile)
                runs[workers].append(run)
                print(f"  round {r + 1}:{run.line()}", file=sys.stderr, flush=True)
    where = args.root.resolve()
    print(f"the {profile} profile against the embedded reference replica ({os.cpu_count()} CPUs), {where}")
    for workers in runs:
        best = sorted(runs[workers], key=lambda x: x.seconds)[len(runs[workers]) // 2]
        print(best.line())
    serial = median([x.seconds for x in runs[0]])
    parallel = median([x.seconds for x in runs[2]])
    targets = Targets(strict=args.strict)
    targets.row("-n 2 wall / serial wall", parallel / serial, "<=", 0.6, f"{parallel:.1f} s vs {serial:.1f} s")
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
