"""The protocol state machine: legal, and adversarial-but-legal, command sequences.

One example is one fresh protocol iteration: a new stream with a higher epoch, fresh shards
and fresh ids. Rules generate *steps* (the vocabulary scenario files use) and run them
through the StepRunner, so a failing example is recorded as a replayable scenario.

Preconditions read only the catalog (what the controller sent and facts that successful
waits established), never asynchronous observations, so Hypothesis replays and shrinks
deterministically. Explicit wait rules synchronise, and are enabled only when the spec
owes the awaited answer (machines.owed). The invariant after every step asks the oracle for
violations; the teardown cancels what is pending, drops everything live and waits until
every obligation is discharged, which is what exercises the liveness rules.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conformance.machines import owed
from conformance.machines.env import MachineEnv
from conformance.machines.strategies import (
    HUGE_LIMIT,
    MAX_RESULT_SIZES,
    SHAPES,
    Source,
    datum_for,
    finishings,
    peek_mfps,
    plans,
    rows_for,
)
from conformance.steps.catalog import Catalog, Collection
from conformance.steps.plans import build_plan
from conformance.steps.runner import NO_LIMIT, StepRunner
from conformance.steps.values import encode_frontier
from conformance.wire.frontiers import EMPTY

Json = Any

QUIET_SECONDS = 0.005
"""The window of the `wait_quiet` rule. No verdict depends on it: the rule exists so that the
generated sequences also hold commands sent after the replica has reacted to the earlier ones
(a Canceled, a frontier, a subscribe batch that no explicit wait asks for), which a controller
sending back to back rarely produces. A reaction to a command the replica has read comes within
about one round trip (the reference replica's median empty peek round trip is under 1 ms on the
2-core machine, loaded: `bench/suite_overhead.py`), so 5 ms of silence is several round trips;
responses that take longer (a dataflow waiting on storage) arrive during later steps and are
judged the same. A longer window would only cost time: most windows see no response at all."""


class ProtocolMachine(RuleBasedStateMachine):
    env: ClassVar[MachineEnv]  # bound by the harness for each test run
    read_only: ClassVar[bool] = False  # never send AllowWrites (run on a replica that never got one)

    def __init__(self) -> None:
        super().__init__()
        self.runner: StepRunner = self.env.start_example(type(self).__name__)
        self._names = itertools.count(1)
        self.written: dict[str, Counter[tuple[Any, ...]]] = {}  # rows the suite wrote, per shard
        self.failed = False
        self.error = ""  # what stopped the example, if a step raised

    # ---- helpers ----

    @property
    def cat(self) -> Catalog:
        return self.runner.catalog

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self._names)}"

    def run(self, step: Json) -> None:
        try:
            self.runner.run(step)
        except BaseException as e:
            self.failed = True
            self.error = f"{type(e).__name__}: {e}"
            raise

    def writable(self) -> bool:
        """Writable as far as this example knows: it sent AllowWrites itself. The replica may be
        writable from an earlier example too, but a precondition that read that would change when
        Hypothesis replays the example later (FlakyStrategyDefinition); such waits are simply not
        generated, and the teardown still settles every obligation the oracle holds."""
        return self.cat.allow_writes_sent

    def input_shards(self) -> list[str]:
        """Shards dataflows may read: not materialized-view targets (their upper is the replica's)."""
        return [s.name for s in self.cat.shards.values() if s.name in self.written]

    def open_shards(self) -> list[str]:
        return [n for n in self.input_shards() if self.cat.shards[n].upper != EMPTY]

    def current_peeks(self) -> list[str]:
        return [p.name for p in self.cat.peeks.values() if p.iteration == self.cat.iteration]

    def max_upper(self) -> int:
        uppers = [self.cat.shards[n].upper for n in self.input_shards()]
        finite = [u for u in uppers if u != EMPTY]
        return max(finite, default=0)

    # ---- setup ----

    @initialize(
        shapes=st.lists(st.sampled_from(sorted(SHAPES)), min_size=1, max_size=3),
        init_now=st.booleans(),
    )
    def setup(self, shapes: list[str], init_now: bool) -> None:
        for shape in shapes:
            name = self.name("s")
            self.run({"op": "create_shard", "shard": name, "columns": SHAPES[shape]})
            self.written[name] = Counter()
        self.run({"op": "connect"})
        # Every example states its configuration, as a controller does in each iteration's history,
        # so no example depends on what an earlier one left in the replica (spec 12 vs 14).
        self.run({"op": "update_configuration", "max_result_size": NO_LIMIT})
        if init_now:
            self.run({"op": "initialization_complete"})

    # ---- storage: the suite drives input time ----

    @precondition(lambda self: bool(self.open_shards()))
    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        shard = data.draw(st.sampled_from(self.open_shards()), label="shard")
        s = self.cat.shards[shard]
        advance = data.draw(st.integers(1, 3), label="advance")
        cols = [c.spelled() for c in s.columns]
        updates: list[Json] = []
        for _ in range(data.draw(st.integers(0, 4), label="rows")):
            row = data.draw(rows_for(cols))
            t = s.upper + data.draw(st.integers(0, advance - 1))
            updates.append([row, t, data.draw(st.integers(1, 2))])
        existing = sorted((r for r, n in self.written[shard].items() if n > 0), key=repr)
        retract: bool = bool(existing) and data.draw(st.booleans(), label="retract")
        if retract:
            row = list(data.draw(st.sampled_from(existing)))
            updates.append([row, s.upper, -1])
        for row, _, diff in updates:
            self.written[shard][tuple(row)] += diff
        self.run({"op": "append", "shard": shard, "updates": updates, "upper": [s.upper + advance]})

    @precondition(lambda self: bool(self.open_shards()))
    @rule(data=st.data())
    def seal(self, data: st.DataObject) -> None:
        """Upper [] on a source: every time becomes final, subscribes end, frontiers go to []."""
        shard = data.draw(st.sampled_from(self.open_shards()))
        if data.draw(st.integers(0, 3)) == 0:  # rare: a sealed shard takes no more input
            self.run({"op": "append", "shard": shard, "upper": []})

    @precondition(lambda self: bool(self.input_shards()))
    @rule(data=st.data())
    def advance_since(self, data: st.DataObject) -> None:
        shard = data.draw(st.sampled_from(self.input_shards()))
        s = self.cat.shards[shard]
        holds = [
            df.as_of
            for df in self.cat.dataflows.values()
            if shard in df.sources and any(self.cat.collections[n].live for n in df.exports)
        ]
        holds += [
            p.time
            for p in self.cat.peeks.values()
            if p.target_kind == "persist" and p.target == shard and p.iteration == self.cat.iteration and not p.answered
        ]
        ceiling = min([*holds, s.upper if s.upper != EMPTY else self.max_upper() + 2])
        if ceiling > s.since:
            since = data.draw(st.integers(s.since + 1, ceiling))
            self.run({"op": "advance_since", "shard": shard, "since": since})

    # ---- dataflows ----

    @precondition(lambda self: bool(self.input_shards()))
    @rule(data=st.data())
    def create_dataflow(self, data: st.DataObject) -> None:
        caps = self.env.capabilities
        kinds = ["index", *sorted(caps.sink_kinds)]
        if self.read_only:
            kinds += [k for k in ("materialized_view", "copy_to") if k in caps.sink_kinds] * 2
        kind = data.draw(st.sampled_from(kinds), label="export kind")
        safe = kind in ("materialized_view", "copy_to")
        shards = self.input_shards()
        picked = data.draw(st.lists(st.sampled_from(shards), min_size=1, max_size=2, unique=True), label="sources")
        floor = max(self.cat.shards[s].since for s in picked)
        imports: list[Collection] = []
        candidates = [c for c in self.cat.live(("index",)) if not (safe and c.may_error)]
        use_import: bool = bool(candidates) and data.draw(st.booleans(), label="import an index")
        if use_import:
            imp = data.draw(st.sampled_from(sorted(candidates, key=lambda c: c.name)))
            imports.append(imp)
            floor = max(floor, self.cat.index_since(imp))
        as_of = floor + data.draw(st.integers(0, 2), label="as_of above floor")
        until = [] if data.draw(st.integers(0, 3)) else [as_of + data.draw(st.integers(1, 4))]
        inputs = [Source(s, tuple(c.spelled() for c in self.cat.shards[s].columns)) for s in picked]
        inputs += [Source(c.name, tuple(x.spelled() for x in c.columns)) for c in imports]
        plan = data.draw(plans(inputs, caps, safe), label="plan")
        df = self.name("df")
        step: Json = {
            "op": "create_dataflow",
            "dataflow": df,
            "as_of": as_of,
            "sources": picked,
            "objects": [{"name": f"{df}v", "plan": plan}],
        }
        if imports:
            step["imports"] = [c.name for c in imports]
        if until:
            step["until"] = until
        export = self.name({"index": "ix", "subscribe": "sub", "materialized_view": "mv", "copy_to": "cp"}[kind])
        if kind == "index":
            arity = len(self._columns(plan, picked, imports))
            key = data.draw(st.sampled_from([[0], [0, 1][:arity], []]))
            step["indexes"] = [{"name": export, "on": f"{df}v", "key": key}]
            if data.draw(st.booleans(), label="second export"):
                step["indexes"].append({"name": self.name("ix"), "on": f"{df}v", "key": [0]})
        else:
            sink: Json = {"name": export, "kind": kind, "from": f"{df}v"}
            if kind == "subscribe":
                sink["with_snapshot"] = data.draw(st.booleans(), label="with_snapshot")
                if data.draw(st.booleans(), label="up_to"):
                    sink["up_to"] = [as_of + data.draw(st.integers(1, 5))]
            if kind == "materialized_view":
                target = self.name("t")
                cols = [c.spelled() for c in self._columns(plan, picked, imports)]
                self.run({"op": "create_shard", "shard": target, "columns": cols, "upper": [as_of]})
                sink["shard"] = target
            step["sinks"] = [sink]
        if data.draw(st.integers(0, 4)) == 0:
            step["schedule"] = False  # scheduled later by the schedule rule (DF-2)
        self.run(step)

    def _columns(self, plan: Json, shards: list[str], imports: list[Collection]) -> list[Any]:
        from conformance.steps.plans import Input

        scope = {s: Input(self.cat.shards[s].gid, self.cat.shards[s].columns) for s in shards}
        scope |= {c.name: Input(c.gid, c.columns, c.may_error) for c in imports}
        return build_plan(plan, lambda n, p: scope[n], "plan").columns

    @precondition(lambda self: any(c.live and not c.scheduled for c in self.cat.collections.values()))
    @rule(data=st.data())
    def schedule(self, data: st.DataObject) -> None:
        pending = sorted(c.name for c in self.cat.collections.values() if c.live and not c.scheduled)
        self.run({"op": "schedule", "id": data.draw(st.sampled_from(pending))})

    # ---- peeks ----

    def _peek_step(self, data: st.DataObject) -> Json | None:
        caps = self.env.capabilities
        targets: list[tuple[str, str]] = []
        if "index" in caps.peek_targets:
            targets += [("index", c.name) for c in self.cat.live(("index",))]
        if "persist" in caps.peek_targets:
            targets += [("persist", s) for s in sorted(self.cat.shards)]
        if not targets:
            return None
        kind, target = data.draw(st.sampled_from(targets), label="peek target")
        if kind == "index":
            c = self.cat.collections[target]
            lo = self.cat.dataflows[c.dataflow].as_of
            columns = [x.spelled() for x in c.columns]
        else:
            lo = 0
            columns = [x.spelled() for x in self.cat.shards[target].columns]
        hi = max(lo, self.max_upper()) + 2  # up to two past the frontier: a peek at a future time
        step: Json = {
            "op": "peek",
            "peek": self.name("p"),
            "target": target,
            "time": data.draw(st.integers(lo, hi), label="time"),
        }
        if kind == "persist":
            step["target_kind"] = "persist"
        elif data.draw(st.integers(0, 3)) == 0:
            key_cols = next(
                x.get("key", []) for x in self.cat.dataflows[c.dataflow].step.get("indexes", []) if x["name"] == target
            )
            if key_cols:
                step["key"] = [[data.draw(datum_for(columns[k])) for k in key_cols]]
        mfp = data.draw(peek_mfps(columns), label="mfp")
        if mfp:
            step["mfp"] = mfp
        finishing = data.draw(finishings(), label="finishing")
        if finishing:
            step["finishing"] = finishing
        return step

    @precondition(lambda self: self.cat.iteration > 0)
    @rule(data=st.data())
    def peek(self, data: st.DataObject) -> None:
        step = self._peek_step(data)
        if step is not None:
            self.run(step)

    @precondition(lambda self: self.cat.iteration > 0)
    @rule(data=st.data())
    def peek_then_cancel(self, data: st.DataObject) -> None:
        step = self._peek_step(data)
        if step is not None:
            self.run(step)
            self.run({"op": "cancel_peek", "peek": step["peek"]})

    @precondition(lambda self: bool(self.current_peeks()))
    @rule(data=st.data())
    def cancel_peek(self, data: st.DataObject) -> None:
        """Cancel any peek of this iteration: pending, answered or already cancelled (PEEK-1, PEEK-5)."""
        self.run({"op": "cancel_peek", "peek": data.draw(st.sampled_from(self.current_peeks()))})

    @precondition(lambda self: bool(self.cat.live(("index",))))
    @rule(data=st.data())
    def peek_below_since(self, data: st.DataObject) -> None:
        """Compact an index, then peek below the new since: the answer must be Error (PEEK-9)."""
        c = data.draw(st.sampled_from(sorted(self.cat.live(("index",)), key=lambda x: x.name)))
        since = self.cat.index_since(c)
        self.run({"op": "allow_compaction", "id": c.name, "frontier": [since + 2]})
        lo = self.cat.dataflows[c.dataflow].as_of
        if since + 2 > lo:
            self.run(
                {
                    "op": "peek",
                    "peek": self.name("p"),
                    "target": c.name,
                    "time": data.draw(st.integers(lo, since + 1)),
                }
            )

    # ---- compaction, drops, configuration ----

    @precondition(lambda self: bool(self.cat.live(("index", "subscribe", "copy_to"))))
    @rule(data=st.data())
    def allow_compaction(self, data: st.DataObject) -> None:
        """Compaction up to beyond the upper, also of sinks (COMPACT-2) and under pending peeks (PEEK-13)."""
        live = sorted(self.cat.live(("index", "subscribe", "copy_to")), key=lambda x: x.name)
        c = data.draw(st.sampled_from(live))
        lo = c.compaction
        frontier = data.draw(st.integers(lo, max(lo, self.max_upper()) + 3))
        self.run({"op": "allow_compaction", "id": c.name, "frontier": [frontier]})

    @precondition(lambda self: bool(self.cat.live()))
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        c = data.draw(st.sampled_from(sorted(x.name for x in self.cat.live())))
        self.run({"op": "drop", "id": c})

    @precondition(lambda self: self.cat.iteration > 0)
    @rule(data=st.data())
    def update_configuration(self, data: st.DataObject) -> None:
        """max_result_size at an extreme, or unset (CONFIG-2), possibly under pending peeks (CONFIG-1)."""
        step: Json = {"op": "update_configuration"}
        size = data.draw(st.sampled_from([None, *MAX_RESULT_SIZES]), label="max_result_size")
        if size is not None:
            step["max_result_size"] = size
        if data.draw(st.booleans(), label="dyncfg"):
            step["dyncfg"] = {"compute_flag": data.draw(st.sampled_from(["on", "off"]))}
        if data.draw(st.booleans(), label="workload_class"):
            step["workload_class"] = data.draw(st.sampled_from(["production", "staging"]))
        self.run(step)

    # ---- stages ----

    @precondition(lambda self: self.cat.iteration > 0 and not self.cat.initialized)
    @rule()
    def initialization_complete(self) -> None:
        self.run({"op": "initialization_complete"})

    @precondition(lambda self: self.cat.initialized and not self.read_only)
    @rule()
    def allow_writes(self) -> None:
        """Also repeated: AllowWrites twice must be survived (RO-4, TRANS-3)."""
        self.run({"op": "allow_writes"})

    @precondition(lambda self: self.cat.initialized)  # evidence the replica saw the stream needs an answer
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        """A new stream mid-flight, with pending peeks and live subscribes (spec 14, TRANS-2, RECON-*)."""
        if data.draw(st.integers(0, 2)) == 0:
            peeks = [p for p in self.current_peeks() if not self.cat.peeks[p].cancelled]
            resend = data.draw(st.lists(st.sampled_from(peeks), unique=True) if peeks else st.just([]))
            self.run({"op": "reconnect", "peeks": sorted(resend)})

    # ---- explicit waits (only for answers the spec owes) ----

    @precondition(lambda self: any(owed.peek_owed(self.cat, p) for p in self.cat.peeks.values()))
    @rule(data=st.data())
    def wait_peek(self, data: st.DataObject) -> None:
        names = sorted(p.name for p in self.cat.peeks.values() if owed.peek_owed(self.cat, p))
        self.run({"op": "wait_peek", "peek": data.draw(st.sampled_from(names))})

    @precondition(lambda self: any(owed.frontier_wait(self.cat, c, self.writable()) for c in self.cat.live()))
    @rule(data=st.data())
    def wait_frontier(self, data: st.DataObject) -> None:
        waits = {c.name: w for c in self.cat.live() if (w := owed.frontier_wait(self.cat, c, self.writable()))}
        name = data.draw(st.sampled_from(sorted(waits)))
        kinds, at_least = waits[name]
        for kind in kinds:
            self.run({"op": "wait_frontier", "id": name, "kind": kind, "at_least": encode_frontier(at_least)})

    @precondition(lambda self: any(owed.subscribe_wait(self.cat, c) is not None for c in self.cat.live()))
    @rule(data=st.data())
    def wait_subscribe(self, data: st.DataObject) -> None:
        waits = {c.name: w for c in self.cat.live() if (w := owed.subscribe_wait(self.cat, c)) is not None}
        name = data.draw(st.sampled_from(sorted(waits)))
        self.run({"op": "wait_subscribe", "id": name, "at_least": encode_frontier(waits[name])})

    @precondition(
        lambda self: any(owed.copy_to_owed(self.cat, c, self.writable()) for c in self.cat.collections.values())
    )
    @rule(data=st.data())
    def wait_copy_to(self, data: st.DataObject) -> None:
        names = sorted(c.name for c in self.cat.collections.values() if owed.copy_to_owed(self.cat, c, self.writable()))
        self.run({"op": "wait_copy_to", "id": data.draw(st.sampled_from(names))})

    @precondition(lambda self: self.cat.iteration > 0)
    @rule()
    def wait_quiet(self) -> None:
        """Let the replica catch up before the next command (see QUIET_SECONDS)."""
        self.run({"op": "wait_quiet", "seconds": QUIET_SECONDS})

    # ---- invariant and teardown ----

    @invariant()
    def no_violation(self) -> None:
        try:
            self.runner.check()
        except BaseException as e:
            self.failed = True
            self.error = f"{type(e).__name__}: {e}"
            raise

    def teardown(self) -> None:
        self.env.end_example(self.runner, failed=self.failed, error=self.error)


class ReadOnlyMachine(ProtocolMachine):
    """Never sends AllowWrites, and favours materialized views and copy-tos: RO-1 (no storage
    writes), RO-3 (read-only frontiers), copy-tos waiting for writability. Runs on a replica that
    has never been made writable."""

    read_only = True


__all__ = ["HUGE_LIMIT", "ProtocolMachine", "ReadOnlyMachine"]
