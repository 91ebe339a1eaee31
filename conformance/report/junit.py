"""The rules as JUnit test cases, appended to the file pytest's --junitxml wrote.

CI dashboards show test cases, and users triage by rule, not by Hypothesis test function; so
next to pytest's own suite we add one `<testsuite>` per spec section ("conformance-rules: 8.
Peeks and cancels") with one case per rule of that section, named by its id:

- it fails, with the first violation (and the commands that re-run and re-check it), exactly
  when the run's verdict holds the rule against the replica (`Verdict.blamed`: a broken MUST
  rule, a broken SHOULD rule in strict mode, a known-failing rule that passed, a MUST rule a
  full run left unexercised), so the dashboard and the verdict never disagree;
- it passes when the rule's check ran and held (a SHOULD rule broken outside strict mode
  passes too, with the warning in its output, as the verdict does);
- it is skipped otherwise, with the reason: not applicable, not exercised, known failing,
  or not graded (controller rules, permissions).

A suite "conformance-rules" comes first, with the run's properties and one case `verdict`
that carries the run's verdict: it fails, with the reasons, whenever the run did not PASS (a
dead replica fails no rule but still fails the run).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import groupby
from pathlib import Path

from conformance.report.build import Report, RuleLine
from conformance.report.verdict import Reason

SUITE_NAME = "conformance-rules"
PASSING = ("passed", "warning", "proven")
_MESSAGE = 300  # characters of a failure's or skip's one-line message (the element's text holds the rest)
_SKIPPED = {
    "not_applicable": "n/a: only features the replica does not declare (--capabilities) could exercise it",
    "not_exercised": "not exercised: no check of the rule ran in this run",
    "known_failing": "known failing (--known-failing)",
    "controller": "not graded: a controller rule binds the suite's own driver",
    "permission": "not graded: a permission, accepted both ways",
}


def section_suite_name(section: int, title: str) -> str:
    return f"{SUITE_NAME}: {section}. {title}"


def section_classname(section: int, title: str) -> str:
    """Dot-free below the first dot, so that dashboards that split class names on dots
    (package.class) show the section as one class."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"{SUITE_NAME}.{section:02d}-{slug}"


def append_rule_suite(path: str | Path, report: Report) -> None:
    p = Path(path)
    tree = ET.parse(p)
    root = tree.getroot()
    if root.tag != "testsuites":  # older junit families write a bare <testsuite>
        wrapper = ET.Element("testsuites")
        wrapper.append(root)
        root = wrapper
        tree = ET.ElementTree(root)
    for old in root.findall("testsuite"):
        name = old.get("name") or ""
        if name == SUITE_NAME or name.startswith(f"{SUITE_NAME}: "):
            root.remove(old)
    _verdict_suite(root, report)
    blamed = report.verdict.blamed()
    for (section, title), group in groupby(report.lines, key=lambda x: (x.section, x.section_title)):
        suite = ET.SubElement(root, "testsuite", name=section_suite_name(section, title))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for line in group:
            counts["tests"] += 1
            outcome = _rule_case(suite, section_classname(section, title), line, blamed.get(line.id))
            if outcome in counts:
                counts[outcome] += 1
        for key, n in counts.items():
            suite.set(key, str(n))
    ET.indent(tree)
    tree.write(p, encoding="utf-8", xml_declaration=True)


def _verdict_suite(root: ET.Element, report: Report) -> None:
    suite = ET.SubElement(root, "testsuite", name=SUITE_NAME)
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("suite_version", report.info.suite_version),
        ("profile", report.info.profile),
        ("target", report.info.target),
        ("seed", report.info.seed),
        ("verdict", report.verdict.word),
        ("exit_status", str(report.verdict.exit_code)),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    case = ET.SubElement(suite, "testcase", classname=SUITE_NAME, name="verdict", time="0")
    if not report.verdict.passed:
        failure = ET.SubElement(case, "failure", message=report.verdict.headline()[:_MESSAGE])
        failure.text = "\n".join(report.exit_reasons)
    ET.SubElement(case, "system-out").text = (
        f"verdict: {report.verdict.headline()} (exit status {report.verdict.exit_code})"
    )
    failed = "0" if report.verdict.passed else "1"
    for key, value in (("tests", "1"), ("failures", failed), ("errors", "0"), ("skipped", "0")):
        suite.set(key, value)


def _rule_case(suite: ET.Element, classname: str, line: RuleLine, blame: Reason | None) -> str:
    """One rule's case; returns its outcome ("failures", "skipped" or "passed")."""
    case = ET.SubElement(suite, "testcase", classname=classname, name=line.id, time="0")
    out = [f"{line.id} [{line.level} {line.kind}] {line.summary}"]
    out.append(f"status: {line.status}, exercised {line.exercised}x")
    if blame is not None:
        detail = _failure_text(line, blame)
        failure = ET.SubElement(case, "failure", message=_first_line(detail)[:_MESSAGE], type=blame.kind)
        failure.text = detail
        outcome = "failures"
    elif line.status in PASSING:
        if line.status == "warning":
            out.append(f"warning (fails only with --conformance-strict): {line.first_violation}")
        outcome = "passed"
    else:
        why = _SKIPPED.get(line.status, line.status)
        if line.reason:
            why = f"{why} ({line.reason})"
        if line.status == "known_failing" and line.first_violation:
            why = f"{why}: {_first_line(line.first_violation)}"
        ET.SubElement(case, "skipped", message=why[:_MESSAGE]).text = why if len(why) > _MESSAGE else None
        outcome = "skipped"
    ET.SubElement(case, "system-out").text = "\n".join(out)
    return outcome


def _failure_text(line: RuleLine, blame: Reason) -> str:
    if line.status == "unexpected_pass":
        return f"{line.id} is listed as known failing (--known-failing) but passed: remove it from the list"
    if line.status == "not_exercised":
        return f"{line.id} was not exercised by a full run: {blame.text}"
    parts = [line.first_violation or blame.text]
    if line.test:
        parts.append(f"test: {line.test}")
    for label, command in (("re-run", line.rerun), ("check", line.check)):
        if command:
            parts.append(f"{label}: {command}")
    return "\n\n".join(parts[:1]) + ("\n\n" + "\n".join(parts[1:]) if parts[1:] else "")


def _first_line(text: str) -> str:
    return next((x for x in text.splitlines() if x.strip()), text)
