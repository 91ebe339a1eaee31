"""What a state machine test counts while it runs (MachineStats), and how the progress line
shows it (Progress): checked without a replica, on the fake backend, with a fake clock."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis.errors import StopTest
from hypothesis.stateful import run_state_machine_as_test
from hypothesis.statistics import collector

from conformance.machines.env import ExampleFailed, MachineEnv
from conformance.machines.protocol import ProtocolMachine
from conformance.machines.stats import MachineStats
from conformance.report.progress import LIVE_EVERY, PLAIN_EVERY, Progress
from conformance.report.results import RunResults
from conformance.steps.backend import Finding
from conformance.steps.catalog import Catalog, Ids
from conformance.steps.runner import StepRunner
from tests.plugin.fakes import FakeBackend
from tests.plugin.test_machine_generation import FAST


def machine_run(stats: MachineStats, backend: type[FakeBackend] = FakeBackend) -> MachineEnv:
    env = MachineEnv(
        new_backend=stats.timed(lambda patience: backend()),
        storage_address="127.0.0.1:1",
        ids=Ids(),
        results=RunResults(),
        test_id=stats.test_id,
        on_example_end=stats.example_ended,
    )
    with cast(Any, collector).with_value(stats.note_hypothesis):
        run_state_machine_as_test(type("M", (ProtocolMachine,), {"env": env}), settings=FAST)
    return env


def test_a_passing_machine_is_counted_example_by_example() -> None:
    stats = MachineStats("suite/test_machines.py::test_protocol_machine[0]", planned=60)
    seen: list[tuple[int, int]] = []
    stats.listeners.append(lambda s: seen.append((s.examples, s.steps)))
    env = machine_run(stats)
    stats.finish()
    assert stats.examples + stats.invalid == env.examples == len(seen)
    assert 0 < stats.examples <= 60 and stats.shrinks == 0 and stats.failing == 0
    assert [e for e, _ in seen] == sorted(e for e, _ in seen), "examples only go up"
    assert stats.steps == sum(stats.ops.values()) > stats.examples
    assert stats.ops["connect"] >= stats.examples and stats.ops["peek"] > 0
    assert "PEEK-1" in stats.rules and stats.rules == {r for r, n in env.results.exercised.items() if n}
    assert stats.generating is not None and stats.generating >= 0 and stats.waiting >= 0
    assert "Stopped because" in stats.hypothesis and "Retried draw" not in stats.hypothesis
    line = stats.line()
    assert line.startswith(f"test_protocol_machine[0]: {stats.examples}/60 examples, {stats.steps} steps, ")
    assert f"{len(stats.rules)} rules exercised, no violation, " in line
    text = stats.describe()
    assert text.startswith("suite/test_machines.py::test_protocol_machine[0]:")
    for fragment in (
        f"{stats.examples} of 60 examples generated",
        "s generating data, ",
        "s waiting for the replica, ",
        "rules drawn (steps by op): ",
        f"peek {stats.ops['peek']}",
        "violations: none",
        "during generate phase",
    ):
        assert fragment in text, fragment
    assert stats.to_json()["steps"] == stats.steps


def test_a_failing_machine_counts_its_violations_and_shrink_candidates() -> None:
    class Failing(FakeBackend):
        def send(self, cmd):  # type: ignore[no-untyped-def]
            super().send(cmd)
            if cmd.WhichOneof("kind") == "cancel_peek":
                self.pending_findings.append(Finding("PEEK-1", "MUST", "PEEK-1: a second response"))

    stats = MachineStats("t::m", planned=60)
    with pytest.raises(ExampleFailed):
        machine_run(stats, Failing)
    assert stats.failing >= 1 and stats.violated == {"PEEK-1"} and stats.shrinks > 0
    assert "violations: PEEK-1 in " in stats.line() and "shrink candidate" in stats.line()
    assert "violations: PEEK-1 in " in stats.describe()
    narrow = stats.line(width=60)
    assert narrow.startswith(f"m: {stats.examples}/60 ex ") and "FAIL PEEK-1" in narrow and len(stats.line()) > 60


def test_an_example_hypothesis_gives_up_on_is_counted_apart() -> None:
    stats = MachineStats("t::m", planned=5)
    runner = StepRunner(FakeBackend(), Catalog(ids=Ids(), storage_address="s"))
    runner.executed.append({"op": "connect"})
    try:
        raise StopTest(0)
    except StopTest:
        stats.example_ended(runner)
    stats.example_ended(runner)
    assert (stats.invalid, stats.examples, stats.steps) == (1, 1, 2)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self, live: bool) -> None:
        self.live = live
        self.width = 0
        self.shown: list[tuple[str, bool]] = []
        self.ended = 0

    def show(self, text: str, first: bool) -> None:
        self.shown.append((text, first))

    def end(self) -> None:
        self.ended += 1


def test_a_live_line_is_rewritten_at_most_every_quarter_second() -> None:
    clock, sink = Clock(), Recorder(live=True)
    progress, stats = Progress(sink, clock), MachineStats("t::m", planned=10)
    for _ in range(10):  # ten examples ending 0.1 s apart: the line changes every 0.3 s
        clock.now += 0.1
        stats.examples += 1
        progress(stats)
    shown = [text.split(":")[1].split(",")[0] for text, _ in sink.shown]
    assert shown == [" 3/10 examples", " 6/10 examples", " 9/10 examples"]
    assert [first for _, first in sink.shown] == [True, False, False]
    progress.done(stats)
    assert sink.shown[-1][0].startswith("m: 10/10 examples") and sink.ended == 1
    assert LIVE_EVERY <= 0.3


def test_plain_lines_come_every_ten_seconds_and_once_at_the_end() -> None:
    clock, sink = Clock(), Recorder(live=False)
    progress, stats = Progress(sink, clock), MachineStats("t::m", planned=100)
    for _ in range(50):  # an example a second for 50 s
        clock.now += 1.0
        stats.examples += 1
        progress(stats)
    assert len(sink.shown) == 50 // int(PLAIN_EVERY) == 5
    progress.done(stats)
    assert len(sink.shown) == 6 and sink.shown[-1][0].startswith("m: 50/100 examples")


def test_a_broken_terminal_does_not_fail_the_test() -> None:
    class Broken(Recorder):
        def show(self, text: str, first: bool) -> None:
            raise OSError("EIO")

    progress = Progress(Broken(live=False), Clock())
    progress.done(MachineStats("t::m", planned=1))  # no exception
