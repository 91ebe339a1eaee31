"""`check HISTORY`: re-run every checker on a recorded history and print the verdicts.

The oracle sees exactly the events of the live run, with their timestamps, so it reaches the
same verdicts; `--patience` judges the liveness rules with another budget instead of the one
the run recorded. Exit status: 0 if no MUST rule was broken (and, with `--strict`, no SHOULD
rule either), 1 if one was, 2 if the history cannot be judged (unreadable, or it records a
command that breaks a CTRL rule, which is a bug of the suite that wrote it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from conformance.history import HistoryFile
from conformance.oracle import ControllerError, Oracle, format_violation

EXIT_OK, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("check", help="re-check a recorded history offline")
    p.add_argument("history", type=Path, help="a history file (JSON lines) written by a run")
    p.add_argument(
        "--patience", type=float, default=None, help="liveness budget in seconds (default: as recorded)"
    )
    p.add_argument("--strict", action="store_true", help="SHOULD-level warnings fail the check too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = HistoryFile(args.history)
    events = iter(source)  # judged as read: a long history is never held whole
    oracle = Oracle(patience=args.patience)
    count = 0
    while True:
        try:
            event = next(events, None)
        except (OSError, ValueError) as exc:
            print(f"error: cannot read {args.history}: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
        if event is None:
            break
        try:
            oracle.consume(event)
        except ControllerError as exc:
            print(
                f"error: the history breaks a controller rule, so nothing after it can be judged: {exc}",
                file=sys.stderr,
            )
            return EXIT_UNUSABLE
        count += 1
    if source.torn:
        print(
            f"note: the last line of {args.history} was cut short (a crash?) and is ignored", file=sys.stderr
        )
    for v in oracle.violations:
        print(format_violation(v))
        print()
    for v in oracle.warnings:
        print(format_violation(v))
        print()
    for note in oracle.notes:
        print(f"not judged: {note}")
    pending = oracle.describe_obligations()
    if pending:
        print(f"{len(pending)} obligation(s) still open when the history ends (not yet due, so no verdict):")
        for line in pending:
            print(f"  {line}")
        print()
    print(
        f"{count} events: {len(oracle.violations)} violation(s) of MUST rules, "
        f"{len(oracle.warnings)} warning(s) on SHOULD rules"
    )
    failed = bool(oracle.violations) or (args.strict and bool(oracle.warnings))
    return EXIT_VIOLATIONS if failed else EXIT_OK
