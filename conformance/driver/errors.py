"""How a bounded wait ends when it does not get what it waited for."""

from __future__ import annotations

from typing import Any

from conformance.oracle import Violation


class DriverError(Exception):
    """Base of the driver's errors."""


class ConnectError(DriverError):
    """The replica could not be reached at all (nothing to judge)."""


class WaitError(DriverError):
    """A wait ended without its condition: `verdicts` are the violations the oracle reached."""

    def __init__(self, message: str, verdicts: list[Violation]) -> None:
        super().__init__(message)
        self.verdicts = verdicts


class WaitTimeout(WaitError):
    """Nothing satisfied the wait in time. If the replica owed it, `verdicts` name the rule."""


class StreamEnded(WaitError):
    """A stream of the connection ended (replica closed or failed it, or the process died)."""


class SuiteError(DriverError):
    """The suite itself failed while consuming a response (a bug; the cause is chained)."""


class Stop(KeyboardInterrupt):
    """The run must stop what it is doing: not a failure of this example, so Hypothesis must
    neither shrink it, nor replay it, nor call it flaky. Hypothesis aborts at once (without
    judging the example) only on a KeyboardInterrupt, hence the base class; the suite catches
    every Stop before pytest would take it for Ctrl-C (the harness, and the plugin's
    `pytest_runtest_setup`/`pytest_runtest_call` wrappers)."""


class RunDeadline(Stop):
    """The whole-run deadline passed."""


class ReplicaGone(Stop):
    """The replica is gone (dead, unreachable or silent): nothing more can be judged on it."""


class Refused(Stop):
    """The replica sent what the controller cannot take (TRANS-6): it speaks another protocol, or
    floods; that verdict stands, and nothing more is judged on it. `findings` carries the
    verdicts (rule id, level, text objects) for whoever reports the test."""

    def __init__(self, message: str, findings: list[Any] | None = None) -> None:
        super().__init__(message)
        self.findings = findings or []
