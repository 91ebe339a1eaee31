"""`python -m conformance run`: every argument goes to pytest, with the suite requested."""

from __future__ import annotations

import argparse
import subprocess
import sys

from conformance.cli import run as run_command


def test_arguments_pass_through_to_pytest() -> None:
    parser = argparse.ArgumentParser()
    run_command.register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["run", "--conformance-profile", "quick", "-n", "2", "-k", "peek"])
    assert ns.pytest_args == ["--conformance-profile", "quick", "-n", "2", "-k", "peek"]
    assert parser.parse_args(["run"]).pytest_args == []


def test_the_suite_is_requested_and_the_plugin_loaded_when_not_installed() -> None:
    args = run_command.pytest_args(["-x"])
    assert args[-2:] == ["--conformance", "-x"]
    if not run_command.plugin_installed():
        assert args[:2] == ["-p", "conformance.session.plugin"]


def test_help_lists_the_suite_options_first() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    ours, pytest_own = text.index("--replica-addr"), text.index("pytest's own options follow")
    assert text.index("examples:") < ours < pytest_own < text.index("-k EXPRESSION")
    assert text.count("--replica-addr=REPLICA_ADDR") == 1  # moved, not repeated
