"""The run's verdict: the one place that decides PASS, FAIL or ERROR, why, and the exit status.

The terminal summary, the JSON and Markdown reports, the JUnit rule suite and the process's
exit status all show the `Verdict` this module computes, so they can never disagree. PASS
needs every selected suite test to have passed (or been skipped or xfailed for a stated
reason), no replica trouble (dead, unreachable, silent, could not be started), no MUST rule
violated, and the coverage rules of a full run; anything else is FAIL when the replica is to
blame and ERROR when the run could not judge it (interrupted, the suite's own bug, bad
usage, nothing ran).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from conformance.report import coverage
from conformance.report.results import RunResults
from conformance.session.capabilities import Capabilities

EXIT_PASS: Final = 0
EXIT_FAIL: Final = 1
EXIT_INCOMPLETE: Final = 2
EXIT_SUITE_ERROR: Final = 3
EXIT_USAGE: Final = 4
EXIT_NO_TESTS: Final = 5

EXIT_CODES: Final[dict[int, str]] = {
    EXIT_PASS: "PASS: every selected test passed, no replica trouble, no MUST rule violated",
    EXIT_FAIL: (
        "FAIL: the replica broke a MUST rule (or a SHOULD rule with --conformance-strict), died, "
        "became unreachable or silent, could not be started, or a test failed; also a known-failing "
        "rule that passed and a full run that left a MUST rule or a data-edge cell unexercised"
    ),
    EXIT_INCOMPLETE: (
        "ERROR: the run was cut short before it found a failure (the whole-run deadline, "
        "SIGTERM or Ctrl-C); the report says how far it got"
    ),
    EXIT_SUITE_ERROR: "ERROR: the suite itself failed (a bug in the suite: please report it)",
    EXIT_USAGE: (
        "ERROR: bad usage, nothing ran: an invalid option or file, an address that is not HOST:PORT, "
        "or a replica that cannot be reached or does not serve the compute protocol"
    ),
    EXIT_NO_TESTS: "ERROR: no conformance test ran (none selected, or every one skipped)",
}

# Reason kinds, each with the exit status it implies; the first present in this order decides.
_KIND_EXIT: Final = (
    ("replica", EXIT_FAIL),
    ("violation", EXIT_FAIL),
    ("strict", EXIT_FAIL),
    ("tests", EXIT_FAIL),
    ("known_failing", EXIT_FAIL),
    ("coverage", EXIT_FAIL),
    ("usage", EXIT_USAGE),
    ("suite", EXIT_SUITE_ERROR),
    ("interrupted", EXIT_INCOMPLETE),
    ("no_tests", EXIT_NO_TESTS),
)
KINDS: Final = tuple(k for k, _ in _KIND_EXIT)


class LineLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Reason:
    kind: str  # one of KINDS
    text: str
    rules: tuple[str, ...] = ()  # the rules it blames, if any (the JUnit rule cases fail exactly these)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, **({"rules": list(self.rules)} if self.rules else {})}


@dataclass(frozen=True)
class SessionEnd:
    """What only the pytest session knows: how it ended."""

    interrupted: str = ""  # why the session was cut short (a signal, Ctrl-C), if it was
    internal_error: bool = False  # pytest reported an INTERNALERROR
    usage_error: str = ""  # the run was refused before any test (bad option, unreachable replica)


@dataclass(frozen=True)
class Verdict:
    word: str  # PASS, FAIL or ERROR
    exit_code: int
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return self.word == "PASS"

    def blamed(self) -> dict[str, Reason]:
        """Each rule the verdict holds against the replica, with the (first) reason that does."""
        out: dict[str, Reason] = {}
        for reason in self.reasons:
            for rule_id in reason.rules:
                out.setdefault(rule_id, reason)
        return out

    def headline(self) -> str:
        """`PASS`, or `FAIL - reason; reason`: the one line every output starts its verdict with."""
        return self.word if not self.reasons else f"{self.word} - " + "; ".join(r.text for r in self.reasons)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.word.lower(),
            "exit_code": self.exit_code,
            "reasons": [r.to_json() for r in self.reasons],
            "exit_reasons": [r.text for r in self.reasons],
        }


def decide(
    lines: Sequence[LineLike],
    results: RunResults,
    *,
    profile: str,
    full_run: bool,
    strict: bool,
    end: SessionEnd | None = None,
    capabilities: Capabilities | None = None,
) -> Verdict:
    """The verdict of a run from its rule lines, its counted results and how the session ended."""
    end = end or SessionEnd()
    reasons = _reasons(lines, results, profile, full_run, strict, end, capabilities or Capabilities())
    if not reasons:
        return Verdict("PASS", EXIT_PASS)
    kinds = {r.kind for r in reasons}
    code = next(c for k, c in _KIND_EXIT if k in kinds)
    return Verdict("FAIL" if code == EXIT_FAIL else "ERROR", code, tuple(reasons))


def _reasons(
    lines: Sequence[LineLike],
    results: RunResults,
    profile: str,
    full_run: bool,
    strict: bool,
    end: SessionEnd,
    capabilities: Capabilities,
) -> list[Reason]:
    out: list[Reason] = []
    if end.usage_error:
        return [Reason("usage", end.usage_error)]
    for problem in results.replica_deaths:
        out.append(Reason("replica", problem))
    failed = [x.id for x in lines if x.status == "failed"]
    if failed:
        out.append(Reason("violation", f"MUST rule(s) violated: {', '.join(failed)}", tuple(failed)))
    if strict:
        warned = [x.id for x in lines if x.status == "warning"]
        if warned:
            out.append(Reason("strict", f"SHOULD rule(s) violated in strict mode: {', '.join(warned)}", tuple(warned)))
    if results.unexplained:
        first = results.unexplained[0]
        more = f" (and {len(results.unexplained) - 1} more)" if len(results.unexplained) > 1 else ""
        out.append(Reason("tests", f"{len(results.unexplained)} test(s) failed without a rule verdict: {first}{more}"))
    stale = [x.id for x in lines if x.status == "unexpected_pass"]
    if stale:
        text = f"known-failing rule(s) passed (remove them from the list): {', '.join(stale)}"
        out.append(Reason("known_failing", text, tuple(stale)))
    finished = not (results.replica_deaths or results.cut_short or end.interrupted)
    if full_run and finished:  # coverage is judged only on a run that ran to its end
        missing = [x.id for x in lines if x.status == "not_exercised" and x.level == "MUST" and not x.reason]
        if missing:
            text = f"MUST rule(s) not exercised by a full {profile} run: {', '.join(missing)}"
            out.append(Reason("coverage", text, tuple(missing)))
        cells = ", ".join(c.id for c in coverage.unexercised(results.coverage, capabilities))
        if cells and results.coverage:  # (a run that judged no data at all fails on its MUST rules)
            out.append(Reason("coverage", f"data-edge cell(s) not exercised by a full {profile} run: {cells}"))
    if results.suite_errors or end.internal_error:
        errors = list(results.suite_errors) or ["pytest reported an internal error (see the output above)"]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        out.append(Reason("suite", f"the suite itself failed (a bug: please report it): {errors[0]}{more}"))
    for cut in results.cut_short:
        out.append(Reason("interrupted", cut))
    if end.interrupted:
        out.append(Reason("interrupted", f"the run was interrupted ({end.interrupted}) before it finished"))
    if results.tests_failed and not out:
        out.append(Reason("tests", f"{results.tests_failed} test(s) failed (see the test output)"))
    if results.tests_run == 0 and not out:
        out.append(Reason("no_tests", "no conformance test ran (zero selected, or every one skipped)"))
    return out
