"""One JUnit test case per spec section, appended to the file pytest's --junitxml wrote.

CI dashboards show test cases, and users triage by rule, not by Hypothesis test function;
so next to pytest's own suite we add `<testsuite name="conformance-rules">` whose cases are
the spec sections, each failing with its first violation, and a first case `verdict` that
carries the run's verdict (it fails, with the reasons, whenever the run did not PASS: a dead
replica fails no section but still fails the run).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby
from pathlib import Path

from conformance.report.build import Report

SUITE_NAME = "conformance-rules"
_FAILING = ("failed", "unexpected_pass")


def append_rule_suite(path: str | Path, report: Report) -> None:
    p = Path(path)
    tree = ET.parse(p)
    root = tree.getroot()
    if root.tag != "testsuites":  # older junit families write a bare <testsuite>
        wrapper = ET.Element("testsuites")
        wrapper.append(root)
        root = wrapper
        tree = ET.ElementTree(root)
    for old in root.findall(f"testsuite[@name='{SUITE_NAME}']"):
        root.remove(old)
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
    tests = failures = skipped = 0
    tests += 1
    verdict_case = ET.SubElement(suite, "testcase", classname=SUITE_NAME, name="verdict", time="0")
    if not report.verdict.passed:
        failures += 1
        failure = ET.SubElement(verdict_case, "failure", message=report.verdict.headline()[:300])
        failure.text = "\n".join(report.exit_reasons)
    ET.SubElement(verdict_case, "system-out").text = (
        f"verdict: {report.verdict.headline()} (exit status {report.verdict.exit_code})"
    )
    for (section, title), group in groupby(report.lines, key=lambda x: (x.section, x.section_title)):
        lines = list(group)
        tests += 1
        case = ET.SubElement(suite, "testcase", classname=SUITE_NAME, name=f"{section}. {title}", time="0")
        bad = [x for x in lines if x.status in _FAILING]
        graded = [
            x
            for x in lines
            if x.status in ("passed", "failed", "unexpected_pass", "known_failing", "warning", "not_exercised")
        ]
        if bad:
            failures += 1
            first = bad[0]
            text = first.first_violation or f"{first.id} is listed as known-failing but passed"
            failure = ET.SubElement(case, "failure", message=f"{', '.join(x.id for x in bad)}: {text[:300]}")
            failure.text = "\n\n".join(
                f"{x.id}: {x.first_violation or 'passed but listed as known-failing'}" for x in bad
            )
        elif not any(x.exercised or x.violations for x in graded):
            skipped += 1
            ET.SubElement(case, "skipped", message="no rule of this section was exercised or graded")
        summary = ", ".join(f"{x.id}={x.status}({x.exercised})" for x in lines)
        ET.SubElement(case, "system-out").text = summary
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(tree)
    tree.write(p, encoding="utf-8", xml_declaration=True)
