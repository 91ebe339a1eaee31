"""The report as Markdown (for humans and CI summaries) and as a compact terminal table."""

from __future__ import annotations

from itertools import groupby

from conformance.report import coverage
from conformance.report.build import Report, RuleLine

MARK = {  # a rule status as every report shows it (the HTML page too)
    "passed": "pass",
    "failed": "FAIL",
    "not_exercised": "not exercised",
    "known_failing": "known failing",
    "unexpected_pass": "PASSED (listed as known failing)",
    "warning": "warning",
    "not_applicable": "n/a",
    "controller": "controller rule",
    "permission": "permission",
}


def _one_line(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def header_lines(report: Report) -> list[str]:
    i = report.info
    return [
        f"suite compute-conformance {i.suite_version}, profile {i.profile}, target {i.target}, seed {i.seed}",
        f"verdict: {report.verdict.headline()} (exit status {report.verdict.exit_code})",
    ]


def markdown(report: Report) -> str:
    i = report.info
    out = [
        "# Conformance report",
        "",
        f"- suite: compute-conformance {i.suite_version}",
        f"- profile: {i.profile}{' (full run)' if i.full_run else ''}",
        f"- target: {i.target}",
        f"- seed: {i.seed}",
        f"- duration: {i.duration_s:.1f} s",
        f"- tests run: {report.results.tests_run} of {report.results.tests_selected} selected"
        f" ({report.results.tests_failed} failed)",
        f"- verdict: **{report.verdict.word}** (exit status {report.verdict.exit_code})",
    ]
    out += [f"  - {_one_line(r, 2000)}" for r in report.exit_reasons]
    if i.bounds:
        out.append("- bounds: " + ", ".join(f"{k} {v}" for k, v in i.bounds.items()))
    counts = report.counts()
    out += ["", "| status | rules |", "|---|---|"]
    out += [f"| {MARK[s]} | {n} |" for s, n in counts.items() if n]
    failures = [x for x in report.lines if x.first_violation]
    if failures:
        out += ["", "## Violations", ""]
        for x in failures:
            out += [f"### {x.id} ({x.level}, {MARK[x.status]})", "", f"- test: `{x.test}`"]
            if x.artifact:
                out.append(f"- replay: `{x.artifact}`")
            if x.rerun or x.check:
                out += ["", "```bash", *(c for c in (x.rerun, x.check) if c), "```"]
            out += ["", "```", x.first_violation.rstrip(), "```", ""]
    out += ["", *coverage.markdown_lines(report.results.coverage, i.capabilities)]
    out += ["## Rules", ""]
    for (section, title), group in groupby(report.lines, key=lambda x: (x.section, x.section_title)):
        out += [
            f"### {section}. {title}",
            "",
            "| rule | level | kind | status | exercised | first violation |",
            "|---|---|---|---|---|---|",
        ]
        for x in group:
            first = _one_line(x.first_violation, 120).replace("|", "\\|")
            first = first or _one_line(x.reason, 120).replace("|", "\\|")
            out.append(f"| {x.id} | {x.level} | {x.kind} | {MARK[x.status]} | {x.exercised} | {first} |")
        out.append("")
    return "\n".join(out) + "\n"


def terminal_table(report: Report) -> list[str]:
    """A compact summary: the header, the counts, and one line per rule that needs attention."""
    lines = header_lines(report)
    counts = report.counts()
    lines.append("rules: " + ", ".join(f"{n} {MARK[s]}" for s, n in counts.items() if n))
    # Unexercised MUST rules matter in a full run (they fail it); in a partial run they are expected.
    unexercised = [x for x in report.lines if x.status == "not_exercised" and x.level == "MUST"]
    attention = [
        x
        for x in report.lines
        if x.status in ("failed", "unexpected_pass", "known_failing", "warning")
        or (report.info.full_run and x in unexercised and not x.reason)
    ]
    excused = [x for x in unexercised if x.reason]
    if excused:
        lines.append(f"not exercised: {', '.join(x.id for x in excused)}: {excused[0].reason}")
        unexercised = [x for x in unexercised if not x.reason]
    stopped = report.results.stopped
    if stopped:
        lines.append(f"the run stopped early: {_one_line(stopped, 300)}")
    if unexercised and not report.info.full_run and stopped:
        lines.append(f"{len(unexercised)} MUST rule(s) not exercised: the run stopped early")
    elif unexercised and not report.info.full_run:
        lines.append(
            f"{len(unexercised)} MUST rule(s) not exercised by this partial run: "
            + ", ".join(x.id for x in unexercised)
        )
    if attention:
        width = max(len(x.id) for x in attention)
        for x in attention:
            detail = _one_line(x.first_violation, 100) if x.first_violation else f"exercised {x.exercised}x"
            lines.append(f"  {x.id:<{width}}  {MARK[x.status]:<15} {detail}")
    lines += coverage.terminal_lines(report.results.coverage, report.info.capabilities)
    sections = _section_summary(report.lines)
    lines.append("by section: " + "  ".join(sections))
    lines += report.results.notes
    return lines


def _section_summary(lines: list[RuleLine]) -> list[str]:
    out = []
    for section, group in groupby(lines, key=lambda x: x.section):
        g = list(group)
        graded = [
            x
            for x in g
            if x.status in ("passed", "failed", "not_exercised", "known_failing", "unexpected_pass", "warning")
        ]
        if not graded:
            continue
        ok = sum(1 for x in graded if x.status == "passed")
        bad = sum(1 for x in graded if x.status in ("failed", "unexpected_pass"))
        out.append(f"{section}:{ok}/{len(graded)}" + (f"!{bad}" if bad else ""))
    return out
