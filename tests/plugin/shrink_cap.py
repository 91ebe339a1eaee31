"""Loaded into a suite run by a test (`-p tests.plugin.shrink_cap`): caps the shrink budget of
every profile at `SHRINK_CAP` seconds.

Only the time a failing test may spend shrinking changes (the deep profile's is 300 s); what
is reported, and how, does not. A test of the deep profile uses it to stay within minutes.
"""

from __future__ import annotations

import os

import pytest

from conformance.session import harness

VARIABLE = "SHRINK_CAP"


def pytest_configure(config: pytest.Config) -> None:
    cap = float(os.environ.get(VARIABLE, "inf"))
    for profile, budget in harness.SHRINK_BUDGET.items():
        harness.SHRINK_BUDGET[profile] = min(budget, cap)
