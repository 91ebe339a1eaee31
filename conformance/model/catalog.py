"""The model: the dataflows of one protocol iteration and the contents of their collections.

`Model.contents(id, t)` evaluates the collection's plan from scratch on the shards' contents
at `t` with the owning dataflow's `as_of` and `until` (spec 5.2):
- `t` must be at least `as_of` (contents below it are undefined, and the suite never asks);
- with `until`, the contents at any `t >= until` are those at `until - 1`, and a dataflow
  whose `until <= as_of` has no contents at all;
- an index import is the exporting dataflow's object, evaluated under *that* dataflow's
  `as_of` and `until`, at the time the importing dataflow reads it.

Results are cached by (dataflow, object, effective time) and validated against the number
of updates of every shard the object reads, so a write invalidates exactly what it touches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from compute_protocol.v1 import dataflow_pb2

from conformance.model.contents import Contents
from conformance.model.plans import Plan, compile_plan
from conformance.storage import ShardView
from conformance.wire import frontiers
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import GlobalId, gid_str

ExportKind = Literal["index", "subscribe", "materialized_view", "copy_to"]

_CACHE_LIMIT = 50_000
_NOTHING = Contents()


@dataclass(frozen=True)
class Export:
    """What a CreateDataflow exported: enough for the oracle to know what to check."""

    id: GlobalId
    kind: ExportKind
    of: GlobalId                      # the object it arranges (on_id) or sinks (from)
    dataflow: int                     # index into Model.dataflows
    key_columns: tuple[int, ...] = ()  # index exports
    with_snapshot: bool = False        # sinks
    up_to: Frontier = EMPTY            # sinks; EMPTY when unbounded
    shard_id: str = ""                 # materialized view target
    storage_address: str = ""          # materialized view and copy-to
    blob_key: str = ""                 # copy-to


@dataclass
class Dataflow:
    number: int
    debug_name: str
    as_of: int
    until: Frontier
    sources: dict[GlobalId, str]                     # source import id -> shard id
    index_imports: tuple[GlobalId, ...]
    objects: dict[GlobalId, Plan] = field(default_factory=dict)   # in build order
    exports: tuple[GlobalId, ...] = ()

    def is_empty(self) -> bool:
        """until <= as_of suppresses every output update (spec 5.2)."""
        return self.until <= self.as_of

    def effective_time(self, t: int) -> int:
        return min(t, self.until - 1)


class Model:
    """The collections of one protocol iteration, evaluated against a ShardView."""

    def __init__(self, shards: ShardView) -> None:
        self.shards = shards
        self.dataflows: list[Dataflow] = []
        self._exports: dict[GlobalId, Export] = {}
        self._built: dict[GlobalId, int] = {}          # object id -> latest dataflow building it
        self._dropped: set[GlobalId] = set()
        self._reads: dict[tuple[int, GlobalId], tuple[str, ...]] = {}
        self._cache: dict[tuple[int, GlobalId, int], tuple[tuple[int, ...], Contents]] = {}

    # -- catalog -------------------------------------------------------------------------

    def add_dataflow(self, desc: dataflow_pb2.ProtoDataflowDescription) -> None:
        """Register a dataflow: its objects, index exports and sink exports become known ids.

        Raises ValueError for a description that breaks DF-1 in a way the model cannot
        evaluate (no as_of, a Get of an unknown id, an import of an unknown index, a reused
        export id); the suite never sends those.
        """
        if not desc.HasField("as_of") or not desc.as_of.elements:
            raise ValueError(f"dataflow {desc.debug_name!r}: as_of missing or empty (DF-1)")
        number = len(self.dataflows)
        as_of = frontiers.from_proto(desc.as_of)
        until = frontiers.from_proto(desc.until) if desc.HasField("until") else EMPTY
        sources = {gid_str(s.id): s.storage_metadata.shard_id for s in desc.source_imports}
        index_imports = tuple(gid_str(i.id) for i in desc.index_imports)
        for index in index_imports:
            if index not in self._exports or self._exports[index].kind != "index":
                raise ValueError(f"dataflow {desc.debug_name!r} imports {index}, which is no known index")
        df = Dataflow(number, desc.debug_name, as_of, until, sources, index_imports)
        known = set(sources) | set(index_imports)
        for build in desc.objects_to_build:
            object_id = gid_str(build.id)
            plan = compile_plan(build.plan)
            unknown = plan.gets() - known
            if unknown:
                raise ValueError(f"object {object_id} reads {sorted(unknown)}: neither an import nor "
                                 "an earlier object of its dataflow (DF-1)")
            df.objects[object_id] = plan
            known.add(object_id)
        exports = [self._index_export(e, number) for e in desc.index_exports]
        exports += [self._sink_export(e, number) for e in desc.sink_exports]
        for export in exports:
            if export.of not in known:
                raise ValueError(f"export {export.id} of unknown object {export.of}")
            if export.id in self._exports:
                raise ValueError(f"export id {export.id} reused (DF-1)")
        df.exports = tuple(e.id for e in exports)
        self.dataflows.append(df)
        for export in exports:
            self._exports[export.id] = export
        for object_id in df.objects:
            self._built[object_id] = number

    @staticmethod
    def _index_export(e: dataflow_pb2.ProtoIndexExport, number: int) -> Export:
        return Export(gid_str(e.id), "index", gid_str(e.on_id), number, key_columns=tuple(e.key_columns))

    @staticmethod
    def _sink_export(e: dataflow_pb2.ProtoSinkExport, number: int) -> Export:
        sink = e.sink_desc
        connection = sink.connection
        kind = connection.WhichOneof("kind")
        up_to = frontiers.from_proto(sink.up_to) if sink.HasField("up_to") else EMPTY
        sid, of = gid_str(e.id), gid_str(getattr(sink, "from"))
        if kind == "materialized_view":
            meta = connection.materialized_view.storage_metadata
            return Export(sid, "materialized_view", of, number, with_snapshot=sink.with_snapshot,
                          up_to=up_to, shard_id=meta.shard_id, storage_address=meta.storage_address)
        if kind == "copy_to":
            copy = connection.copy_to
            return Export(sid, "copy_to", of, number, with_snapshot=sink.with_snapshot, up_to=up_to,
                          storage_address=copy.storage_address, blob_key=copy.blob_key)
        if kind == "subscribe":
            return Export(sid, "subscribe", of, number, with_snapshot=sink.with_snapshot, up_to=up_to)
        raise ValueError(f"sink {sid} with no connection kind")

    def drop(self, collection_id: GlobalId) -> None:
        """AllowCompaction(id, []): the id stays known (for reports) but is no longer live."""
        self.export(collection_id)
        self._dropped.add(collection_id)

    def export(self, collection_id: GlobalId) -> Export:
        try:
            return self._exports[collection_id]
        except KeyError:
            raise KeyError(f"{collection_id} is not an export of this iteration") from None

    def exports(self) -> list[Export]:
        return list(self._exports.values())

    def knows(self, collection_id: GlobalId) -> bool:
        return collection_id in self._exports or collection_id in self._built

    def is_live(self, collection_id: GlobalId) -> bool:
        return collection_id in self._exports and collection_id not in self._dropped

    def dataflow_of(self, collection_id: GlobalId) -> Dataflow:
        return self._resolve(collection_id)[0]

    def _resolve(self, collection_id: GlobalId) -> tuple[Dataflow, GlobalId]:
        """Exports stand for the object they arrange or sink; an object id names the latest
        dataflow that built it."""
        export = self._exports.get(collection_id)
        if export is not None:
            return self.dataflows[export.dataflow], export.of
        if collection_id in self._built:
            return self.dataflows[self._built[collection_id]], collection_id
        raise KeyError(f"{collection_id} is neither an export nor a built object of this iteration")

    # -- contents ------------------------------------------------------------------------

    def contents(self, collection_id: GlobalId, t: int) -> Contents:
        """Contents at t of an index export, a sink export (its `from` object) or a built object,
        with the owning dataflow's as_of and until applied. t must be >= as_of."""
        df, name = self._resolve(collection_id)
        if t < df.as_of:
            raise ValueError(f"contents of {collection_id} at {t}: below its as_of {df.as_of}, "
                             "where they are undefined (spec 5.2)")
        if df.is_empty():
            return Contents()
        return self._evaluate(df, name, df.effective_time(t)).copy()

    def shard_contents(self, shard_id: str, t: int) -> Contents:
        """Contents at t of a storage shard (persist peeks, materialized-view targets)."""
        return Contents(rows=self.shards.contents_at(shard_id, t))

    def _evaluate(self, df: Dataflow, name: GlobalId, t: int) -> Contents:
        """Contents of `name` in `df` at the effective time t (as_of <= t < until)."""
        key = (df.number, name, t)
        versions = tuple(self.shards.version(s) for s in self._shards_read(df, name))
        cached = self._cache.get(key)
        if cached is not None and cached[0] == versions:
            return cached[1]
        if name in df.objects:
            result = df.objects[name].evaluate(t, lambda n: self._evaluate(df, n, t))
        elif name in df.sources:
            result = self.shard_contents(df.sources[name], t)
        else:
            result = self._evaluate_index(name, t)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = (versions, result)
        return result

    def _evaluate_index(self, index_id: GlobalId, t: int) -> Contents:
        export = self._exports[index_id]
        owner = self.dataflows[export.dataflow]
        if owner.is_empty():
            return _NOTHING
        t_owner = owner.effective_time(t)
        if t_owner < owner.as_of:
            raise ValueError(f"index {index_id} read at {t}, below the as_of {owner.as_of} of the "
                             "dataflow exporting it: undefined (DF-1)")
        return self._evaluate(owner, export.of, t_owner)

    # -- inputs, frontiers and times -----------------------------------------------------

    def _shards_read(self, df: Dataflow, name: GlobalId) -> tuple[str, ...]:
        """The shards `name` reads, transitively through earlier objects and index imports."""
        key = (df.number, name)
        if key not in self._reads:
            shards: set[str] = set()
            for dataflow, source in self._leaves(df, name):
                shards.add(dataflow.sources[source])
            self._reads[key] = tuple(sorted(shards))
        return self._reads[key]

    def _leaves(self, df: Dataflow, name: GlobalId) -> Iterator[tuple[Dataflow, GlobalId]]:
        """Every (dataflow, source import) that `name` reads, transitively."""
        if name in df.objects:
            for read in df.objects[name].gets():
                yield from self._leaves(df, read)
        elif name in df.sources:
            yield df, name
        else:
            export = self._exports[name]
            yield from self._leaves(self.dataflows[export.dataflow], export.of)

    def input_upper(self, collection_id: GlobalId) -> Frontier:
        """How far storage made the collection's inputs final: the meet of the uppers of the shards
        it reads, transitively; EMPTY if none.

        An imported index whose exporting dataflow has an `until` counts as `[]` once its own
        inputs reached that until: its contents never change again (spec 5.2), so an importer
        may follow it to `[]` and answer at any later time (upstream's dataflow stops reading at
        its until and its frontier goes to `[]`).
        """
        df, name = self._resolve(collection_id)
        return self._upper(df, name, owed=False)

    def owed_upper(self, collection_id: GlobalId) -> Frontier:
        """How far the collection's inputs are *guaranteed* to progress (the liveness bound):
        like `input_upper`, but an imported index counts only up to its exporting dataflow's
        `until`, since that dataflow owes no progress beyond it (FRONT-9)."""
        df, name = self._resolve(collection_id)
        return self._upper(df, name, owed=True)

    def _upper(self, df: Dataflow, name: GlobalId, *, owed: bool) -> Frontier:
        if name in df.objects:
            return min((self._upper(df, read, owed=owed) for read in df.objects[name].gets()), default=EMPTY)
        if name in df.sources:
            return self.shards.upper(df.sources[name])
        export = self._exports[name]
        owner = self.dataflows[export.dataflow]
        inner = self._upper(owner, export.of, owed=owed)
        if owed:
            return min(inner, owner.until)
        return EMPTY if inner >= owner.until else inner

    def change_times(self, collection_id: GlobalId, lower: int, upper: Frontier) -> list[int]:
        """Sorted times in [lower, upper) at which the contents may differ from the time before
        (input update times advanced to as_of, none at or beyond until); the points at which
        subscribe and materialized-view checks compare accumulations with the model.

        as_of itself is always one of them (when in range): the contents there may differ
        from the undefined contents before it, even when no input update lands on it.
        """
        df, name = self._resolve(collection_id)
        times = self._times(df, name) | ({df.as_of} if not df.is_empty() else set())
        return sorted(t for t in times if lower <= t < upper)

    def _times(self, df: Dataflow, name: GlobalId) -> set[int]:
        """Times at which `name`'s contents in `df` may change, advanced to df's as_of and
        below its until."""
        raw: set[int] = set()
        if name in df.objects:
            plan = df.objects[name]
            raw |= plan.constant_times()
            for read in plan.gets():
                raw |= self._times(df, read)
        elif name in df.sources:
            raw = {time for _, time, _ in self.shards.updates(df.sources[name])}
        else:
            export = self._exports[name]
            raw = self._times(self.dataflows[export.dataflow], export.of)
        return {max(time, df.as_of) for time in raw if max(time, df.as_of) < df.until}

    def as_of(self, collection_id: GlobalId) -> int:
        return self._resolve(collection_id)[0].as_of

    def until(self, collection_id: GlobalId) -> Frontier:
        """EMPTY when unbounded."""
        return self._resolve(collection_id)[0].until
