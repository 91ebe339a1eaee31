"""The HTML report, opened by an HTML parser: one self-contained page with the verdict, every
rule of the registry by section, each failure with its wire excerpt and commands, and the
timings; and nothing the replica sends can inject markup into it."""

from __future__ import annotations

from html.parser import HTMLParser

from conformance.report.build import Report, RunInfo, build_report
from conformance.report.html import html_report
from conformance.report.results import RunResults
from conformance.rules import RULES, section_title


class Page(HTMLParser):
    """Every element's tag, attributes and text, and the ids of the rows of each table."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: dict[str, str] = {}  # element id -> its text
        self._open: list[tuple[str, str]] = []  # (tag, id) of the elements being read
        self._text: dict[str, list[str]] = {}
        self.feed(text)
        self.close()
        self.ids = {k: "".join(v) for k, v in self._text.items()}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag in ("meta", "link", "br", "img", "input"):
            return
        self._open.append((tag, values.get("id", "")))
        if values.get("id"):
            self._text[values["id"]] = []

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open:
            if element_id:
                self._text[element_id].append(data)


def info() -> RunInfo:
    return RunInfo(suite_version="1.2.3", profile="ci", target="127.0.0.1:6876", seed="derandomized", duration_s=91.5)


def report(results: RunResults) -> Report:
    titles = {r.section: section_title(r.section) for r in RULES.values()}
    return build_report(RULES.values(), titles, results, info())


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def failing_results() -> RunResults:
    r = RunResults(tests_run=5, tests_selected=5, tests_failed=1)
    r.add_exercised(dict.fromkeys(RULES, 3))
    text = (
        "PEEK-1 [MUST safety] on c3, peek 0x07\n  expected: nothing\n  last messages on the stream:\n"
        f"    +0.018s <- PeekResponse(0x07, Error({HOSTILE}))"
    )
    r.add_violation(
        "PEEK-1",
        text,
        "conformance/suite/test_machines.py::test_protocol_machine[2]",
        "/a/failures/m-PEEK-1.replay.json",
        rerun="/venv/bin/python -m pytest --replica-addr 127.0.0.1:6876 --replay /a/failures/m-PEEK-1.replay.json",
        check="/venv/bin/python -m conformance check /a/failures/m-PEEK-1.history.jsonl",
    )
    r.machines.append(
        {"test": "conformance/suite/test_machines.py::test_protocol_machine[2]", "examples": 41, "planned": 100,
         "shrinks": 12, "steps": 1230, "rules_exercised": 66, "violated": ["PEEK-1"], "seconds": 30.5,
         "waiting_s": 21.0, "generating_s": 0.4}
    )
    r.timings["conformance/suite/test_machines.py::test_protocol_machine[2]"] = 30.5
    return r


def test_every_rule_of_the_registry_is_a_row_of_its_section() -> None:
    page = Page(html_report(report(failing_results())))
    for rule in RULES.values():
        row = page.ids.get(f"rule-{rule.id}")
        assert row is not None and row.startswith(rule.id), rule.id
        assert f"section-{rule.section}" in page.ids
        assert page.ids[f"section-{rule.section}"] == f"{rule.section}. {section_title(rule.section)}"
    assert "FAIL" in page.ids["rule-PEEK-1"] and "pass" in page.ids["rule-PEEK-2"]


def test_the_verdict_a_failure_its_wire_excerpt_commands_and_timings() -> None:
    r = report(failing_results())
    text = html_report(r)
    page = Page(text)
    assert page.ids["verdict"] == f"{r.verdict.headline()} (exit status 1)"
    assert page.ids["reasons"] == "MUST rule(s) violated: PEEK-1"
    failure = page.ids["violation-PEEK-1"]
    assert "last messages on the stream" in failure and "PeekResponse(0x07" in failure
    assert "--replay /a/failures/m-PEEK-1.replay.json" in failure
    assert "-m conformance check /a/failures/m-PEEK-1.history.jsonl" in failure
    assert "test_protocol_machine[2]" in page.ids["timings"] and "1230" in page.ids["timings"]
    # The replica's text is text: no script element, no element with an event handler.
    assert HOSTILE in failure
    assert [t for t, _ in page.tags if t == "script"] == []
    assert [t for t, a in page.tags if t == "img" or any(k.startswith("on") for k in a)] == []
    # Self-contained: nothing fetched from elsewhere.
    assert not [a for _, a in page.tags if a.get("src") or (a.get("href") and not a["href"].startswith("#"))]
    assert text.startswith("<!DOCTYPE html>")


def test_a_passing_run_has_no_violations_section() -> None:
    r = RunResults(tests_run=3, tests_selected=3)
    r.add_exercised(dict.fromkeys(RULES, 1))
    page = Page(html_report(report(r)))
    assert page.ids["verdict"].startswith("PASS") and "violations" not in page.ids and "reasons" not in page.ids
    assert all(f"rule-{rid}" in page.ids for rid in RULES)
