"""Scenarios: data-only files of steps and expectations (format, loader, runner).

The format is documented in `scenarios/README.md` and described by `scenarios/schema.json`;
saved failures (replay files) are scenarios too.
"""

from conformance.scenarios.format import (
    FORMAT,
    Scenario,
    ScenarioError,
    dump_scenario,
    load_scenario,
    parse_scenario,
)

__all__ = ["FORMAT", "Scenario", "ScenarioError", "dump_scenario", "load_scenario", "parse_scenario"]
