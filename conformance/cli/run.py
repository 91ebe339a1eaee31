"""`python -m conformance run [pytest args...]`: run the suite against the bundled reference
replica (or whatever the arguments say), the way `make conformance` does.

Everything after `run` is handed to pytest unchanged, with `--conformance` added so that the
suite is collected when no path is given, and the plugin loaded explicitly when the package
is not installed (from a checkout its entry point is not registered).
"""

from __future__ import annotations

import argparse
from importlib import metadata

ENTRY_POINT = "compute_conformance"


def plugin_installed() -> bool:
    return any(ep.name == ENTRY_POINT for ep in metadata.entry_points(group="pytest11"))


def pytest_args(extra: list[str]) -> list[str]:
    args = [] if plugin_installed() else ["-p", "conformance.session.plugin"]
    # This command imported `conformance` before pytest started, so pytest cannot rewrite the
    # plugin's asserts and says so; the suite's verdicts never rely on assert rewriting.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    return [*args, *quiet, "--conformance", *extra]


def run(extra: list[str]) -> int:
    import pytest

    return int(pytest.main(pytest_args(extra)))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `run` to `python -m conformance` (see conformance.cli)."""
    p = subparsers.add_parser(
        "run",
        help="run the conformance suite with pytest (default: against the bundled reference replica)",
        description="Every argument after `run` goes to pytest, e.g. --conformance-profile quick, "
        "--replica-addr HOST:PORT, -n 2, --junitxml FILE (`run -h` shows pytest's help).",
        prefix_chars="+",  # so that pytest's own -x/--options are not parsed here
        add_help=False,
    )
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    p.set_defaults(run=lambda ns: run(list(ns.pytest_args)))
