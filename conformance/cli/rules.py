"""`rules`: the rule registry as a table (or JSON), filtered by level, kind or section."""

from __future__ import annotations

import argparse
import json
import shutil
from typing import Any

from conformance.rules import KINDS, LEVELS, RULES, Rule, section_title


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("rules", help="list the rule registry")
    p.add_argument("--json", action="store_true", help="print the registry as JSON")
    p.add_argument("--level", choices=LEVELS, help="only rules of this level")
    p.add_argument("--kind", choices=KINDS, help="only rules of this kind")
    p.add_argument("--section", type=int, help="only rules of this spec section")
    p.set_defaults(run=run)


def _selected(args: argparse.Namespace) -> list[Rule]:
    return [
        r
        for r in RULES.values()
        if (args.level is None or r.level == args.level)
        and (args.kind is None or r.kind == args.kind)
        and (args.section is None or r.section == args.section)
    ]


def _as_json(r: Rule) -> dict[str, Any]:
    return {
        "id": r.id,
        "level": r.level,
        "kind": r.kind,
        "section": r.section,
        "section_title": section_title(r.section),
        "summary": r.summary,
        "upstream": list(r.upstream),
        "observed_by": r.observed_by,
    }


def run(args: argparse.Namespace) -> int:
    rules = _selected(args)
    if args.json:
        print(json.dumps([_as_json(r) for r in rules], indent=2))
        return 0
    width = max(shutil.get_terminal_size((120, 20)).columns, 80)
    fixed = 11 + 7 + 11 + 4
    room = width - fixed
    print(f"{'ID':<11}{'LEVEL':<7}{'KIND':<11}{'SEC':<4}SUMMARY")
    for r in rules:
        text = r.summary if len(r.summary) <= room else r.summary[: room - 3] + "..."
        print(f"{r.id:<11}{r.level:<7}{r.kind:<11}{r.section:<4}{text}")
    print(f"{len(rules)} rule(s)")
    return 0
