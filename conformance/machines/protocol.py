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
from conformance.machines.datums import SHAPE_DRAWS, SHAPES, rows_for
from conformance.machines.edge_shapes import edge_rows
from conformance.machines.env import MachineEnv
from conformance.machines.strategies import (
    HUGE_LIMIT,
    MAX_RESULT_SIZES,
    Source,
    finishings,
    peek_keys,
    peek_mfps,
    plans,
    thinning,
)
from conformance.steps.catalog import Catalog, Collection
from conformance.steps.plans import ColType, build_mfp, build_plan
from conformance.steps.runner import NO_LIMIT, StepRunner
from conformance.steps.values import decode_row, encode_frontier, encode_row
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import Row

Json = Any

QUIET_SECONDS = 0.01
"""The window of the `wait_quiet` rule. No verdict depends on it: the rule exists so that the
generated sequences also hold commands sent after the replica has reacted to the earlier ones
(a Canceled, a frontier, a subscribe batch that no explicit wait asks for), which a controller
sending back to back rarely produces. A reaction to a command the replica has read comes within
about one round trip (the reference replica's median empty peek round trip is under 1 ms on the
2-core machine, loaded: `bench/suite_overhead.py`), so 10 ms of silence is many round trips;
responses that take longer (a dataflow waiting on storage) arrive during later steps and are
judged the same. A longer window would only cost time: most windows see no response at all."""


class ProtocolMachine(RuleBasedStateMachine):
    env: ClassVar[MachineEnv]  # bound by the harness for each test run
    read_only: ClassVar[bool] = False  # never send AllowWrites (run on a replica that never got one)

    def __init__(self) -> None:
        super().__init__()
        self.runner: StepRunner = self.env.start_example(type(self).__name__)
        self._names = itertools.count(1)
        self.written: dict[str, Counter[Row]] = {}  # rows the suite wrote, per shard (decoded: -0.0 is 0.0)
        self.failed = False
        self.error = ""  # what stopped the example, if a step raised
        self.allowed: dict[int, int] = {}  # AllowWrites sent per connection

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
        shapes=st.lists(st.sampled_from(SHAPE_DRAWS), min_size=1, max_size=3),
        init_now=st.booleans(),
        data=st.data(),
    )
    def setup(self, shapes: list[str], init_now: bool, data: st.DataObject) -> None:
        for shape in shapes:
            name = self.name("s")
            self.run({"op": "create_shard", "shard": name, "columns": SHAPES[shape]})
            self.written[name] = Counter()
        if data.draw(st.integers(0, 31), label="slow controller") == 0:
            # A pause between CreateTimely and CreateInstance: nothing may arrive in it (STAGE-1).
            self.run({"op": "connect", "pause": 0.05})
        else:
            self.run({"op": "connect"})
        # Every example states its configuration, as a controller does in each iteration's history,
        # so no example depends on what an earlier one left in the replica (spec 12 vs 14).
        self.run({"op": "update_configuration", "max_result_size": NO_LIMIT})
        # Hypothesis enables a random subset of the rules in each example (swarm testing), so an
        # example may never append or create a dataflow: start each with rows (the edges of the
        # shard's shape among them) and one dataflow built around an edge (`edge_shapes`), so
        # that every example computes something over data.
        # (Each almost always: a shrunk example leaves them out where they do not matter.)
        for name in list(self.written):
            if data.draw(st.integers(0, 7), label="initial rows"):
                self._append(data, name, edges=True)
        if init_now:
            self.run({"op": "initialization_complete"})
        if not self.read_only and data.draw(st.integers(0, 7), label="edge dataflow"):
            self._create_dataflow(data, edge=True)  # (the read-only machine's are views and copy-tos)

    # ---- storage: the suite drives input time ----

    def boundaries(self, shard: str) -> list[int]:
        """Times where an update of `shard` tests a bound: at and just below the until of a live
        dataflow reading it, and the up_to of its subscribes (spec 5.2, SUB-6)."""
        out: set[int] = set()
        for df in self.cat.dataflows.values():
            if shard not in df.sources or not any(self.cat.collections[n].live for n in df.exports):
                continue
            bounds = [df.until] if df.until != EMPTY else []
            bounds += [up_to[0] for sk in df.step.get("sinks", []) if (up_to := sk.get("up_to"))]
            out |= {t for b in bounds for t in (b - 1, b)}
        return sorted(out)

    @precondition(lambda self: bool(self.open_shards()))
    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        self._append(data, data.draw(st.sampled_from(self.open_shards()), label="shard"))

    def _append(self, data: st.DataObject, shard: str, edges: bool = False) -> None:
        """Rows at times in [upper, upper + advance); `edges`: with the edge rows of its shape."""
        s = self.cat.shards[shard]
        advance = data.draw(st.integers(1, 3), label="advance")
        near = [t for t in self.boundaries(shard) if s.upper <= t <= s.upper + 4]
        cols = [c.spelled() for c in s.columns]
        updates: list[Json] = []
        if edges:
            for u in data.draw(edge_rows(tuple(cols)), label="edge rows"):
                updates.append([u["row"], s.upper + min(u["time"], advance - 1), u["diff"]])
        for _ in range(data.draw(st.integers(1, 4), label="rows")):
            row = data.draw(rows_for(tuple(cols)))
            if bool(near) and data.draw(st.booleans(), label="at a bound"):
                t = data.draw(st.sampled_from(near))
                advance = max(advance, t - s.upper + 1)
            else:
                t = s.upper + data.draw(st.integers(0, advance - 1))
            updates.append([row, t, data.draw(st.integers(1, 2))])
        existing = sorted((r for r, n in self.written[shard].items() if n > 0), key=repr)
        if bool(existing) and data.draw(st.booleans(), label="again"):
            # A row that is already there, once more: it must consolidate with the first (a NaN
            # row too, and a 0.0 row spelled -0.0: equal datums, spec 5.3).
            updates.append([_respelled(data.draw(st.sampled_from(existing))), s.upper, 1])
        retract: bool = bool(existing) and data.draw(st.booleans(), label="retract")
        if retract:
            row = encode_row(data.draw(st.sampled_from(existing)))
            if data.draw(st.booleans()):
                row = _respelled(decode_row(row, "row"))
            updates.append([row, s.upper, -1])
        for row, _, diff in updates:
            self.written[shard][decode_row(row, "row")] += diff
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
        self._create_dataflow(data)

    def _create_dataflow(self, data: st.DataObject, edge: bool = False, sources: list[str] | None = None) -> None:
        """A dataflow over some shards (and maybe an index); `edge`: its plan is an edge shape."""
        caps = self.env.capabilities
        # Indexes and subscribes take every plan and have their contents judged (peeks; batches at
        # every change), views and copy-tos only plans that cannot hold errors (DF-1).
        weights = {"subscribe": 2, "materialized_view": 1, "copy_to": 1}
        kinds = ["index"] * 3 + [k for k in sorted(caps.sink_kinds) for _ in range(weights[k])]
        if self.read_only:  # its business is views and copy-tos while the replica is read-only
            kinds = ["index", *sorted(caps.sink_kinds)]
            kinds += [k for k in ("materialized_view", "copy_to") if k in caps.sink_kinds] * 2
        # An edge shape is exported as an index, subscribed too: peeked and judged at every change.
        kind = "index" if edge else data.draw(st.sampled_from(kinds), label="export kind")
        safe = kind in ("materialized_view", "copy_to")
        shards = self.input_shards()
        picked = sources or data.draw(
            st.lists(st.sampled_from(shards), min_size=1, max_size=2, unique=True), label="sources"
        )
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
        inputs += [Source(c.name, tuple(x.spelled() for x in c.columns), c.may_error) for c in imports]
        plan = data.draw(plans(tuple(inputs), caps, safe, edge), label="plan")
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
            keys = [[0], [0, 1][:arity], []] + ([[1], [1], [1, 0]] if arity > 1 else [])  # also not a prefix
            key = data.draw(st.sampled_from(keys))
            step["indexes"] = [{"name": export, "on": f"{df}v", "key": key}]
            if not edge and data.draw(st.booleans(), label="second export"):
                step["indexes"].append({"name": self.name("ix"), "on": f"{df}v", "key": [0]})
            if "subscribe" in caps.sink_kinds and (edge or data.draw(st.booleans(), label="subscribed too")):
                # A subscribe on the same object has its contents judged at every change, for free.
                step["sinks"] = [{"name": self.name("sub"), "kind": "subscribe", "from": f"{df}v"}]
        else:
            sink: Json = {"name": export, "kind": kind, "from": f"{df}v"}
            if kind == "subscribe":
                sink["with_snapshot"] = data.draw(st.booleans(), label="with_snapshot")
                if data.draw(st.booleans(), label="up_to"):
                    sink["up_to"] = [as_of + data.draw(st.integers(1, 5))]
            if kind == "materialized_view":
                target = self.name("t")
                cols = [c.spelled() for c in self._columns(plan, picked, imports)]
                if as_of > 0 and data.draw(st.integers(0, 3), label="stale target") > 0:
                    # The target already holds rows (an earlier writer's) that the view must correct (DF-4).
                    self.run({"op": "create_shard", "shard": target, "columns": cols})
                    stale = data.draw(st.lists(rows_for(tuple(cols)), min_size=1, max_size=3), label="stale rows")
                    updates = [[row, data.draw(st.integers(0, as_of - 1)), 1] for row in stale]
                    self.run({"op": "append", "shard": target, "updates": updates, "upper": [as_of]})
                else:
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

    def _peek_step(self, data: st.DataObject, index_only: bool = False) -> Json | None:
        caps = self.env.capabilities
        targets: list[tuple[str, str]] = []
        if "index" in caps.peek_targets:
            targets += [("index", c.name) for c in self.cat.live(("index",))]
        if "persist" in caps.peek_targets and not index_only:
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
        until = self.cat.dataflows[c.dataflow].until if kind == "index" else EMPTY
        final = self.cat.input_upper(c.dataflow) if kind == "index" else self.cat.shards[target].upper
        readable = self.cat.index_since(c) if kind == "index" else self.cat.shards[target].since
        if index_only:  # (peek_below_since peeks below the since on purpose; this one reads rows)
            lo, hi = readable, max(hi, readable)
        around = [x for x in (until - 1, until, until + 1) if x >= lo] if until != EMPTY else []
        if bool(around) and data.draw(st.booleans(), label="at until"):
            t = data.draw(st.sampled_from(around))
        elif final != EMPTY and final > readable and (index_only or data.draw(st.integers(0, 3), label="final") > 0):
            t = data.draw(st.integers(readable, final - 1), label="time")  # answerable now: rows to judge
        else:
            t = data.draw(st.integers(lo, hi), label="time")
        step: Json = {"op": "peek", "peek": self.name("p"), "target": target, "time": t}
        if kind == "persist":
            step["target_kind"] = "persist"
        elif data.draw(st.booleans(), label="literals"):
            key_cols = next(
                x.get("key", []) for x in self.cat.dataflows[c.dataflow].step.get("indexes", []) if x["name"] == target
            )
            if key_cols:
                step["key"] = data.draw(peek_keys(tuple(columns), tuple(key_cols)), label="literals")
        mfp = {} if index_only and data.draw(st.booleans()) else data.draw(peek_mfps(tuple(columns)), label="mfp")
        if mfp:
            step["mfp"] = mfp
        types = [ColType.parse(x, "column") for x in columns]
        width = len(build_mfp(mfp, types, "mfp")[1])
        finishing = data.draw(thinning(width) if index_only else finishings(width), label="finishing")
        if kind == "persist" and finishing.get("limit") is not None:
            finishing = {k: v for k, v in finishing.items() if k != "order_by"}  # PEEK-16 (CTRL)
        if finishing:
            step["finishing"] = finishing
        return step

    @precondition(lambda self: self.cat.iteration > 0)
    @rule(data=st.data())
    def peek(self, data: st.DataObject) -> None:
        """A peek, left pending or (half the time, when its answer is owed) awaited."""
        step = self._peek_step(data)
        if step is not None:
            self.run(step)
            if owed.peek_owed(self.cat, self.cat.peeks[step["peek"]]) and data.draw(st.booleans(), label="await"):
                self.run({"op": "wait_peek", "peek": step["peek"]})

    @precondition(lambda self: self.cat.initialized and bool(self.cat.live(("index",))))
    @rule(data=st.data())
    def peek_index(self, data: st.DataObject) -> None:
        """A peek at an index: the plans' results (a persist peek reads only a shard). When its
        answer is owed it is awaited, so that no cancel overtakes it: its rows get judged."""
        step = self._peek_step(data, index_only=True)
        if step is not None:
            self.run(step)
            if owed.peek_owed(self.cat, self.cat.peeks[step["peek"]]):
                self.run({"op": "wait_peek", "peek": step["peek"]})

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

    @precondition(lambda self: bool(self.cat.droppable()))
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        """Drop an export, never an index that live importers read (as upstream's controller)."""
        c = data.draw(st.sampled_from(sorted(x.name for x in self.cat.droppable())))
        self.run({"op": "drop", "id": c})

    @precondition(lambda self: self.cat.iteration > 0)
    @rule(data=st.data())
    def update_configuration(self, data: st.DataObject) -> None:
        """max_result_size at an extreme, or unset (CONFIG-2), possibly under pending peeks (CONFIG-1):
        sometimes just after a peek that cannot be answered yet."""
        pending = self._pending_peek(data) if data.draw(st.integers(0, 3), label="pending peek") == 0 else None
        step: Json = {"op": "update_configuration"}
        # No limit twice as often as the tiny one, which makes every non-empty answer an Error: the
        # rows of the other answers are what the data rules judge.
        size = data.draw(st.sampled_from([None, *MAX_RESULT_SIZES, MAX_RESULT_SIZES[-1]]), label="max_result_size")
        if size is not None:
            step["max_result_size"] = size
        if data.draw(st.booleans(), label="dyncfg"):
            step["dyncfg"] = {"compute_flag": data.draw(st.sampled_from(["on", "off"]))}
        if data.draw(st.booleans(), label="workload_class"):
            step["workload_class"] = data.draw(st.sampled_from(["production", "staging"]))
        self.run(step)
        if pending is not None:  # its answer must heed the new limit (CONFIG-1): make it answerable
            self._sync()  # once the replica has shown it read the change
            for shard in pending:
                if self.cat.shards[shard].upper != EMPTY:
                    self.run({"op": "append", "shard": shard, "upper": [self.cat.shards[shard].upper + 2]})

    # ---- stages ----

    @precondition(lambda self: self.cat.iteration > 0 and not self.cat.initialized)
    @rule()
    def initialization_complete(self) -> None:
        self.run({"op": "initialization_complete"})

    @precondition(
        lambda self: self.cat.initialized and not self.read_only and self.allowed.get(self.cat.iteration, 0) < 2
    )
    @rule()
    def allow_writes(self) -> None:
        """Also repeated: AllowWrites twice must be survived (RO-4, TRANS-3); more often than that
        adds nothing but steps."""
        self.allowed[self.cat.iteration] = self.allowed.get(self.cat.iteration, 0) + 1
        self.run({"op": "allow_writes"})

    @precondition(lambda self: self.cat.initialized)  # evidence the replica saw the stream needs an answer
    @rule(data=st.data())
    def reconnect(self, data: st.DataObject) -> None:
        """A new stream mid-flight, with pending peeks and live subscribes (spec 14, TRANS-2, RECON-*).
        Sometimes just after a peek that cannot be answered yet (it must not be answered on the
        new stream unless re-sent, RECON-2), or after dropping an export of an index that another
        dataflow imports (the importer cannot be reused as it was, spec 14)."""
        if data.draw(st.integers(0, 2)) == 0:
            if data.draw(st.booleans(), label="pending peek"):
                self._pending_peek(data)
            changed = self._changeable_upstreams()
            upstream_changed = bool(changed) and data.draw(st.booleans(), label="change an upstream")
            if upstream_changed:
                self.run({"op": "drop", "id": data.draw(st.sampled_from(changed))})
            peeks = [p for p in self.current_peeks() if not self.cat.peeks[p].cancelled]
            resend = data.draw(st.lists(st.sampled_from(peeks), unique=True) if peeks else st.just([]))
            self.run({"op": "reconnect", "peeks": sorted(resend)})
            if upstream_changed:
                self._importers_follow()

    def _importers_follow(self) -> None:
        """New input after a reconnect that rebuilt an upstream: the importers' frontiers must
        follow it (a replica that reused them would read the old upstream, which is gone)."""
        for shard in self.open_shards():
            self.run({"op": "append", "shard": shard, "upper": [self.cat.shards[shard].upper + 1]})
        for c in self.cat.live(("index",)):
            wait = owed.frontier_wait(self.cat, c, self.writable())
            if self.cat.dataflows[c.dataflow].imports and wait is not None:
                kinds, at_least = wait
                for kind in kinds:
                    self.run({"op": "wait_frontier", "id": c.name, "kind": kind, "at_least": encode_frontier(at_least)})

    def _pending_peek(self, data: st.DataObject) -> list[str] | None:
        """A peek at a time its target's inputs have not reached: it stays pending. Returns the
        shards that would make it answerable, or None if no such peek was sent."""
        step = self._peek_step(data)
        if step is None:
            return None
        if step.get("target_kind") == "persist":
            final, shards = self.cat.shards[step["target"]].upper, [step["target"]]
            shards = [s for s in shards if s in self.written]  # (a view's target is the view's to write)
        else:
            df = self.cat.collections[step["target"]].dataflow
            final, shards = self.cat.input_upper(df), self._shards_read(df)
        if final == EMPTY:
            return None
        step["time"] = max(step["time"], final)
        self.run(step)
        return shards

    def _sync(self) -> None:
        """An answered peek: the replica has processed every command sent before it (they arrive
        in order), which a write on the storage stream does not show."""
        if not self.cat.initialized or "persist" not in self.env.capabilities.peek_targets:
            return
        readable = [s for s in self.input_shards() if self.cat.shards[s].upper > self.cat.shards[s].since]
        if readable:
            shard = self.cat.shards[readable[0]]
            name = self.name("p")
            self.run({"op": "peek", "peek": name, "target": shard.name, "target_kind": "persist", "time": shard.since})
            self.run({"op": "wait_peek", "peek": name})

    def _shards_read(self, dataflow: str) -> list[str]:
        df = self.cat.dataflows[dataflow]
        out = list(df.sources)
        for name in df.imports:
            out += self._shards_read(self.cat.collections[name].dataflow)
        return sorted(set(out))

    def _changeable_upstreams(self) -> list[str]:
        """Live exports whose dataflow also exports an index that a live dataflow imports."""
        live = [df for df in self.cat.dataflows.values() if any(self.cat.collections[n].live for n in df.exports)]
        imported = {name for df in live for name in df.imports if self.cat.collections[name].live}
        out: list[str] = []
        for name in imported:
            upstream = self.cat.dataflows[self.cat.collections[name].dataflow]
            out += [n for n in upstream.exports if n != name and self.cat.collections[n].live]
        return sorted(out)

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


def _respelled(row: Row) -> list[Json]:
    """The row in JSON, with every zero float's sign flipped: an equal row (spec 5.3)."""
    out = encode_row(row)
    for i, (kind, value) in enumerate(row):
        if kind == "float64" and value == 0.0:
            out[i] = 0.0 if out[i] == {"float64": "-0.0"} else {"float64": "-0.0"}
    return out


class ReadOnlyMachine(ProtocolMachine):
    """Never sends AllowWrites, and favours materialized views and copy-tos: RO-1 (no storage
    writes), RO-3 (read-only frontiers), copy-tos waiting for writability. Runs on a replica that
    has never been made writable."""

    read_only = True


__all__ = ["HUGE_LIMIT", "ProtocolMachine", "ReadOnlyMachine"]
