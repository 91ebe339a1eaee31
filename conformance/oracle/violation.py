"""Verdicts: what a violation carries, and the error the suite raises on its own mistakes."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.rules import rule


class ControllerError(Exception):
    """The suite (playing the controller) was about to break a CTRL rule of the spec.

    This is a bug in the suite or in a scenario, never a verdict about the replica: the replica
    may assume every CTRL rule, so nothing it does after such a command can be judged.
    """

    def __init__(self, rule_id: str, stream: str, message: str) -> None:
        super().__init__(f"{rule_id} (controller rule) on {stream}: {message}")
        self.rule = rule_id
        self.stream = stream
        self.message = message


@dataclass(frozen=True)
class Violation:
    """One broken rule, explained.

    `expected` lists every acceptable alternative ("expected one of"), `actual` what arrived
    (or "nothing within N s"), and `recent` the last messages on the stream, oldest first,
    each prefixed with its time since the stream opened.
    """

    rule: str
    stream: str
    time: float
    seq: int
    subject: str
    expected: tuple[str, ...]
    actual: str
    recent: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        return rule(self.rule).level

    @property
    def kind(self) -> str:
        return rule(self.rule).kind

    def headline(self) -> str:
        return f"{self.rule} [{self.level} {self.kind}] on {self.stream}, {self.subject}"

    def key(self) -> tuple[str, str, str, tuple[str, ...], str]:
        """What makes two verdicts the same verdict (live vs offline comparison ignores nothing else)."""
        return (self.rule, self.stream, self.subject, self.expected, self.actual)


def format_violation(v: Violation) -> str:
    """A multi-line, self-contained explanation: rule, its text, expected vs actual, context."""
    r = rule(v.rule)
    lines = [v.headline(), f"  rule:     {r.summary}"]
    if len(v.expected) == 1:
        lines.append(f"  expected: {v.expected[0]}")
    else:
        lines.append("  expected one of:")
        lines.extend(f"    - {e}" for e in v.expected)
    lines.append(f"  actual:   {v.actual}")
    lines.append(f"  at:       event #{v.seq} (t={v.time:.3f})")
    if v.recent:
        lines.append("  last messages on the stream:")
        lines.extend(f"    {m}" for m in v.recent)
    return "\n".join(lines)
