"""Steps per second of the ci profile's state machines, against a bare Hypothesis machine.

Run from the repository root:

    PYTHONPATH=$PWD:$PWD/protos python bench/machine_steps.py [--quick] [--strict]

Each state machine of the ci profile (`ReadOnlyMachine`, `ProtocolMachine`) runs for a fixed
number of examples with the ci profile's Hypothesis settings against the reference replica,
exactly as `conformance/suite/test_machines.py` runs it (same harness, same driver, same
oracle, same patience). A *step* is one protocol step the StepRunner executed (what a replay
file lists: sends, storage writes, waits; the teardown's included): the unit the suite's value
is counted in.

Baseline *bare*: a `RuleBasedStateMachine` built here with the same settings, whose every
rule draws arguments and does one peek round trip over the generated gRPC stub to a reference
replica of its own (a new stream per example, opened in `__init__`, closed in `teardown`). It
is the fastest a Hypothesis machine can drive a replica with one round trip per step, so the
ratio (suite steps/s over bare steps/s) is the share of that ceiling the suite reaches while
generating whole-protocol sequences and judging every response. Target: at least 0.3.

The machines and the baseline run interleaved, `--rounds` times, and the medians compare.
"""

from __future__ import annotations

import argparse
import itertools
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import grpc
from compute_protocol.v1 import command_pb2, response_pb2, service_pb2_grpc
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from bench._report import Targets, add_arguments, median
from bench.suite_overhead import start_replica
from conformance.driver import CHANNEL_OPTIONS
from conformance.machines.env import MachineEnv
from conformance.machines.protocol import ProtocolMachine, ReadOnlyMachine
from conformance.session.bounds import Bounds
from conformance.session.capabilities import Capabilities
from conformance.session.harness import SHRINK_BUDGET, hypothesis_settings, new_backend_factory
from conformance.session.options import Settings
from conformance.session.profiles import get_profile
from conformance.session.worker import WorkerContext
from conformance.steps.runner import StepRunner
from conformance.wire import commands as cmd
from conformance.wire.rows import row

INDEX = "u1"
ROWS = 10
TIMEOUT = 30.0


# ---- the suite's machines, as test_machines.py runs them ----


class CountingEnv(MachineEnv):
    """The harness's MachineEnv, counting the protocol steps every example executed."""

    steps: int = 0

    def end_example(self, runner: StepRunner, failed: bool = False, error: str = "") -> None:
        try:
            super().end_example(runner, failed, error)
        finally:
            self.steps += len(runner.executed)


def suite_run(worker: WorkerContext, machine: type[ProtocolMachine], examples: int) -> tuple[int, float]:
    """(steps, seconds) of one run of `machine` on a replica of its own (as the suite gives it)."""
    profile = get_profile("ci").with_overrides(examples=examples)
    fresh = machine.read_only
    target = worker.fresh_replica("readonly") if fresh else worker.replica()
    try:
        env = CountingEnv(
            new_backend=new_backend_factory(worker, target),
            storage_address=target.storage.address,
            ids=worker.ids,
            results=worker.results,
            test_id=machine.__name__,
            capabilities=Capabilities(),
            shrink_budget=SHRINK_BUDGET["ci"],
        )
        bound = type(machine.__name__, (machine,), {"env": env, "__module__": machine.__module__})
        hyp = hypothesis_settings(profile, worker.artifacts, seed_given=False)
        started = time.perf_counter()
        run_state_machine_as_test(bound, settings=hyp)
        elapsed = time.perf_counter() - started
    finally:
        if fresh:
            worker.release(target)
    return env.steps, elapsed  # a violation would have raised (ConformanceViolation)


# ---- the baseline: a bare machine, one round trip per step ----


class BareStream:
    """One bidi stream over the generated stub: a queue-fed request iterator, a reader thread."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.outbox: queue.SimpleQueue[command_pb2.ProtoComputeCommand | None] = queue.SimpleQueue()
        self.answers: queue.SimpleQueue[response_pb2.ProtoComputeResponse] = queue.SimpleQueue()
        self.call = service_pb2_grpc.ProtoComputeStub(channel).CommandResponseStream(self._requests())
        threading.Thread(target=self._read, daemon=True).start()

    def _requests(self) -> Iterator[command_pb2.ProtoComputeCommand]:
        while (c := self.outbox.get()) is not None:
            yield c

    def _read(self) -> None:
        try:
            for r in self.call:
                if r.WhichOneof("kind") == "peek_response":
                    self.answers.put(r)
        except grpc.RpcError:
            pass

    def round_trip(self, c: command_pb2.ProtoComputeCommand) -> response_pb2.ProtoComputeResponse:
        self.outbox.put(c)
        try:
            return self.answers.get(timeout=TIMEOUT)
        except queue.Empty:
            raise SystemExit(f"bare machine: no answer within {TIMEOUT:g} s") from None

    def close(self) -> None:
        self.outbox.put(None)
        self.call.cancel()


class BareMachine(RuleBasedStateMachine):
    """Every rule draws its arguments and does one peek round trip; an example is one stream."""

    channel: ClassVar[grpc.Channel]
    epochs: ClassVar[Iterator[int]] = itertools.count(1)
    steps: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        self.stream = BareStream(self.channel)
        self.uuids = itertools.count(1)
        desc = cmd.dataflow(
            as_of=0,
            objects=[cmd.build("t1", cmd.constant(2, [(row(i, i * 7), 0, 1) for i in range(ROWS)]))],
            indexes=[cmd.index_export(INDEX, "t1", [0])],
        )
        for c in (
            cmd.create_timely((1, next(self.epochs))),
            cmd.create_instance(),
            cmd.create_dataflow(desc),
            cmd.schedule(INDEX),
            cmd.initialization_complete(),
        ):
            self.stream.outbox.put(c)

    def _peek(self, **kw: Any) -> None:
        type(self).steps += 1
        answer = self.stream.round_trip(cmd.peek(next(self.uuids), INDEX, 0, arity=2, **kw))
        assert answer.peek_response.resp.WhichOneof("kind") == "rows", answer

    @rule()
    def peek_all(self) -> None:
        self._peek()

    @rule(key=st.integers(0, 2 * ROWS))
    def peek_key(self, key: int) -> None:
        self._peek(key=[row(key)])

    @rule(limit=st.integers(0, ROWS), offset=st.integers(0, 3), desc=st.booleans())
    def peek_sorted(self, limit: int, offset: int, desc: bool) -> None:
        self._peek(finish=cmd.finishing(limit=limit, offset=offset, order_by=[(1, desc, False)]))

    @rule(keys=st.lists(st.integers(0, 2 * ROWS), max_size=3, unique=True))
    def peek_keys(self, keys: list[int]) -> None:
        self._peek(key=[row(k) for k in keys])

    @rule(which=st.sampled_from([0, 1]))
    def peek_project(self, which: int) -> None:
        self._peek(finish=cmd.finishing(project=[which, 1 - which]))

    def teardown(self) -> None:
        self.stream.close()


def bare_run(address: str, examples: int, artifacts: Path) -> tuple[int, float]:
    hyp = hypothesis_settings(get_profile("ci").with_overrides(examples=examples), artifacts, seed_given=False)
    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        bound: type[BareMachine] = type("BareMachine", (BareMachine,), {"channel": channel, "steps": 0})
        started = time.perf_counter()
        run_state_machine_as_test(bound, settings=hyp)
        elapsed = time.perf_counter() - started
        return bound.steps, elapsed


# ---- main ----


def settings_for(artifacts: Path) -> Settings:
    return Settings(
        replica_addr=None,
        replica_cmd=None,
        replica_pool=None,
        profile=get_profile("ci"),
        tls_ca=None,
        tls_cert=None,
        tls_key=None,
        capabilities=Capabilities(),
        capabilities_file=None,
        known_failing=frozenset(),
        artifacts=artifacts,
        scenarios=None,
        storage_listen="127.0.0.1:0",
        storage_advertise=None,
        strict=False,
        replay=None,
        replay_runs=1,
        bounds=Bounds(deadline=3600.0),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--examples", type=int, default=None, help="examples per machine run (default 40; 10 quick)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; 1 quick)")
    args = parser.parse_args()
    examples = args.examples or (10 if args.quick else 40)
    rounds = args.rounds or (1 if args.quick else 3)
    machines: list[type[ProtocolMachine]] = [ReadOnlyMachine, ProtocolMachine]
    rates: dict[str, list[float]] = {name: [] for name in ["bare", *(m.__name__ for m in machines)]}
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = Path(tmp)
        worker = WorkerContext(settings_for(artifacts))
        proc, address = start_replica()

        def run(name: str) -> tuple[int, float]:
            if name == "bare":
                return bare_run(address, examples, artifacts)
            return suite_run(worker, next(m for m in machines if m.__name__ == name), examples)

        try:
            bare_run(address, 3, artifacts)  # warm both paths up
            suite_run(worker, ProtocolMachine, 3)
            for r in range(rounds):
                for name in rates:
                    steps, seconds = run(name)
                    rates[name].append(steps / seconds)
                    print(f"  round {r + 1}: {name:<16} {steps:6d} steps in {seconds:6.2f} s", file=sys.stderr)
            problems = list(worker.results.replica_deaths)
        finally:
            worker.close()
            proc.terminate()
            proc.wait(timeout=10)
    print(f"steps per second, ci profile, {examples} examples per run, median of {rounds} interleaved round(s)")
    bare = median(rates["bare"])
    print(f"  bare Hypothesis machine, 1 round trip/step {bare:8.0f} steps/s")
    for m in machines:
        print(f"  {m.__name__:<42} {median(rates[m.__name__]):8.0f} steps/s")
    targets = Targets(strict=args.strict)
    for m in machines:
        targets.row(f"{m.__name__} / bare", median(rates[m.__name__]) / bare, ">=", 0.3)
    if problems:
        print(f"replica problems: {problems}")
        return 1
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
