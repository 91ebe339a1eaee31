"""The progress line and the machine statistics, as a user sees them: a small read-only machine
run against the bundled replica, on a terminal (a pseudo-terminal), into a pipe, with -q, under
xdist, and with --hypothesis-show-statistics."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.plugin.subrun import PLUGIN, ROOT, Result, run_pytest

SMALL = ("--conformance-profile", "quick", "--conformance-examples", "3", "--conformance-steps", "6")
ONE_MACHINE = (*SMALL, "-k", "test_read_only_machine")
LINE = re.compile(r"test_read_only_machine: (\d+)/3 examples, \d+ steps, \d+ rules exercised, no violation, [\d.]+ s")


def on_a_terminal(directory: Path, *args: str, timeout: float = 240) -> str:
    """pytest's output when its stdout and stderr are a terminal (120 columns)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_ADDOPTS"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(ROOT / "protos"), os.environ.get("PYTHONPATH")) if p)
    env.update(COLUMNS="120", LINES="40")  # as the terminal says (a COLUMNS inherited from elsewhere would win)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    return b"".join(chunks).decode(errors="replace")


def progress_lines(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if LINE.search(line)]


def test_a_terminal_gets_one_live_line_rewritten_in_place(tmp_path: Path) -> None:
    out = on_a_terminal(tmp_path, *ONE_MACHINE)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "1 passed" in plain, plain[-3000:]
    updates = [m for m in re.finditer(r"\r  (test_read_only_machine: \d+/3 examples[^\r\n]*)", plain)]
    assert updates, plain[-3000:]
    final = LINE.search(updates[-1].group(1))
    assert final is not None and final.group(1) == "3", updates[-1].group(1)
    # Rewritten in place: between the first update and the last there is no new line.
    between = plain[updates[0].start() : updates[-1].end()]
    assert "\n" not in between
    # The final state stays, and pytest's result follows on a line of its own.
    after = plain[updates[-1].end() :]
    assert re.match(r"\s*\r?\ntest_machines\.py \.", after), after[:200]


def test_a_pipe_gets_plain_lines_and_the_statistics(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, *ONE_MACHINE, "--hypothesis-show-statistics")
    assert result.ret == 0, result.stdout[-3000:]
    assert "\r" not in result.stdout
    lines = progress_lines(result)
    assert lines and lines[-1].startswith("  test_read_only_machine: 3/3 examples"), result.stdout[:3000]
    out = result.stdout
    assert out.index("test_machines.py \n") < out.index(lines[-1]) < out.index("test_machines.py .")
    # --hypothesis-show-statistics: per machine, under Hypothesis's own header.
    stats = out[out.index("Hypothesis Statistics") :]
    assert "test_machines.py::test_read_only_machine:" in stats
    for fragment in (
        "3 of 3 examples generated",
        "s generating data, ",
        "s waiting for the replica, ",
        "rules drawn (steps by op): ",
        "registry rules exercised: ",
        "violations: none",
        "Stopped because settings.max_examples=3",
    ):
        assert fragment in stats, fragment


@pytest.mark.slow
def test_quiet_runs_show_no_progress(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, *ONE_MACHINE, "-q")
    assert result.ret == 0, result.stdout[-3000:]
    assert not progress_lines(result) and "examples," not in result.stdout + result.stderr


@pytest.mark.slow
def test_xdist_workers_print_plain_lines_with_their_id(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, *SMALL, "-n", "2", "-k", "machine")
    assert result.ret == 0, result.stdout[-3000:]
    workers = re.findall(r"\[(gw[01])\] (test_\w+(?:\[\d\])?): \d+/3 examples", result.stdout + result.stderr)
    machines = {"test_read_only_machine", *(f"test_protocol_machine[{i}]" for i in range(4))}
    assert {name for _, name in workers} == machines, result.stdout[-3000:] + result.stderr[-3000:]
