"""The controller's side of the story: what was sent, by name, and what each step becomes.

Steps speak in local names (`s1`, `idx`, `p3`); the catalog binds them to fresh global ids,
shard ids and peek uuids, and remembers only what the controller itself did: shards and
their uppers, dataflows and their exports, compaction frontiers, peeks and cancels, the
stage of the iteration. It never looks at responses, except for facts a successful wait
established (`note_answered`), so everything it decides replays identically.

It refuses steps that would break a controller obligation of the spec (the CTRL rules:
STAGE-4/5, DF-1, DF-3, COMPACT-1, RO-4, RECON-4) with a `FieldError` naming the field, and
it computes the reduced history of a reconnect (spec 14).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2
from google.protobuf import empty_pb2

from conformance.steps import actions as A
from conformance.steps.plans import ColType, Input, build_mfp, build_plan, check_row_fits, relation_desc
from conformance.steps.values import FieldError, decode_frontier, decode_row, encode_frontier
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import gid_proto, gid_str, uuid_proto
from conformance.wire.rows import Row, row_to_proto

Json = Any
COLLECTION_KINDS: Final = ("index", "subscribe", "materialized_view", "copy_to")


class Ids:
    """Fresh global ids, shard ids and peek uuids: never reused in a session, across examples."""

    def __init__(self, prefix: str | None = None) -> None:
        # Start user ids high and time-based so a long-lived replica never sees an id of an earlier run.
        now = int(time.time() * 1000)
        self._gids: Iterator[int] = itertools.count((now % 1_000_000) * 1_000_000)
        self._uuid_hi = now
        self._uuids: Iterator[int] = itertools.count(1)
        self._shards: Iterator[int] = itertools.count(1)
        self.prefix = prefix or f"t{now:x}"

    def gid(self) -> str:
        return f"u{next(self._gids)}"

    def uuid(self) -> str:
        return f"{self._uuid_hi:016x}{next(self._uuids):016x}"

    def shard(self, name: str) -> str:
        return f"{self.prefix}-{name}-{next(self._shards)}"


@dataclass
class Shard:
    name: str
    shard_id: str
    gid: str
    columns: list[ColType]
    upper: Frontier = 0
    since: int = 0
    mv_target_of: str | None = None  # the live materialized view writing it (DF-1: no other writer)


@dataclass
class Collection:
    """An export (index or sink) of a dataflow; objects stay private to their dataflow."""

    name: str
    gid: str
    kind: str
    dataflow: str
    columns: list[ColType]
    may_error: bool
    live: bool = True
    scheduled: bool = False
    compaction: Frontier = 0
    shard: str | None = None  # materialized view target
    answered: bool = False  # copy-to: a wait established the answer
    iteration: int = 0  # the connection that (re-)created it: nothing is owed about it on a later one


@dataclass
class Dataflow:
    name: str
    step: Json
    as_of: int
    until: Frontier
    sources: list[str]
    imports: list[str]
    exports: list[str]
    desc: dataflow_pb2.ProtoDataflowDescription


@dataclass
class Peek:
    name: str
    uuid: str
    target: str
    target_kind: str
    time: int
    command: command_pb2.ProtoComputeCommand
    since: int = 0  # index: the compaction in effect when the Peek was sent; persist: the shard's since
    cancelled: bool = False
    answered: bool = False
    iteration: int = 0


@dataclass
class Catalog:
    ids: Ids = field(default_factory=Ids)
    storage_address: str = "127.0.0.1:0"
    shards: dict[str, Shard] = field(default_factory=dict)
    collections: dict[str, Collection] = field(default_factory=dict)
    dataflows: dict[str, Dataflow] = field(default_factory=dict)
    peeks: dict[str, Peek] = field(default_factory=dict)
    iteration: int = 0  # 0: not connected yet
    initialized: bool = False  # InitializationComplete sent on this iteration
    allow_writes_sent: bool = False  # in this run (replayed on reconnect)
    config: command_pb2.ProtoComputeParameters = field(default_factory=command_pb2.ProtoComputeParameters)
    features: set[str] = field(default_factory=set)  # op:*, sink:*, peek:* used so far
    last_max_result_size: int | None = None  # the last value sent, on any connection

    # ---- the one entry point ----

    def plan(self, step: Json) -> A.Planned:
        """The actions of a well-formed step (checked by schema.check_step), or FieldError."""
        op = step["op"]
        if op != "connect" and self.iteration == 0 and op not in _STORAGE_OPS:
            raise FieldError("op", f"{op} before the first connect step")
        planned: A.Planned = getattr(self, f"_{op}")(step)
        if not planned.recorded:
            planned.recorded = dict(step)
        return planned

    # ---- iterations and stages ----

    def _connect(self, step: Json) -> A.Planned:
        # A fresh iteration that replays nothing: every collection and peek of earlier ones is gone.
        for c in self.collections.values():
            self._forget(c)
        self.iteration += 1
        self.initialized = False
        self.config = command_pb2.ProtoComputeParameters()  # this iteration's own configuration
        return A.Planned([A.Connect(pause=float(step.get("pause", 0.0)))])

    def _initialization_complete(self, step: Json) -> A.Planned:
        if self.initialized:
            raise FieldError("op", "InitializationComplete was already sent on this connection (STAGE-4)")
        self.initialized = True
        return A.Planned([A.Send(_cmd(initialization_complete=_empty()))])

    def _allow_writes(self, step: Json) -> A.Planned:
        if not self.initialized:
            raise FieldError("op", "AllowWrites before InitializationComplete (STAGE-4, RO-4)")
        self.allow_writes_sent = True
        return A.Planned([A.Send(_cmd(allow_writes=_empty()))])

    def _update_configuration(self, step: Json) -> A.Planned:
        params = command_pb2.ProtoComputeParameters()
        if "max_result_size" in step:
            params.max_result_size = step["max_result_size"]
            self.last_max_result_size = step["max_result_size"]
        if "dyncfg" in step:
            params.dyncfg_updates.updates.update(step["dyncfg"])
        if "workload_class" in step:
            params.workload_class.value = step["workload_class"]
        self.config.MergeFrom(params)  # unset fields keep their value (CONFIG-2); dyncfg merges by key
        return A.Planned([A.Send(_cmd(update_configuration=params))])

    def _reconnect(self, step: Json) -> A.Planned:
        """Spec 14: creation, merged configuration, live dataflows (as_of raised), schedules,
        the peeks still wanted, remaining compactions, InitializationComplete, AllowWrites."""
        wanted = step.get("peeks", [])
        for i, name in enumerate(wanted):
            if name not in self.peeks:
                raise FieldError(f"peeks[{i}]", f"unknown peek {name!r}")
        self.iteration += 1
        replay: list[command_pb2.ProtoComputeCommand] = []
        if self.config.ByteSize():
            replay.append(_cmd(update_configuration=self.config))
        new_as_of: dict[str, int] = {}
        for df in self.dataflows.values():
            cmd = self._replayed_dataflow(df, new_as_of)
            if cmd is not None:
                replay.append(cmd)
        for df in self.dataflows.values():
            for name in df.exports:
                c = self.collections[name]
                if c.live and c.scheduled:
                    replay.append(_cmd(schedule=gid_proto(c.gid)))
        resent = []
        for name in wanted:
            p = self.peeks[name]
            target = self.collections.get(p.target) if p.target_kind == "index" else None
            ok = not p.cancelled and (
                p.target_kind == "persist"
                or (target is not None and target.live and p.time >= new_as_of.get(target.dataflow, 0))
            )
            if ok:
                replay.append(p.command)
                p.iteration, p.answered = self.iteration, False
                # Compactions are replayed after the peeks: the peek's since is the new as_of.
                p.since = new_as_of[target.dataflow] if target is not None else self.shards[p.target].since
                resent.append(name)
        for p in self.peeks.values():
            if p.iteration != self.iteration:
                p.cancelled = True  # of an earlier iteration: never answered here (RECON-2), never re-sent
        for c in self.collections.values():
            if c.live and c.kind == "index" and c.compaction > new_as_of.get(c.dataflow, 0):
                replay.append(_compaction(c.gid, c.compaction))
        if self.initialized:
            replay.append(_cmd(initialization_complete=_empty()))
            if self.allow_writes_sent:
                replay.append(_cmd(allow_writes=_empty()))
        return A.Planned([A.Connect(tuple(replay))], {"op": "reconnect", "peeks": resent})

    def _replayed_dataflow(self, df: Dataflow, new_as_of: dict[str, int]) -> command_pb2.ProtoComputeCommand | None:
        live = [self.collections[n] for n in df.exports if self.collections[n].live]
        if not live:
            return None
        as_of = df.as_of
        index_fronts = [c.compaction for c in live if c.kind == "index"]
        if index_fronts and len(index_fronts) == len(live):
            cap = df.until - 1 if df.until != EMPTY else EMPTY - 1
            as_of = max(as_of, min(min(index_fronts), cap))
        inputs_gone = False
        for name in df.imports:
            imported = self.collections[name]
            inputs_gone = inputs_gone or not imported.live or imported.dataflow not in new_as_of
            as_of = max(as_of, new_as_of.get(imported.dataflow, 0))
        for name in df.sources:
            as_of = max(as_of, self.shards[name].since)
        has_mv = any(c.kind == "materialized_view" for c in live)
        if inputs_gone or as_of >= df.until or (has_mv and as_of != df.as_of):
            # Not re-creatable as it was (DF-1: until beyond as_of; an MV target's upper may be below
            # a raised as_of): the controller leaves it out, and the replica must drop it in silence.
            for c in live:
                self._forget(c)
            return None
        new_as_of[df.name] = as_of
        desc = dataflow_pb2.ProtoDataflowDescription()
        desc.CopyFrom(df.desc)
        desc.as_of.CopyFrom(_frontier(as_of))
        kept = {self.collections[n].gid for n in df.exports if self.collections[n].live}
        _keep_exports(desc, kept)
        for imp in desc.source_imports:
            shard = next(s for s in self.shards.values() if s.gid == gid_str(imp.id))
            imp.upper.CopyFrom(_frontier(shard.upper))
        # From now on this is the dataflow: later peeks, owed answers and replays start from here.
        df.as_of, df.desc = as_of, desc
        for c in live:
            c.answered = False  # a re-created copy-to answers again (COPY-3)
            c.iteration = self.iteration
        return _cmd(create_dataflow=desc)

    # ---- storage (the suite's own writes) ----

    def _create_shard(self, step: Json) -> A.Planned:
        name = step["shard"]
        if name in self.shards:
            raise FieldError("shard", f"shard {name!r} already exists")
        cols = [ColType.parse(c, f"columns[{i}]") for i, c in enumerate(step["columns"])]
        upper = decode_frontier(step.get("upper", [0]), "upper")
        shard = Shard(name, self.ids.shard(name), self.ids.gid(), cols, upper)
        self.shards[name] = shard
        return A.Planned([A.CreateShard(shard.shard_id, tuple(cols), upper)])

    def _append(self, step: Json) -> A.Planned:
        shard = self._shard(step["shard"], "shard")
        if shard.mv_target_of is not None:
            raise FieldError(
                "shard",
                f"shard {shard.name!r} is written by materialized view "
                f"{shard.mv_target_of!r}; no other writer while it is live (DF-1)",
            )
        upper = decode_frontier(step["upper"], "upper")
        if upper <= shard.upper and not (upper == shard.upper and not step.get("updates")):
            raise FieldError("upper", f"the new upper must be beyond the current one, [{shard.upper}]")
        updates: list[tuple[Row, int, int]] = []
        for i, (raw_row, t, diff) in enumerate(step.get("updates", [])):
            row = decode_row(raw_row, f"updates[{i}][0]")
            check_row_fits(row, shard.columns, f"updates[{i}][0]")
            if not shard.upper <= t < upper:
                raise FieldError(
                    f"updates[{i}][1]",
                    f"time {t} is outside [upper, new upper) = [{shard.upper}, {_fmt(upper)})",
                )
            updates.append((row, t, diff))
        shard.upper = upper
        return A.Planned([A.Append(shard.shard_id, tuple(updates), upper)])

    def _advance_since(self, step: Json) -> A.Planned:
        shard = self._shard(step["shard"], "shard")
        since = step["since"]
        if since < shard.since:
            raise FieldError("since", f"a since never goes back (it is {shard.since})")
        for df in self.dataflows.values():
            if shard.name in df.sources and any(self.collections[n].live for n in df.exports) and since > df.as_of:
                raise FieldError(
                    "since",
                    f"dataflow {df.name!r} reads the shard from as_of {df.as_of}; the "
                    "suite holds the since at or below it while the dataflow is live",
                )
        for p in self.peeks.values():
            # The storage service has no read holds: a persist peek can only keep its read access
            # (PEEK-13) if the suite leaves the since alone until the peek is known answered.
            if (
                p.target_kind == "persist"
                and p.target == shard.name
                and p.iteration == self.iteration
                and not p.answered
                and since > p.time
            ):
                raise FieldError(
                    "since",
                    f"persist peek {p.name!r} at time {p.time} may still be pending; the "
                    "suite holds the shard's since at or below its time until it is answered",
                )
        shard.since = since
        return A.Planned([A.AdvanceSince(shard.shard_id, since)])

    # ---- dataflows ----

    def _create_dataflow(self, step: Json) -> A.Planned:
        name = step["dataflow"]
        if name in self.dataflows:
            raise FieldError("dataflow", f"dataflow {name!r} already exists; names are never reused")
        as_of = step["as_of"]
        until = decode_frontier(step.get("until", []), "until")
        if until <= as_of:
            raise FieldError("until", f"until must be beyond as_of {as_of} (DF-1)")
        desc = dataflow_pb2.ProtoDataflowDescription(as_of=_frontier(as_of), debug_name=name)
        if until != EMPTY:
            desc.until.CopyFrom(_frontier(until))
        scope: dict[str, Input] = {}
        for i, sname in enumerate(step.get("sources", [])):
            shard = self._shard(sname, f"sources[{i}]")
            if shard.since > as_of:
                raise FieldError(f"sources[{i}]", f"shard since {shard.since} is beyond as_of {as_of} (DF-1)")
            scope[sname] = Input(shard.gid, shard.columns)
            desc.source_imports.append(
                dataflow_pb2.ProtoSourceImport(
                    id=gid_proto(shard.gid),
                    storage_metadata=self._metadata(shard),
                    upper=_frontier(shard.upper),
                )
            )
        for i, iname in enumerate(step.get("imports", [])):
            idx = self._collection(iname, f"imports[{i}]", ("index",))
            idx_since = self.index_since(idx)
            if idx_since > as_of:
                raise FieldError(
                    f"imports[{i}]", f"the index is readable from {idx_since} on, beyond as_of {as_of} (DF-1)"
                )
            key = self.dataflows[idx.dataflow].step["indexes"]
            key_cols = next(x.get("key", []) for x in key if x["name"] == iname)
            scope[iname] = Input(idx.gid, idx.columns, idx.may_error)
            desc.index_imports.append(
                dataflow_pb2.ProtoIndexImport(
                    id=gid_proto(idx.gid), desc=relation_desc(idx.columns), key_columns=key_cols
                )
            )

        def resolve(ref: str, path: str) -> Input:
            if ref not in scope:
                raise FieldError(
                    path, f"{ref!r} is not a source, an index import or an earlier object of this dataflow"
                )
            return scope[ref]

        objects: dict[str, Input] = {}
        for i, obj in enumerate(step.get("objects", [])):
            oname = obj["name"]
            if oname in scope or oname in self.collections:
                raise FieldError(f"objects[{i}].name", f"name {oname!r} is already taken")
            built = build_plan(obj["plan"], resolve, f"objects[{i}].plan")
            self.features |= {f"op:{o}" for o in built.operators}
            gid = self.ids.gid()
            scope[oname] = objects[oname] = Input(gid, built.columns, built.may_error)
            desc.objects_to_build.append(dataflow_pb2.ProtoBuildDesc(id=gid_proto(gid), plan=built.proto))
        exports: list[Collection] = []
        taken: set[str] = set()

        def export_name(n: str, path: str) -> None:
            if n in self.collections or n in scope or n in taken:
                raise FieldError(path, f"name {n!r} is already taken; export ids are never reused (DF-1)")
            taken.add(n)

        def source_object(n: str, path: str) -> Input:
            if n not in objects:
                raise FieldError(path, f"{n!r} is not an object of this dataflow")
            return objects[n]

        for i, ix in enumerate(step.get("indexes", [])):
            export_name(ix["name"], f"indexes[{i}].name")
            on = source_object(ix["on"], f"indexes[{i}].on")
            key = ix.get("key", [])
            for j, k in enumerate(key):
                if k >= len(on.columns):
                    raise FieldError(f"indexes[{i}].key[{j}]", f"column {k} does not exist")
            c = Collection(ix["name"], self.ids.gid(), "index", name, on.columns, on.may_error)
            desc.index_exports.append(
                dataflow_pb2.ProtoIndexExport(id=gid_proto(c.gid), on_id=gid_proto(on.gid), key_columns=key)
            )
            exports.append(c)
        for i, sk in enumerate(step.get("sinks", [])):
            path = f"sinks[{i}]"
            export_name(sk["name"], f"{path}.name")
            src = source_object(sk["from"], f"{path}.from")
            kind = sk["kind"]
            self.features.add(f"sink:{kind}")
            sink = dataflow_pb2.ProtoComputeSinkDesc(
                from_desc=relation_desc(src.columns), with_snapshot=sk.get("with_snapshot", True)
            )
            getattr(sink, "from").CopyFrom(gid_proto(src.gid))  # `from` is a Python keyword
            if "up_to" in sk:
                sink.up_to.CopyFrom(_frontier(decode_frontier(sk["up_to"], f"{path}.up_to")))
            elif kind != "subscribe" and "with_snapshot" in sk:
                raise FieldError(f"{path}.with_snapshot", "only subscribes take with_snapshot")
            c = Collection(sk["name"], self.ids.gid(), kind, name, src.columns, src.may_error)
            if kind in ("materialized_view", "copy_to") and src.may_error:
                raise FieldError(
                    f"{path}.from",
                    f"a {kind} reads only collections that never hold errors (DF-1); "
                    f"{sk['from']!r} may (constant errors, arithmetic or reduce)",
                )
            if kind == "materialized_view":
                if "shard" not in sk:
                    raise FieldError(f"{path}.shard", "a materialized_view needs its target shard")
                target = self._shard(sk["shard"], f"{path}.shard")
                if target.mv_target_of is not None or any(target.name in d.sources for d in self.dataflows.values()):
                    raise FieldError(
                        f"{path}.shard",
                        f"shard {target.name!r} is already written or read by the "
                        "suite's dataflows; an MV target has one writer (DF-1)",
                    )
                if len(target.columns) != len(src.columns) or not all(
                    a.joins(b) for a, b in zip(target.columns, src.columns, strict=True)
                ):
                    raise FieldError(f"{path}.shard", "the target shard's columns differ from the view's")
                if target.upper < as_of:
                    raise FieldError(f"{path}.shard", f"target shard upper [{target.upper}] is below as_of (DF-1)")
                if len(step.get("indexes", [])) + len(step.get("sinks", [])) > 1:
                    raise FieldError(
                        path,
                        "a dataflow with a materialized view exports nothing else "
                        "(so a reconnect never has to raise its as_of)",
                    )
                target.mv_target_of = sk["name"]
                c.shard = target.name
                sink.connection.materialized_view.value_desc.CopyFrom(relation_desc(src.columns))
                sink.connection.materialized_view.storage_metadata.CopyFrom(self._metadata(target))
            elif kind == "copy_to":
                sink.connection.copy_to.storage_address = self.storage_address
                sink.connection.copy_to.blob_key = f"{self.ids.prefix}-copy-{c.gid}"
            else:
                sink.connection.subscribe.SetInParent()
            desc.sink_exports.append(dataflow_pb2.ProtoSinkExport(id=gid_proto(c.gid), sink_desc=sink))
            exports.append(c)
        if not exports:
            raise FieldError("indexes", "a dataflow needs at least one index or sink export")
        for c in exports:
            c.iteration = self.iteration
            self.collections[c.name] = c
        self.dataflows[name] = Dataflow(
            name,
            step,
            as_of,
            until,
            list(step.get("sources", [])),
            list(step.get("imports", [])),
            [c.name for c in exports],
            desc,
        )
        actions: list[A.Action] = [A.Send(_cmd(create_dataflow=desc))]
        if step.get("schedule", True):
            for c in exports:
                c.scheduled = True
                actions.append(A.Send(_cmd(schedule=gid_proto(c.gid))))
        return A.Planned(actions)

    def _schedule(self, step: Json) -> A.Planned:
        c = self._collection(step["id"], "id", COLLECTION_KINDS)
        if c.scheduled:
            raise FieldError("id", f"{c.name!r} is already scheduled")
        c.scheduled = True
        return A.Planned([A.Send(_cmd(schedule=gid_proto(c.gid)))])

    def _allow_compaction(self, step: Json) -> A.Planned:
        c = self._collection(step["id"], "id", COLLECTION_KINDS)
        frontier = decode_frontier(step["frontier"], "frontier")
        if frontier == EMPTY:
            return self._drop({"op": "drop", "id": step["id"]})
        if frontier < c.compaction:
            raise FieldError("frontier", f"compaction never goes back; it is {_fmt(c.compaction)} (COMPACT-1)")
        if c.kind == "materialized_view":
            raise FieldError("id", "the suite never sends a non-empty compaction for a materialized view (COMPACT-1)")
        c.compaction = frontier
        return A.Planned([A.Send(_compaction(c.gid, frontier))])

    def _drop(self, step: Json) -> A.Planned:
        c = self._collection(step["id"], "id", COLLECTION_KINDS)
        self._forget(c)
        return A.Planned([A.Send(_compaction(c.gid, EMPTY))], {"op": "drop", "id": c.name})

    def _forget(self, c: Collection) -> None:
        c.live = False
        c.compaction = EMPTY
        if c.shard is not None:
            self.shards[c.shard].mv_target_of = None

    # ---- peeks ----

    def _peek(self, step: Json) -> A.Planned:
        name = step["peek"]
        if name in self.peeks:
            raise FieldError("peek", f"peek {name!r} already exists; uuids are never reused")
        kind = step.get("target_kind", "index")
        self.features.add(f"peek:{kind}")
        t = step["time"]
        peek = command_pb2.ProtoPeek(timestamp=t)
        if kind == "index":
            target = self._collection(step["target"], "target", ("index",))
            df = self.dataflows[target.dataflow]
            if t < df.as_of:
                raise FieldError("time", f"the controller never peeks below as_of {df.as_of} (A3)")
            columns, gid, since = target.columns, target.gid, self.index_since(target)
            peek.index.id.CopyFrom(gid_proto(gid))
            key_cols = next(x.get("key", []) for x in df.step["indexes"] if x["name"] == target.name)
        else:
            shard = self._shard(step["target"], "target")
            columns, gid, since = shard.columns, shard.gid, shard.since
            peek.persist.id.CopyFrom(gid_proto(gid))
            peek.persist.metadata.CopyFrom(self._metadata(shard))
            key_cols = list(range(len(columns)))
        keys = step.get("key", [])
        if kind == "persist" and len(keys) > 1:
            raise FieldError("key", "a persist peek takes at most one literal row (spec 8.1)")
        for i, raw in enumerate(keys):
            row = decode_row(raw, f"key[{i}]")
            want = [columns[k] for k in key_cols]
            if kind == "persist":
                want = want[: len(row)]
            check_row_fits(row, want, f"key[{i}]")
            peek.key.append(row_to_proto(row))
        mfp, out_cols, _ = build_mfp(step.get("mfp", {}), columns, "mfp")
        peek.map_filter_project.mfp.CopyFrom(mfp)
        fin = step.get("finishing", {})
        peek.finishing.SetInParent()
        for i, o in enumerate(fin.get("order_by", [])):
            if o["column"] >= len(out_cols):
                raise FieldError(f"finishing.order_by[{i}].column", f"column {o['column']} does not exist")
            peek.finishing.order_by.append(
                command_pb2.ProtoColumnOrder(
                    column=o["column"], desc=o.get("desc", False), nulls_last=o.get("nulls_last", False)
                )
            )
        if fin.get("limit") is not None:
            peek.finishing.limit = fin["limit"]
        peek.finishing.offset = fin.get("offset", 0)
        peek.finishing.project.extend(fin.get("project", range(len(out_cols))))
        peek.uuid.CopyFrom(uuid_proto(uuid := self.ids.uuid()))
        cmd = _cmd(peek=peek)
        self.peeks[name] = Peek(name, uuid, step["target"], kind, t, cmd, since, iteration=self.iteration)
        return A.Planned([A.Send(cmd)])

    def _cancel_peek(self, step: Json) -> A.Planned:
        p = self._peek_of(step["peek"], "peek")
        if p.iteration != self.iteration:
            raise FieldError("peek", f"peek {p.name!r} belongs to an earlier connection")
        # A second CancelPeek, or one for an answered peek, is legal and produces nothing (PEEK-1).
        p.cancelled = True
        return A.Planned([A.Send(_cmd(cancel_peek=uuid_proto(p.uuid)))])

    # ---- waits ----

    def _wait_peek(self, step: Json) -> A.Planned:
        p = self._peek_of(step["peek"], "peek")
        if p.iteration != self.iteration:
            raise FieldError("peek", f"peek {p.name!r} was not sent on this connection; it is never answered here")
        return A.Planned([A.WaitPeek(p.uuid, p.name, step.get("expect"))])

    def _wait_frontier(self, step: Json) -> A.Planned:
        c = self._current(self._collection(step["id"], "id", ("index", "materialized_view"), live=False))
        kind = step.get("kind", "all")
        kinds = ("write", "input", "output") if kind == "all" else (kind,)
        return A.Planned([A.WaitFrontier(c.gid, c.name, kinds, decode_frontier(step["at_least"], "at_least"))])

    def _wait_subscribe(self, step: Json) -> A.Planned:
        c = self._current(self._collection(step["id"], "id", ("subscribe",), live=False))
        return A.Planned([A.WaitSubscribe(c.gid, c.name, decode_frontier(step["at_least"], "at_least"))])

    def _wait_copy_to(self, step: Json) -> A.Planned:
        c = self._current(self._collection(step["id"], "id", ("copy_to",), live=False))
        return A.Planned([A.WaitCopyTo(c.gid, c.name, step.get("expect"))])

    def _wait_shard(self, step: Json) -> A.Planned:
        shard = self._shard(step["shard"], "shard")
        return A.Planned([A.WaitShard(shard.shard_id, shard.name, decode_frontier(step["at_least"], "at_least"))])

    def _wait_quiet(self, step: Json) -> A.Planned:
        return A.Planned([A.WaitQuiet(float(step["seconds"]))])

    def _settle(self, step: Json) -> A.Planned:
        return A.Planned([A.Settle()])

    # ---- facts established by successful waits ----

    def note_answered(self, name: str) -> None:
        if name in self.peeks:
            self.peeks[name].answered = True
        elif name in self.collections:
            self.collections[name].answered = True

    # ---- lookups ----

    def index_since(self, c: Collection) -> int:
        """The earliest time readable from an index: its compaction, and never below its as_of."""
        return max(c.compaction, self.dataflows[c.dataflow].as_of)

    def input_upper(self, dataflow: str) -> Frontier:
        """How far a dataflow's inputs are guaranteed to progress: the meet of the uppers of the
        shards it reads, through index imports, each import capped at its exporter's until (a
        dataflow owes no progress beyond its until, FRONT-9); [] if none."""
        df = self.dataflows[dataflow]
        uppers = [self.shards[s].upper for s in df.sources]
        for i in df.imports:
            exporter = self.dataflows[self.collections[i].dataflow]
            uppers.append(min(self.input_upper(exporter.name), exporter.until))
        return min(uppers, default=EMPTY)

    def fully_scheduled(self, dataflow: str) -> bool:
        """Every export of the dataflow, and of the dataflows it imports from, was scheduled (DF-2)."""
        df = self.dataflows[dataflow]
        return all(self.collections[n].scheduled for n in df.exports) and all(
            self.fully_scheduled(self.collections[i].dataflow) for i in df.imports
        )

    def live(self, kinds: tuple[str, ...] = COLLECTION_KINDS) -> list[Collection]:
        return [c for c in self.collections.values() if c.live and c.kind in kinds]

    def _shard(self, name: str, path: str) -> Shard:
        if name not in self.shards:
            raise FieldError(path, f"unknown shard {name!r}; create it with a create_shard step first")
        return self.shards[name]

    def _current(self, c: Collection) -> Collection:
        if c.iteration != self.iteration:
            raise FieldError("id", f"{c.name!r} belongs to an earlier connection: nothing is owed about it here")
        return c

    def _collection(self, name: str, path: str, kinds: tuple[str, ...], live: bool = True) -> Collection:
        c = self.collections.get(name)
        if c is None:
            raise FieldError(path, f"unknown collection {name!r}; expected a {' or '.join(kinds)} export")
        if c.kind not in kinds:
            raise FieldError(path, f"{name!r} is a {c.kind}; expected a {' or '.join(kinds)}")
        if live and not c.live:
            raise FieldError(path, f"{name!r} was dropped; nothing may name it afterwards (STAGE-5)")
        return c

    def _peek_of(self, name: str, path: str) -> Peek:
        if name not in self.peeks:
            raise FieldError(path, f"unknown peek {name!r}")
        return self.peeks[name]

    def _metadata(self, shard: Shard) -> common_pb2.ProtoCollectionMetadata:
        return common_pb2.ProtoCollectionMetadata(
            storage_address=self.storage_address,
            shard_id=shard.shard_id,
            relation_desc=relation_desc(shard.columns),
        )


_STORAGE_OPS: Final = frozenset({"create_shard", "append", "advance_since"})


def _cmd(**kwargs: Any) -> command_pb2.ProtoComputeCommand:
    return command_pb2.ProtoComputeCommand(**kwargs)


def _empty() -> empty_pb2.Empty:
    return empty_pb2.Empty()


def _frontier(f: Frontier) -> common_pb2.ProtoU64Antichain:
    return common_pb2.ProtoU64Antichain(elements=encode_frontier(f))


def _compaction(gid: str, f: Frontier) -> command_pb2.ProtoComputeCommand:
    return _cmd(allow_compaction=command_pb2.ProtoCompaction(id=gid_proto(gid), frontier=_frontier(f)))


def _fmt(f: Frontier) -> str:
    return "[]" if f == EMPTY else f"[{f}]"


def _keep_exports(desc: dataflow_pb2.ProtoDataflowDescription, keep: set[str]) -> None:
    kept_ix = [x for x in desc.index_exports if gid_str(x.id) in keep]
    kept_sk = [x for x in desc.sink_exports if gid_str(x.id) in keep]
    del desc.index_exports[:]
    del desc.sink_exports[:]
    desc.index_exports.extend(kept_ix)
    desc.sink_exports.extend(kept_sk)
