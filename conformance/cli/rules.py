"""`rules`: the rule registry as a table (or JSON), filtered by level, kind or section; or, given
rule ids, each rule whole: its text, where the suite checks it, which scenarios show it, and
which mutants of the reference replica break it (and which legal variants exercise it)."""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import sys
import textwrap
from typing import Any

from conformance.rules import KINDS, LEVELS, RULES, Rule, section_title
from conformance.rules.where import checked_in, mutants_for, scenarios_for, variants_for


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "rules", help="list the rule registry, or show rules whole (`rules PEEK-1`)"
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="show these rules whole (e.g. PEEK-1; case does not matter)")
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


_NO_MUTANT = {
    "MAY": "none (a permission cannot be broken; legal variants take its other branch)",
    "CTRL": "none (a controller rule binds the suite's own driver)",
}


def _detail(r: Rule) -> list[str]:
    wrap = textwrap.TextWrapper(width=96, initial_indent="  ", subsequent_indent="  ")
    lines = [f"{r.id}  {r.level} {r.kind}, section {r.section} ({section_title(r.section)})", ""]
    lines += wrap.wrap(r.summary)
    lines += ["", f"upstream:    {', '.join(r.upstream) or '-'}"]
    lines.append(f"observed by: {r.observed_by}")
    places = checked_in(r.id)
    lines.append("checked in:  " + ("\n             ".join(places) if places else "nowhere in the suite's code"))
    scenarios = scenarios_for(r.id)
    lines.append("scenarios:   " + (", ".join(scenarios) if scenarios else "none lists it"))
    none = _NO_MUTANT.get(r.level, "no fault of the mutant zoo breaks it")
    lines += _replicas("mutants:    ", mutants_for(r.id), none)
    variants = variants_for(r.id)
    if variants:
        lines += _replicas("variants:   ", variants, "")
    return lines


def _replicas(label: str, entries: list[dict[str, str]], none: str) -> list[str]:
    """`--inject-fault NAME` (or `--variant NAME`) lines of the reference replica, one per entry."""
    if not entries:
        return [f"{label} {none}"]
    out = []
    for n, e in enumerate(entries):
        source = f" ({e['source']})" if e.get("source") else ""
        out.append(f"{label if n == 0 else ' ' * len(label)} {e['name']}{source}: {e['description']}")
    return out


def _show(ids: list[str], as_json: bool) -> int:
    found: list[Rule] = []
    for raw in ids:
        rule = RULES.get(raw.upper())
        if rule is None:
            close = difflib.get_close_matches(raw.upper(), list(RULES), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; `rules` lists them all"
            print(f"error: no rule {raw!r}{hint}", file=sys.stderr)
            return 2
        found.append(rule)
    if as_json:
        out = [
            {
                **_as_json(r),
                "checked_in": checked_in(r.id),
                "scenarios": scenarios_for(r.id),
                "mutants": mutants_for(r.id),
                "variants": variants_for(r.id),
            }
            for r in found
        ]
        print(json.dumps(out, indent=2))
        return 0
    print("\n\n".join("\n".join(_detail(r)) for r in found))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.ids:
        return _show(args.ids, args.json)
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
