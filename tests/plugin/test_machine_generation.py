"""The state machines' generation, checked without a replica: every generated step is legal
(the catalog would refuse a controller-rule breach), the read-only machine never makes the
replica writable, and capabilities restrict what is generated."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from conformance.machines.env import ExampleFailed, ExampleRecord, MachineEnv, ShrinkBudgetSpent
from conformance.machines.protocol import ProtocolMachine, ReadOnlyMachine
from conformance.report.results import RunResults
from conformance.session.capabilities import Capabilities
from conformance.session.harness import reported_failure
from conformance.steps.backend import Finding, PeekAnswer, WaitFailed
from conformance.steps.catalog import Ids
from tests.plugin.fakes import FakeBackend

FAST = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=tuple(set(Phase) - {Phase.explain}),
)


ALL = Capabilities()


def run(
    machine: type[ProtocolMachine],
    caps: Capabilities = ALL,
    backend_factory: type[FakeBackend] = FakeBackend,
) -> tuple[MachineEnv, list[FakeBackend]]:
    backends: list[FakeBackend] = []

    def new(patience: float | None) -> FakeBackend:
        backends.append(backend_factory())
        return backends[-1]

    env = MachineEnv(
        new_backend=new,
        storage_address="127.0.0.1:1",
        ids=Ids(),
        results=RunResults(),
        test_id="t",
        capabilities=caps,
    )
    bound = type(machine.__name__, (machine,), {"env": env})
    run_state_machine_as_test(bound, settings=FAST)
    return env, backends


def test_protocol_machine_generates_legal_sequences_over_the_whole_protocol() -> None:
    env, backends = run(ProtocolMachine)
    ops = Counter(op for b in backends for op in b.ops())
    for op in (
        "send:create_dataflow",
        "send:peek",
        "send:cancel_peek",
        "send:allow_compaction",
        "send:update_configuration",
        "send:allow_writes",
        "append",
        "settle",
        "wait_peek",
    ):
        assert ops[op] > 0, op
    assert all(b.closed for b in backends), "every example's backend is closed"
    assert env.results.exercised["PEEK-1"] > 0, "the oracle's counts are folded into the results"
    assert any(c[0] == "connect" and c[1] for b in backends for c in b.calls), "some reconnect replays"


def test_read_only_machine_never_sends_allow_writes() -> None:
    _, backends = run(ReadOnlyMachine)
    ops = Counter(op for b in backends for op in b.ops())
    assert ops["send:allow_writes"] == 0
    assert ops["send:create_dataflow"] > 0


def test_capabilities_restrict_generation() -> None:
    caps = Capabilities(
        plan_operators=frozenset({"get", "mfp"}), sink_kinds=frozenset(), peek_targets=frozenset({"index"})
    )
    seen: list[str] = []

    class Recording(FakeBackend):
        def send(self, cmd):  # type: ignore[no-untyped-def]
            super().send(cmd)
            if cmd.WhichOneof("kind") == "create_dataflow":
                seen.append(str(cmd.create_dataflow))
            if cmd.WhichOneof("kind") == "peek":
                seen.append(cmd.peek.WhichOneof("target"))

    run(ProtocolMachine, caps, Recording)
    text = "\n".join(seen)
    assert "sink_exports" not in text and "persist" not in text
    for op in ("join", "reduce", "union", "negate", "threshold", "constant"):
        assert f"{op} {{" not in text, op


def test_a_failing_example_is_recorded_and_shrinks() -> None:
    class Failing(FakeBackend):
        def send(self, cmd):  # type: ignore[no-untyped-def]
            super().send(cmd)
            if cmd.WhichOneof("kind") == "cancel_peek":
                self.pending_findings.append(Finding("PEEK-1", "MUST", "PEEK-1: a second response"))

    env = MachineEnv(
        new_backend=lambda patience: Failing(),
        storage_address="s",
        ids=Ids(),
        results=RunResults(),
        test_id="t",
        shrink_budget=60.0,
    )
    with pytest.raises(ExampleFailed, match="PEEK-1"):
        run_state_machine_as_test(type("M", (ProtocolMachine,), {"env": env}), settings=FAST)
    assert env.last_failure is not None
    steps = env.last_failure.steps
    assert steps[-1]["op"] == "cancel_peek", "the minimal example ends with the step that broke the rule"
    assert len(steps) <= 8, steps
    assert [f.rule_id for f in env.last_failure.violations] == ["PEEK-1"]


def test_shrinking_past_the_budget_stops_the_search() -> None:
    """Past the shrink budget the search ends (no candidate may pass or be rejected instead: a
    choice sequence Hypothesis has seen must draw the same data again); the harness then replays
    the best candidate itself."""
    class Failing(FakeBackend):
        def send(self, cmd):  # type: ignore[no-untyped-def]
            super().send(cmd)
            if cmd.WhichOneof("kind") == "cancel_peek":
                self.pending_findings.append(Finding("PEEK-1", "MUST", "PEEK-1: a second response"))

    env = MachineEnv(
        new_backend=lambda patience: Failing(),
        storage_address="s",
        ids=Ids(),
        results=RunResults(),
        test_id="t",
        shrink_budget=0.0,
    )
    started = time.monotonic()
    with pytest.raises(ShrinkBudgetSpent):
        run_state_machine_as_test(type("M", (ProtocolMachine,), {"env": env}), settings=FAST)
    assert time.monotonic() - started < 60
    assert env.first_failure is not None and env.first_failure.full_patience
    assert [f.rule_id for f in env.first_failure.violations] == ["PEEK-1"]


class _CancelBreaksPeek1(FakeBackend):
    """A safety bug: every CancelPeek is followed by a second answer (PEEK-1)."""

    def send(self, cmd):  # type: ignore[no-untyped-def]
        super().send(cmd)
        if cmd.WhichOneof("kind") == "cancel_peek":
            self.pending_findings.append(Finding("PEEK-1", "MUST", "PEEK-1: a second response"))


def _env(factory: Callable[[float | None], FakeBackend], budget: float = 60.0) -> MachineEnv:
    return MachineEnv(
        new_backend=factory, storage_address="s", ids=Ids(), results=RunResults(), test_id="t", shrink_budget=budget
    )


def test_a_violation_noticed_late_still_replays_with_the_same_draws() -> None:
    """An asynchronous replica's violation shows up some steps after the command that caused it,
    a different number of steps each run. The example goes on (dry) to its end either way, so
    Hypothesis's replays draw the same data: the failure is reproduced, never Flaky."""
    late = random.Random()

    class Late(_CancelBreaksPeek1):
        def __init__(self) -> None:
            super().__init__()
            self.due: list[tuple[int, Finding]] = []

        def findings(self) -> list[Finding]:
            self.due += [(late.randint(0, 3), f) for f in super().findings()]
            out = [f for n, f in self.due if n == 0]
            self.due = [(n - 1, f) for n, f in self.due if n > 0]
            return out

        def close(self) -> None:
            super().close()
            self.due = [(0, f) for _, f in self.due]  # whatever was still in flight arrives now

    env = _env(lambda patience: Late())
    with pytest.raises(ExampleFailed) as failed:
        run_state_machine_as_test(type("M", (ProtocolMachine,), {"env": env}), settings=FAST)
    assert failed.value.record.full_patience and failed.value.record.rules == {"PEEK-1"}


class _SlowAnswers(FakeBackend):
    """Peek answers take longer than the shrink patience (legal: the full patience waits for
    them), and a safety bug shows only after an answered peek: a CancelPeek then gets a second
    answer (PEEK-1)."""

    def __init__(self, patience: float | None) -> None:
        super().__init__()
        self.patience = patience
        self.answered = False

    def wait_peek(self, uuid: str, name: str) -> PeekAnswer:
        if self.patience is not None:  # the short patience: the answer comes later than that
            self.pending_findings.append(Finding("PEEK-2", "MUST", "PEEK-2: nothing within 0.5 s"))
            raise WaitFailed(f"peek {name}: nothing within 0.5 s")
        self.answered = True
        return super().wait_peek(uuid, name)

    def send(self, cmd):  # type: ignore[no-untyped-def]
        super().send(cmd)
        if cmd.WhichOneof("kind") == "cancel_peek" and self.answered:
            self.pending_findings.append(Finding("PEEK-1", "MUST", "PEEK-1: a second response"))


def test_a_safety_failure_behind_slow_answers_is_shrunk_and_reported_with_the_full_patience() -> None:
    """Under the short patience every example that reaches the bug would fail first for want
    of an answer (PEEK-2), and smaller: the shrinker would chase that. A failure of safety
    rules alone is shrunk with the full patience, and reported alone.
    (With a real replica and slow copy-tos: test_shrink_patience.)"""
    patiences: list[float | None] = []

    def new(patience: float | None) -> FakeBackend:
        patiences.append(patience)
        return _SlowAnswers(patience)

    env = _env(new)
    with pytest.raises(ExampleFailed) as failed:
        run_state_machine_as_test(type("M", (ProtocolMachine,), {"env": env}), settings=FAST)
    record = failed.value.record
    assert record.full_patience and record.rules == {"PEEK-1"}
    assert "PEEK-2" not in str(record.violations) and "PEEK-2" not in record.error
    assert set(patiences) == {None}, "no candidate ran with the short patience"
    assert len(patiences) > 3, "it did shrink"


def test_a_liveness_failure_is_shrunk_with_the_short_patience_but_reported_with_the_full_one() -> None:
    """A peek that is never answered (PEEK-2 with any patience): candidates fail in half a second,
    and the failure reported is the full-patience replay of the minimal one."""
    patiences: list[float | None] = []

    class NeverAnswers(FakeBackend):
        def __init__(self, patience: float | None) -> None:
            super().__init__()
            self.patience = patience

        def wait_peek(self, uuid: str, name: str) -> PeekAnswer:
            within = "0.5" if self.patience is not None else "20"
            self.pending_findings.append(Finding("PEEK-2", "MUST", f"PEEK-2: nothing within {within} s"))
            raise WaitFailed(f"peek {name}: nothing within {within} s")

    def new(patience: float | None) -> FakeBackend:
        patiences.append(patience)
        return NeverAnswers(patience)

    env = _env(new)
    with pytest.raises(ExampleFailed) as failed:
        run_state_machine_as_test(type("M", (ProtocolMachine,), {"env": env}), settings=FAST)
    record = failed.value.record
    assert record.full_patience and record.rules == {"PEEK-2"}
    assert "within 20 s" in str(record.violations) and "within 0.5 s" not in str(record.violations)
    assert env.shrink_patience in patiences, "shrink candidates ran with the short patience"
    assert record.steps[-1]["op"] == "wait_peek" and len(record.steps) <= 8, record.steps


def _record(rules: list[str], *, full: bool = True, steps: int = 3, error: str = "") -> ExampleRecord:
    findings = [Finding(r, "MUST", f"{r} [MUST] seen") for r in rules]
    return ExampleRecord("", [{"op": "connect"}] * steps, findings, [f"line-{r}" for r in rules], error, full)


def test_the_report_is_the_full_patience_replay_when_hypothesis_reproduced_it() -> None:
    env = _env(lambda patience: FakeBackend())
    env.first_failure = _record(["PEEK-1"], steps=30)
    final = _record(["PEEK-1"], steps=5)
    reran: list[object] = []
    failure = reported_failure(ExampleFailed(final), env, rerun=lambda s: reran.append(s), alive=lambda: True)
    assert failure.steps == final.steps and [f.rule_id for f in failure.findings] == ["PEEK-1"]
    assert not failure.intermittent and not failure.error and reran == []


def test_when_hypothesis_could_not_reproduce_the_suite_replays_the_hints_and_reports_what_failed_again() -> None:
    env = _env(lambda patience: FakeBackend())
    env.first_failure = _record(["FRONT-1"], steps=30)
    env.best_candidate = _record(["FRONT-1", "COPY-3"], full=False, steps=6)
    again = _record(["FRONT-1"], steps=7)
    replays: list[int] = []

    def rerun(steps: list[object]) -> ExampleRecord | None:
        replays.append(len(steps))
        return again if len(replays) == 2 else None  # the shrunk steps fail again the second time

    for exc in (Flaky("did not reproduce"), ShrinkBudgetSpent("30 s")):
        replays.clear()
        failure = reported_failure(exc, env, rerun=rerun, alive=lambda: True)
        assert replays == [6, 6] and failure.steps == again.steps and not failure.intermittent
        assert [f.rule_id for f in failure.findings] == ["FRONT-1"] and failure.history == again.history
        assert not failure.error, "Hypothesis's own words are not the replica's failure"


def test_only_a_failure_no_replay_reproduces_is_intermittent_and_nothing_short_is_reported() -> None:
    env = _env(lambda patience: FakeBackend())
    env.first_failure = _record(["FRONT-1"], steps=30)
    env.best_candidate = _record(["FRONT-1", "COPY-3"], full=False, steps=6)
    replays: list[int] = []
    failure = reported_failure(
        Flaky("x"), env, rerun=lambda s: replays.append(len(s)), alive=lambda: True
    )
    assert replays == [6, 6, 6, 30, 30] and failure.intermittent
    assert failure.steps == env.first_failure.steps and [f.rule_id for f in failure.findings] == ["FRONT-1"]
    dead = reported_failure(Flaky("x"), env, rerun=lambda s: pytest.fail("no replay"), alive=lambda: False)
    assert not dead.intermittent and dead.steps == env.first_failure.steps, "a dead replica is not a flaky one"
