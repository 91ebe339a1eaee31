"""A tiny stand-in for the model evaluator, enough for hand-written oracle histories.

It evaluates `Get` (sources, index imports, earlier objects), `Constant`, `Union` and `Negate`,
with as_of and until applied, and peeks with identity MFPs only. The real evaluator lives in
`conformance.model`; this one exists so that the oracle's tests do not depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from compute_protocol.v1 import command_pb2, dataflow_pb2, plan_pb2

from conformance.frontiers import EMPTY, Frontier
from conformance.ids import GlobalId, gid_str
from conformance.model import Contents
from conformance.oracle.config import result_size
from conformance.rows import Row, row_from_proto
from conformance.storage import ShardView


def _add(into: dict[Row, int] | dict[str, int], key: object, m: int) -> None:
    into[key] = into.get(key, 0) + m  # type: ignore[index, call-overload]


def _clean(c: Contents) -> Contents:
    return Contents({r: m for r, m in c.rows.items() if m}, {e: m for e, m in c.errors.items() if m})


class FakeModel:
    def __init__(self, shards: ShardView) -> None:
        self.shards = shards
        self.sources: dict[GlobalId, str] = {}
        self.plans: dict[GlobalId, plan_pb2.ProtoPlan] = {}
        self.alias: dict[GlobalId, GlobalId] = {}
        self.keys: dict[GlobalId, list[int]] = {}
        self.window: dict[GlobalId, tuple[int, Frontier]] = {}
        self.dropped: set[GlobalId] = set()

    def add_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
        as_of = desc.as_of.elements[0]
        until = desc.until.elements[0] if desc.HasField("until") and desc.until.elements else EMPTY
        for s in desc.source_imports:
            self.sources[gid_str(s.id)] = s.storage_metadata.shard_id
        for o in desc.objects_to_build:
            self.plans[gid_str(o.id)] = o.plan
            self.window[gid_str(o.id)] = (as_of, until)
        for e in desc.index_exports:
            self.alias[gid_str(e.id)] = gid_str(e.on_id)
            self.keys[gid_str(e.id)] = list(e.key_columns)
            self.window[gid_str(e.id)] = (as_of, until)
        for sink in desc.sink_exports:
            self.alias[gid_str(sink.id)] = gid_str(getattr(sink.sink_desc, "from"))
            self.window[gid_str(sink.id)] = (as_of, until)

    def drop(self, collection_id: GlobalId) -> None:
        self.dropped.add(collection_id)

    def contents(self, collection_id: GlobalId, t: int) -> Contents:
        as_of, until = self.window[collection_id]
        if t >= until:
            if until <= as_of:
                return Contents()
            t = until - 1
        return _clean(self._eval_id(collection_id, t))

    def shard_contents(self, shard_id: str, t: int) -> Contents:
        return Contents(rows=self.shards.contents_at(shard_id, t))

    def _eval_id(self, gid: GlobalId, t: int) -> Contents:
        if gid in self.sources:
            return Contents(rows=dict(self.shards.contents_at(self.sources[gid], t)))
        if gid in self.alias:
            return self._eval_id(self.alias[gid], t)
        return self._eval(self.plans[gid], t)

    def _eval(self, plan: plan_pb2.ProtoPlan, t: int) -> Contents:
        kind = plan.WhichOneof("kind")
        out = Contents()
        if kind == "get":
            return self._eval_id(gid_str(plan.get.id), t)
        if kind == "constant":
            for u in plan.constant.updates:
                if u.time <= t:
                    if u.WhichOneof("value") == "error":
                        _add(out.errors, u.error, u.diff)
                    else:
                        _add(out.rows, row_from_proto(u.row), u.diff)
            return out
        if kind == "union":
            for p in plan.union.inputs:
                c = self._eval(p, t)
                for r, m in c.rows.items():
                    _add(out.rows, r, m)
                for e, m in c.errors.items():
                    _add(out.errors, e, m)
            return out
        if kind == "negate":
            c = self._eval(plan.negate.input, t)
            return Contents({r: -m for r, m in c.rows.items()}, dict(c.errors))
        raise NotImplementedError(f"the fake model does not evaluate {kind}")

    def _shards_read(self, gid: GlobalId) -> set[str]:
        if gid in self.sources:
            return {self.sources[gid]}
        if gid in self.alias:
            return self._shards_read(self.alias[gid])
        return set().union(*(self._shards_read(g) for g in _gets(self.plans[gid])))

    def _constant_times(self, gid: GlobalId) -> set[int]:
        if gid in self.alias:
            return self._constant_times(self.alias[gid])
        if gid in self.sources:
            return set()
        return set(_constant_times(self.plans[gid])).union(
            *(self._constant_times(g) for g in _gets(self.plans[gid]))
        )

    def input_upper(self, collection_id: GlobalId) -> Frontier:
        return min((self.shards.upper(s) for s in self._shards_read(collection_id)), default=EMPTY)

    def change_times(self, collection_id: GlobalId, lower: int, upper: Frontier) -> list[int]:
        as_of, until = self.window[collection_id]
        times = set(self._constant_times(collection_id))
        for s in self._shards_read(collection_id):
            times.update(time for _, time, _ in self.shards.updates(s))
        advanced = {max(t, as_of) for t in times}
        return sorted(t for t in advanced if lower <= t < upper and t < until)

    def as_of(self, collection_id: GlobalId) -> int:
        return self.window[collection_id][0]

    def until(self, collection_id: GlobalId) -> Frontier:
        return self.window[collection_id][1]

    def expected_peek(self, peek: command_pb2.ProtoPeek, since: int) -> FakeExpectation:
        mfp = peek.map_filter_project.mfp
        if mfp.expressions or mfp.predicates or list(mfp.projection) != list(range(mfp.input_arity)):
            raise NotImplementedError("the fake model peeks with identity MFPs only")
        if peek.timestamp < since:
            return FakeExpectation({}, must_error=(f"{peek.timestamp} is below the since {since}",))
        literals = {row_from_proto(r) for r in peek.key}
        if peek.WhichOneof("target") == "persist":
            rows = self.shards.contents_at(peek.persist.metadata.shard_id, peek.timestamp)
            if literals:
                (lit,) = literals
                rows = {r: m for r, m in rows.items() if r[: len(lit)] == lit}
            return FakeExpectation(dict(rows))
        target = gid_str(peek.index.id)
        c = self.contents(target, peek.timestamp)
        rows = c.rows
        if literals:
            key = self.keys[target]
            rows = {r: m for r, m in rows.items() if tuple(r[k] for k in key) in literals}
        must = []
        if c.errors:
            must.append(f"{target} holds errors")
        if any(m < 0 for m in rows.values()):
            must.append(f"{target} has a negative multiplicity")
        return FakeExpectation(rows, must_error=tuple(must))

    def check_finishing(
        self, returned: dict[Row, int], full: dict[Row, int], finishing: command_pb2.ProtoRowSetFinishing
    ) -> str | None:
        extra = {r: m - full.get(r, 0) for r, m in returned.items() if m > full.get(r, 0)}
        if extra:
            return f"rows not in the full answer: {extra}"
        if not finishing.HasField("limit"):
            return None if returned == full else "not the full answer"
        need = min(finishing.offset + finishing.limit, sum(full.values()))
        if sum(returned.values()) < need:
            return f"{sum(returned.values())} rows, fewer than {need}"
        return None


@dataclass(frozen=True)
class FakeExpectation:
    rows: dict[Row, int]
    must_error: tuple[str, ...] = ()
    may_error: tuple[str, ...] = ()

    @property
    def error_required(self) -> bool:
        return bool(self.must_error)

    @property
    def error_permitted(self) -> bool:
        return bool(self.must_error or self.may_error)

    def size(self) -> int:
        return result_size(r for r, m in self.rows.items() if m > 0)


def _gets(plan: plan_pb2.ProtoPlan) -> Iterable[GlobalId]:
    kind = plan.WhichOneof("kind")
    if kind == "get":
        yield gid_str(plan.get.id)
    elif kind == "union":
        for p in plan.union.inputs:
            yield from _gets(p)
    elif kind == "negate":
        yield from _gets(plan.negate.input)


def _constant_times(plan: plan_pb2.ProtoPlan) -> Iterable[int]:
    kind = plan.WhichOneof("kind")
    if kind == "constant":
        yield from (u.time for u in plan.constant.updates)
    elif kind == "union":
        for p in plan.union.inputs:
            yield from _constant_times(p)
    elif kind == "negate":
        yield from _constant_times(plan.negate.input)
