"""`python -m conformance`: the suite's command line.

Each subcommand lives in its own module with a `register(subparsers)` function that adds its
parser and sets `run` (a function of the parsed arguments returning the exit code). Adding a
subcommand (the plugin's `run`) means writing such a module and listing it in `SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from conformance.cli import check, rules, run
from conformance.version import version_text

SUBCOMMANDS: list[ModuleType] = [check, rules, run]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Conformance suite for the compute protocol (controller <-> replica).",
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the suite's, the protocol's and the spec's versions"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


class _Version(argparse.Action):
    """argparse's own version action rewraps the text into one paragraph; these are three lines."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_text())
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code
