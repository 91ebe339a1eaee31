"""Conformance profiles: how much to generate, and how long to wait for a replica.

A profile trades run time for search depth. Examples x steps bounds the Hypothesis search;
patience bounds every liveness wait, so it must be generous: a liveness verdict on a loaded
2-core machine must never be a false positive (a slow replica is not a wrong one).

quick and ci are derandomized so that a CI gate gives the same verdict on the same code;
deep explores with fresh randomness and keeps an example database under the artifacts dir.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int  # Hypothesis examples per state machine
    step_count: int  # stateful_step_count: steps per example at most
    patience: float  # seconds an owed answer may take before it is a liveness verdict
    derandomize: bool  # reproducible generation (the CI gate)
    use_database: bool  # keep Hypothesis's example database under the artifacts dir
    scenario_repeats: int = 1  # how often each hand-written scenario runs
    database: str = ""  # --conformance-database: a directory or redis://HOST:PORT/N ("": the default)

    def with_overrides(
        self,
        *,
        patience: float | None = None,
        examples: int | None = None,
        steps: int | None = None,
        database: str | None = None,
    ) -> Profile:
        """The profile with the values given on the command line (or in the ini file) instead."""
        out = self
        if database is not None:
            out = replace(out, database=database)
        if patience is not None:
            out = replace(out, patience=patience)
        if examples is not None:
            out = replace(out, max_examples=examples)
        if steps is not None:
            out = replace(out, step_count=steps)
        return out


PROFILES: Final[dict[str, Profile]] = {
    "quick": Profile("quick", max_examples=6, step_count=15, patience=10.0, derandomize=True, use_database=True),
    "ci": Profile("ci", max_examples=100, step_count=30, patience=20.0, derandomize=True, use_database=False),
    "deep": Profile(
        "deep",
        max_examples=400,
        step_count=60,
        patience=30.0,
        derandomize=False,
        use_database=True,
        scenario_repeats=3,
    ),
}

DEFAULT_PROFILE: Final = "ci"


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown conformance profile {name!r}; choose one of {', '.join(PROFILES)}") from None
