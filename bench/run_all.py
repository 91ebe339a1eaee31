"""Run every benchmark of the project in turn (`make bench`); each prints its own ratios."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = sorted(p for p in HERE.glob("*.py") if p.name not in {"run_all.py", "__init__.py"})


def main() -> int:
    failed = 0
    for bench in BENCHES:
        print(f"== {bench.name}", flush=True)
        failed |= subprocess.run([sys.executable, str(bench), *sys.argv[1:]]).returncode
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
