"""The report as one self-contained HTML page: the verdict, the rules by section with their
counts, each failure with its wire excerpt and the commands that replay and re-check it, and
the timings. No script, no external stylesheet, nothing fetched: it opens from a CI artifact.

The page is built as an element tree (the standard library's `xml.etree.ElementTree`,
serialized with its HTML method) rather than from a template: every text the replica
controls (violations quote its responses) becomes element text, which the serializer always
escapes, so no replica output can inject markup, and there is no escape switch to forget.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from conformance.report.build import Report, RuleLine
from conformance.report.render import MARK

ORDER = ("failed", "unexpected_pass", "warning", "known_failing", "passed", "not_exercised", "not_applicable")


def _ordered(counts: Counter[str]) -> list[tuple[str, int]]:
    """Statuses that need attention first, then the graded ones, then the rest as they come."""
    rank = {s: n for n, s in enumerate(ORDER)}
    return sorted(counts.items(), key=lambda kv: rank.get(kv[0], len(ORDER)))

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d1d1f; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
.verdict { padding: .8em 1em; border-radius: 6px; font-size: 1.15em; font-weight: 600; }
.verdict.PASS { background: #e3f6e5; color: #145c1e; }
.verdict.FAIL { background: #fde4e1; color: #8a1c0f; }
.verdict.ERROR { background: #fff1d6; color: #7a4a00; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f5f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td:first-child { white-space: nowrap; }
.s-passed { color: #145c1e; } .s-failed, .s-unexpected_pass { color: #b3261e; font-weight: 600; }
.s-warning, .s-known_failing { color: #8a5a00; } .s-not_exercised, .s-not_applicable { color: #6e6e73; }
.s-controller, .s-permission { color: #6e6e73; font-style: italic; }
pre { background: #f5f5f7; padding: .6em .8em; overflow-x: auto; border-radius: 4px; white-space: pre-wrap; }
pre.cmd { background: #1d1d1f; color: #f5f5f7; }
.failure { border-left: 4px solid #b3261e; padding-left: 1em; margin: 1.5em 0; }
.muted { color: #6e6e73; }
"""


def html_report(report: Report) -> str:
    """The whole page, as text (`<!DOCTYPE html>` first)."""
    root = ET.Element("html", lang="en")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "meta", charset="utf-8")
    ET.SubElement(head, "meta", name="viewport", content="width=device-width, initial-scale=1")
    _el(head, "title", f"Conformance report: {report.verdict.word}")
    _el(head, "style", STYLE)
    body = ET.SubElement(root, "body")
    _el(body, "h1", "Conformance report")
    _header(body, report)
    _counts(body, report)
    _failures(body, [x for x in report.lines if x.first_violation])
    _sections(body, report.lines)
    _timings(body, report)
    _el(body, "p", f"compute-conformance {report.info.suite_version}", cls="muted")
    return "<!DOCTYPE html>\n" + ET.tostring(root, encoding="unicode", method="html") + "\n"


def _el(parent: ET.Element, tag: str, text: str = "", *, cls: str = "", **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {**attrs, **({"class": cls} if cls else {})})
    if text:
        element.text = text
    return element


def _table(parent: ET.Element, head: Iterable[str], rows: Iterable[Iterable[Any]], *, cls: str = "") -> ET.Element:
    table = _el(parent, "table", cls=cls)
    names = list(head)
    if names:
        tr = _el(table, "tr")
        for name in names:
            _el(tr, "th", name)
    for row in rows:
        tr = _el(table, "tr")
        for cell in row:
            if isinstance(cell, ET.Element):
                td = _el(tr, "td")
                td.append(cell)
            else:
                _el(tr, "td", str(cell), cls="num" if isinstance(cell, int | float) else "")
    return table


def _header(body: ET.Element, report: Report) -> None:
    v = report.verdict
    banner = _el(body, "div", cls=f"verdict {v.word}", id="verdict")
    banner.text = f"{v.headline()} (exit status {v.exit_code})"
    if v.reasons:
        reasons = _el(body, "ul", id="reasons")
        for reason in v.reasons:
            _el(reasons, "li", reason.text)
    i, r = report.info, report.results
    rows: list[tuple[str, str]] = [
        ("suite", f"compute-conformance {i.suite_version}"),
        ("profile", i.profile + (" (full run)" if i.full_run else "")),
        ("target", i.target),
        ("seed", i.seed),
        ("duration", f"{i.duration_s:.1f} s"),
        ("tests", f"{r.tests_run} run of {r.tests_selected} selected, {r.tests_failed} failed"),
    ]
    if i.strict:
        rows.append(("strict", "SHOULD violations fail the run"))
    if i.known_failing:
        rows.append(("known failing", ", ".join(sorted(i.known_failing))))
    if i.bounds:
        rows.append(("bounds", ", ".join(f"{k} {v}" for k, v in i.bounds.items())))
    if r.stopped:
        rows.append(("stopped early", r.stopped))
    _table(body, (), rows, cls="info")


def _counts(body: ET.Element, report: Report) -> None:
    _el(body, "h2", "Rules")
    counts = Counter(x.status for x in report.lines)
    rows = [(_status(s), n) for s, n in _ordered(counts)]
    _table(body, ("status", "rules"), rows, cls="counts")


def _failures(body: ET.Element, lines: list[RuleLine]) -> None:
    if not lines:
        return
    _el(body, "h2", "Violations", id="violations")
    for x in lines:
        box = _el(body, "div", cls="failure", id=f"violation-{x.id}")
        _el(box, "h3", f"{x.id} ({x.level} {x.kind}, {MARK.get(x.status, x.status)})")
        _el(box, "p", x.summary, cls="muted")
        facts = []
        if x.test:
            facts.append(("test", x.test))
        if x.artifact:
            facts.append(("replay file", x.artifact))
        if facts:
            _table(box, (), facts)
        if x.rerun or x.check:
            _el(box, "p", "Re-run it, and re-judge its history offline:")
            _el(box, "pre", "\n".join(c for c in (x.rerun, x.check) if c), cls="cmd")
        _el(box, "p", "The first violation, with the last messages on the stream:")
        _el(box, "pre", x.first_violation.rstrip(), cls="wire")


def _sections(body: ET.Element, lines: list[RuleLine]) -> None:
    _el(body, "h2", "Rules by section", id="sections")
    for (section, title), group in groupby(lines, key=lambda x: (x.section, x.section_title)):
        rules = list(group)
        counts = Counter(x.status for x in rules)
        summary = ", ".join(f"{n} {MARK.get(s, s)}" for s, n in _ordered(counts))
        _el(body, "h3", f"{section}. {title}", id=f"section-{section}")
        _el(body, "p", summary, cls="muted")
        table = _el(body, "table", cls="rules")
        head = _el(table, "tr")
        for name in ("rule", "level", "kind", "status", "exercised", "first violation or note"):
            _el(head, "th", name)
        for x in rules:
            tr = _el(table, "tr", id=f"rule-{x.id}")
            _el(tr, "td", x.id)
            _el(tr, "td", x.level)
            _el(tr, "td", x.kind)
            _el(tr, "td", MARK.get(x.status, x.status), cls=f"s-{x.status}")
            _el(tr, "td", str(x.exercised), cls="num")
            note = _el(tr, "td")
            if x.first_violation:
                _el(note, "a", _first_line(x.first_violation), href=f"#violation-{x.id}")
            else:
                note.text = x.reason or x.summary


def _timings(body: ET.Element, report: Report) -> None:
    r = report.results
    if not (r.timings or r.machines):
        return
    body = _el(body, "section", id="timings")
    _el(body, "h2", "Timings")
    if r.machines:
        _el(body, "h3", "State machines")
        rows = []
        for m in sorted(r.machines, key=lambda m: str(m.get("test", ""))):
            generating = m.get("generating_s")
            rows.append(
                (
                    _short_test(str(m.get("test", ""))),
                    f"{m.get('examples', 0)}/{m.get('planned', 0)}",
                    int(m.get("shrinks", 0)),
                    int(m.get("steps", 0)),
                    int(m.get("rules_exercised", 0)),
                    ", ".join(m.get("violated", [])) or "-",
                    float(m.get("seconds", 0.0)),
                    float(m.get("waiting_s", 0.0)),
                    "-" if generating is None else float(generating),
                )
            )
        head = ("test", "examples", "shrink candidates", "steps", "rules", "violated", "s", "s waiting", "s generating")
        _table(body, head, rows, cls="machines")
    if r.timings:
        _el(body, "h3", "Tests, slowest first")
        rows_t = [(_short_test(t), s) for t, s in sorted(r.timings.items(), key=lambda kv: -kv[1])]
        _table(body, ("test", "seconds"), rows_t, cls="tests")


def _status(status: str) -> ET.Element:
    span = ET.Element("span", {"class": f"s-{status}"})
    span.text = MARK.get(status, status)
    return span


def _short_test(node_id: str) -> str:
    return node_id.rpartition("/")[2] if "/" in node_id.split("::")[0] else node_id


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), text)[:300]
