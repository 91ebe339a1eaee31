"""`python -m conformance run [pytest args...]`: run the suite against the bundled reference
replica (or whatever the arguments say), the way `make conformance` does.

Everything after `run` is handed to pytest unchanged, with `--conformance` added so that the
suite is collected when no path is given, and the plugin loaded explicitly when the package
is not installed (from a checkout its entry point is not registered).

`run --help` puts the suite's own options first: pytest's help is about 600 lines, and a user
asking this command for help wants the dozen options that choose the replica and the profile.
The section is cut out of pytest's own help text, so it always lists the options the plugin
really registers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from importlib import metadata

ENTRY_POINT = "compute_conformance"
GROUP_HEADER = "compute-protocol conformance suite:"

EXAMPLES = """\
usage: python -m conformance run [pytest options] [test paths]

Runs the conformance suite with pytest. Without an address option it starts the bundled
reference replica; every option below can also be set in the ini file (pyproject.toml).

examples:
  python -m conformance run                                   # ci profile, bundled replica
  python -m conformance run --conformance-profile quick       # a smoke run (~10 s)
  python -m conformance run --replica-addr 127.0.0.1:6876     # your running replica
  python -m conformance run -n 2 --replica-cmd './my-replica --listen 127.0.0.1:{port}'
  python -m conformance run --replay conformance-artifacts/failures/NAME.replay.json
  python -m conformance run --junitxml report.xml -k scenario # pytest's own options work too
  python -m conformance run --hypothesis-show-statistics      # per machine: examples, steps, time spent
"""


def plugin_installed() -> bool:
    return any(ep.name == ENTRY_POINT for ep in metadata.entry_points(group="pytest11"))


def pytest_args(extra: list[str]) -> list[str]:
    args = [] if plugin_installed() else ["-p", "conformance.session.plugin"]
    # This command imported `conformance` before pytest started, so pytest cannot rewrite the
    # plugin's asserts and says so; the suite's verdicts never rely on assert rewriting.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    return [*args, *quiet, "--conformance", *extra]


def wants_help(extra: list[str]) -> bool:
    return any(a in ("-h", "--help") for a in extra)


def split_help(text: str) -> tuple[str, str]:
    """(the suite's option group, pytest's help without it) from pytest's `--help` output."""
    lines = text.splitlines()
    try:
        start = lines.index(GROUP_HEADER)
    except ValueError:
        return "", text
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        if not lines[end].strip() and end + 1 < len(lines) and not lines[end + 1].startswith(" "):
            break
        end += 1
    group = "\n".join(lines[start:end]).rstrip()
    rest = "\n".join(lines[:start] + lines[end:])
    return group, rest


def show_help(extra: list[str]) -> int:
    import pytest

    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = int(pytest.main(pytest_args(extra)))
    group, rest = split_help(captured.getvalue())
    print(EXAMPLES)
    if group:
        print(group)
        print("\npytest's own options follow.\n")
    print(rest)
    return code


def run(extra: list[str]) -> int:
    if wants_help(extra):
        return show_help(extra)
    import pytest

    return int(pytest.main(pytest_args(extra)))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `run` to `python -m conformance` (see conformance.cli)."""
    p = subparsers.add_parser(
        "run",
        help="run the conformance suite with pytest (default: against the bundled reference replica)",
        description="Every argument after `run` goes to pytest, e.g. --conformance-profile quick, "
        "--replica-addr HOST:PORT, -n 2, --junitxml FILE (`run --help` lists the suite's options first).",
        prefix_chars="+",  # so that pytest's own -x/--options are not parsed here
        add_help=False,
    )
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest")
    p.set_defaults(run=lambda ns: run(list(ns.pytest_args)))
