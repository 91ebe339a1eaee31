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
import time
from dataclasses import dataclass
from pathlib import Path

from conformance.cli.run import plugin_installed

ROOT = Path(__file__).resolve().parents[2]
# Installed (as `make` does), the entry point loads the plugin; naming it again is an error.
PLUGIN = () if plugin_installed() else ("-p", "conformance.session.plugin")


# Runs pytest, then writes the process's own peak RSS (KiB) to the file named by $PEAK_RSS_FILE:
# the suite's memory alone (the replicas it starts are other processes).
_WITH_PEAK_RSS = (
    "import os, resource, sys, pytest\n"
    "code = pytest.main(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "open(os.environ['PEAK_RSS_FILE'], 'w').write(str(peak))\n"
    "sys.exit(int(code))\n"
)


@dataclass
class Result:
    ret: int
    stdout: str
    stderr: str
    seconds: float = 0.0
    peak_rss_mib: float | None = None  # the pytest process's peak RSS, when asked for

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


def run_pytest(
    directory: Path,
    *args: str,
    timeout: float = 240,
    env: dict[str, str] | None = None,
    peak_rss: bool = False,
) -> Result:
    """`python -m pytest -p conformance.session.plugin ARGS` in `directory`, with this checkout importable.

    `peak_rss`: also measure the pytest process's peak resident memory (`Result.peak_rss_mib`)."""
    environ = dict(os.environ)
    environ.pop("PYTEST_XDIST_WORKER", None)
    environ.pop("PYTEST_XDIST_TESTRUNUID", None)
    environ.pop("PYTEST_ADDOPTS", None)
    environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "protos"), os.environ.get("PYTHONPATH")) if p
    )
    environ.update(env or {})
    rss_file = directory / ".peak-rss" if peak_rss else None
    launcher = ["-c", _WITH_PEAK_RSS] if rss_file is not None else ["-m", "pytest"]
    if rss_file is not None:
        environ["PEAK_RSS_FILE"] = str(rss_file)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, *launcher, *PLUGIN, "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - started
    peak = None
    if rss_file is not None:
        peak = int(rss_file.read_text()) / 1024
        rss_file.unlink()
    return Result(proc.returncode, proc.stdout, proc.stderr, seconds, peak)
