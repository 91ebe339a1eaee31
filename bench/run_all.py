"""Run every benchmark of the project in turn (`make bench`); each prints its ratios with their baselines.

Arguments are handed to every bench: `--quick` for a smoke run, `--strict` to fail (exit 1)
when any ratio misses its target (`make bench BENCH_ARGS=--strict`). Modules whose name
starts with `_` are helpers, not benches.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCHES = sorted(p for p in HERE.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_"))


def main() -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "protos"), env.get("PYTHONPATH")]))
    load = os.getloadavg()
    print(f"== machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    failed = 0
    for bench in BENCHES:
        print(f"== {bench.name}", flush=True)
        started = time.monotonic()
        failed |= subprocess.run([sys.executable, str(bench), *sys.argv[1:]], env=env, cwd=ROOT).returncode
        print(f"== {bench.name}: {time.monotonic() - started:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
