"""Watching a state machine test run: its progress line, its statistics, its timings.

The harness starts a `MachineWatch` for each machine test, counts through it (the env's
`on_example_end`, and the backends it times), and runs the machine through `run`, which also
collects Hypothesis's own statistics of the run. When the run ends, however it ends, the
progress line gets its final state, the statistics go where Hypothesis's pytest plugin prints
them (`--hypothesis-show-statistics`, under "Hypothesis Statistics"), and the counts go into
the run's results for the reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from conformance.machines.stats import MachineStats
from conformance.report.progress import Progress, sink_for


class MachineWatch:
    def __init__(self, request: pytest.FixtureRequest, worker: Any) -> None:
        self.request = request
        self.worker = worker
        self.stats = MachineStats(request.node.nodeid, planned=worker.settings.profile.max_examples)
        sink = sink_for(request.config, request.node.nodeid)
        self.progress = Progress(sink) if sink is not None else None
        if self.progress is not None:
            self.stats.listeners.append(self.progress)

    def run(self, machine: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        from hypothesis.statistics import collector  # typed for its default (None) only

        try:
            with cast(Any, collector).with_value(self.stats.note_hypothesis):
                machine(*args, **kwargs)
        finally:
            self.stats.finish()
            if self.progress is not None:
                self.progress.done(self.stats)
            # Read by Hypothesis's pytest plugin, which prints it with --hypothesis-show-statistics.
            self.request.node.hypothesis_statistics = self.stats.describe()
            self.worker.results.machines.append(self.stats.to_json())
