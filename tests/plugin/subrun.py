"""Running pytest itself in a subprocess, in a scratch directory, with the plugin loaded.

(pytester would do, but it must be enabled from the top-level conftest, which this test
directory does not own; a subprocess is also what isolates gRPC and replica processes.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from conformance.cli.run import plugin_installed

ROOT = Path(__file__).resolve().parents[2]
# Installed (as `make` does), the entry point loads the plugin; naming it again is an error.
PLUGIN = () if plugin_installed() else ("-p", "conformance.session.plugin")


@dataclass
class Result:
    ret: int
    stdout: str
    stderr: str

    def outcomes(self) -> dict[str, int]:
        """Counts from pytest's last summary line: {"passed": 3, "failed": 1, "errors": 1, ...}."""
        pattern = r"\d+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b"
        lines = [line for line in self.stdout.splitlines() if re.search(pattern, line)]
        if not lines:
            return {}
        out: dict[str, int] = {}
        for n, word in re.findall(r"(\d+) (\w+)", lines[-1]):
            word = {"error": "errors", "warning": "warnings"}.get(word, word)
            out[word] = int(n)
        return out

    def assert_outcomes(self, **expected: int) -> None:
        got = {k: v for k, v in self.outcomes().items() if k in ("passed", "failed", "errors", "skipped", "xfailed")}
        assert got == expected, f"outcomes {got} != {expected}\n{self.stdout[-3000:]}\n{self.stderr[-2000:]}"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def run_pytest(directory: Path, *args: str, timeout: float = 240, env: dict[str, str] | None = None) -> Result:
    """`python -m pytest -p conformance.session.plugin ARGS` in `directory`, with this checkout importable."""
    environ = dict(os.environ)
    environ.pop("PYTEST_XDIST_WORKER", None)
    environ.pop("PYTEST_XDIST_TESTRUNUID", None)
    environ.pop("PYTEST_ADDOPTS", None)
    environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "protos"), os.environ.get("PYTHONPATH")) if p
    )
    environ.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
