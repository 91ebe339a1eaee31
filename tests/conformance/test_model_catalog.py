"""The model's catalog: as_of/until (spec 5.2), index imports, inputs, change times, caching."""

from __future__ import annotations

from typing import Any

import pytest
from compute_protocol.v1 import dataflow_pb2

from conformance.model import Model
from conformance.model.build import (
    constant,
    copy_to_export,
    dataflow,
    get,
    index_export,
    materialized_view_export,
    mfp,
    mfp_plan,
    reduce,
    source_import,
    subscribe_export,
    union,
)
from conformance.model.contents import Contents
from conformance.storage import ShardLog, StorageEvent
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import Row, row


class Shards:
    """A ShardLog fed directly with events, as the harness would."""

    def __init__(self) -> None:
        self.log = ShardLog()
        self.seq = 0

    def _emit(self, kind: Any, **fields: Any) -> None:
        self.seq += 1
        self.log.apply(StorageEvent(kind, self.seq, 0.0, **fields))

    def create(self, shard_id: str, arity: int = 1, upper: int = 0) -> None:
        self._emit("create_shard", shard_id=shard_id, arity=arity, upper=upper)

    def append(self, shard_id: str, updates: list[tuple[Row, int, int]], new_upper: int) -> None:
        self._emit("append", shard_id=shard_id, writer_id="suite", lower=self.log.upper(shard_id),
                   upper=new_upper, updates=tuple(updates))


def r(*values: Any) -> Row:
    return row(*values)


def index_on_shard(shard: str = "s1", *, as_of: int = 0, until: int = EMPTY,
                   plan: Any = None) -> dataflow_pb2.ProtoDataflowDescription:
    return dataflow(
        as_of=as_of, until=until,
        sources=[source_import("u1", shard)],
        objects=[("u2", plan if plan is not None else get("u1"))],
        index_exports=[index_export("u3", "u2", [0])],
    )


@pytest.fixture
def shards() -> Shards:
    s = Shards()
    s.create("s1")
    s.append("s1", [(r(1), 0, 1), (r(2), 1, 1), (r(1), 3, -1), (r(3), 5, 1)], 10)
    return s


def test_index_contents_follow_the_shard(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard())
    assert m.contents("u3", 0).rows == {r(1): 1}
    assert m.contents("u3", 2).rows == {r(1): 1, r(2): 1}
    assert m.contents("u3", 4).rows == {r(2): 1}
    assert m.contents("u3", 9).rows == {r(2): 1, r(3): 1}
    assert m.contents("u2", 9) == m.contents("u3", 9)       # the built object, by its own id


def test_as_of_reads_earlier_updates_at_as_of_and_refuses_earlier_times(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard(as_of=2))
    assert m.contents("u3", 2).rows == {r(1): 1, r(2): 1}
    with pytest.raises(ValueError, match="below its as_of 2"):
        m.contents("u3", 1)


def test_until_freezes_contents_at_until_minus_one(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard(as_of=1, until=4))
    assert m.contents("u3", 3).rows == {r(2): 1}
    assert m.contents("u3", 4).rows == {r(2): 1}
    assert m.contents("u3", 100).rows == {r(2): 1}            # the update at 5 is suppressed
    assert m.until("u3") == 4 and m.as_of("u3") == 1


def test_until_just_above_as_of_keeps_only_as_of(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard(as_of=3, until=4))
    assert m.contents("u3", 3).rows == {r(2): 1}
    assert m.contents("u3", 9).rows == {r(2): 1}


def test_until_at_or_below_as_of_leaves_nothing(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard(as_of=3, until=3))
    assert m.contents("u3", 3) == Contents()
    assert m.contents("u3", 50) == Contents()
    assert m.change_times("u3", 0, EMPTY) == []


def test_constant_times_advance_to_as_of_and_stop_at_until() -> None:
    plan = constant(1, [(r("early"), 1, 1), (r("at"), 4, 1), (r("late"), 6, 1), (r("beyond"), 8, 1)])
    m = Model(ShardLog())
    m.add_dataflow(dataflow(as_of=4, until=8, objects=[("u1", plan)],
                            index_exports=[index_export("u2", "u1", [0])]))
    assert m.contents("u2", 4).rows == {r("early"): 1, r("at"): 1}
    assert m.contents("u2", 7).rows == {r("early"): 1, r("at"): 1, r("late"): 1}
    assert m.contents("u2", 8) == m.contents("u2", 7)
    assert m.change_times("u2", 0, EMPTY) == [4, 6]
    assert m.input_upper("u2") == EMPTY                 # constants only


def test_index_import_uses_the_exporting_dataflows_as_of_and_until() -> None:
    a = constant(1, [(r(1), 0, 1), (r(2), 3, 1), (r(3), 6, 1)])
    b_plan = constant(1, [(r(10), 0, 1), (r(20), 9, 1)])
    m = Model(ShardLog())
    m.add_dataflow(dataflow(as_of=0, until=5, objects=[("u1", a)],
                            index_exports=[index_export("u2", "u1", [0])]))
    m.add_dataflow(dataflow(as_of=2, index_imports=["u2"],
                            objects=[("u5", b_plan), ("u6", union(get("u2"), get("u5")))],
                            index_exports=[index_export("u7", "u6", [0])]))
    assert m.contents("u7", 2).rows == {r(1): 1, r(10): 1}
    assert m.contents("u7", 4).rows == {r(1): 1, r(2): 1, r(10): 1}
    # The import stops changing at the exporter's until (5); the importer's own plan does not.
    assert m.contents("u7", 9).rows == {r(1): 1, r(2): 1, r(10): 1, r(20): 1}
    assert m.change_times("u7", 0, EMPTY) == [2, 3, 9]


def test_importing_dataflows_until_applies_on_top() -> None:
    a = constant(1, [(r(1), 0, 1), (r(2), 3, 1)])
    m = Model(ShardLog())
    m.add_dataflow(dataflow(as_of=0, objects=[("u1", a)], index_exports=[index_export("u2", "u1", [0])]))
    m.add_dataflow(dataflow(as_of=1, until=3, index_imports=["u2"], objects=[("u3", get("u2"))],
                            index_exports=[index_export("u4", "u3", [0])]))
    assert m.contents("u4", 10).rows == {r(1): 1}


def test_import_below_the_exporters_as_of_is_refused() -> None:
    m = Model(ShardLog())
    m.add_dataflow(dataflow(as_of=5, objects=[("u1", constant(1, []))],
                            index_exports=[index_export("u2", "u1", [0])]))
    m.add_dataflow(dataflow(as_of=1, index_imports=["u2"], objects=[("u3", get("u2"))],
                            index_exports=[index_export("u4", "u3", [0])]))
    with pytest.raises(ValueError, match="below the as_of 5"):
        m.contents("u4", 2)


def test_input_upper_is_the_meet_of_the_shards_read_transitively() -> None:
    s = Shards()
    for shard, upper in (("a", 4), ("b", 7), ("unused", 1)):
        s.create(shard)
        s.append(shard, [], upper)
    m = Model(s.log)
    m.add_dataflow(dataflow(as_of=0, sources=[source_import("u1", "b")], objects=[("u2", get("u1"))],
                            index_exports=[index_export("u3", "u2", [0])]))
    assert m.input_upper("u3") == 7
    m.add_dataflow(dataflow(as_of=0, sources=[source_import("u4", "a"), source_import("u9", "unused")],
                            index_imports=["u3"],
                            objects=[("u5", union(get("u3"), get("u4")))],
                            index_exports=[index_export("u6", "u5", [0])]))
    assert m.input_upper("u6") == 4                     # min(a, b); the unread import is ignored
    s.append("a", [], 9)
    assert m.input_upper("u6") == 7


def test_change_times_of_a_shard_input(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard(as_of=2, until=5))
    assert m.change_times("u3", 0, EMPTY) == [2, 3]     # 0 and 1 advance to 2; 5 is at until
    assert m.change_times("u3", 3, 4) == [3]
    assert m.change_times("u3", 4, 10) == []


def test_as_of_is_always_a_change_time() -> None:
    s = Shards()
    s.create("s")
    m = Model(s.log)
    m.add_dataflow(index_on_shard("s", as_of=3))
    assert m.change_times("u3", 0, EMPTY) == [3]
    assert m.change_times("u3", 4, EMPTY) == []


def test_contents_see_new_writes_despite_the_cache(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard(plan=reduce(get("u1"), [], [("count", 0)])))
    assert m.contents("u3", 12).rows == {r(2): 1}
    shards.append("s1", [(r(7), 11, 1)], 20)
    assert m.contents("u3", 12).rows == {r(3): 1}


def test_returned_contents_are_copies(shards: Shards) -> None:
    m = Model(shards.log)
    m.add_dataflow(index_on_shard())
    m.contents("u3", 2).rows.clear()
    assert m.contents("u3", 2).rows == {r(1): 1, r(2): 1}


def test_shard_contents() -> None:
    s = Shards()
    s.create("s", arity=2)
    s.append("s", [(r(1, "a"), 0, 2), (r(1, "a"), 1, -2), (r(2, "b"), 1, -1)], 2)
    m = Model(s.log)
    assert m.shard_contents("s", 0).rows == {r(1, "a"): 2}
    assert m.shard_contents("s", 1).rows == {r(2, "b"): -1}


def test_exports_are_described() -> None:
    m = Model(ShardLog())
    m.add_dataflow(dataflow(
        as_of=3,
        objects=[("u1", constant(2, []))],
        index_exports=[index_export("u2", "u1", [1, 0])],
        sink_exports=[
            subscribe_export("u3", "u1", with_snapshot=False, up_to=9),
            materialized_view_export("u4", "u1", "target", "addr:1"),
            copy_to_export("u5", "u1", "blob/1", "addr:2"),
        ],
    ))
    idx, sub, mv, copy = (m.export(i) for i in ("u2", "u3", "u4", "u5"))
    assert (idx.kind, idx.of, idx.key_columns) == ("index", "u1", (1, 0))
    assert (sub.kind, sub.with_snapshot, sub.up_to) == ("subscribe", False, 9)
    assert (mv.kind, mv.shard_id, mv.storage_address) == ("materialized_view", "target", "addr:1")
    assert mv.up_to == EMPTY
    assert (copy.kind, copy.blob_key, copy.storage_address) == ("copy_to", "blob/1", "addr:2")
    assert [e.id for e in m.exports()] == ["u2", "u3", "u4", "u5"]
    assert m.contents("u4", 3) == Contents()


def test_sink_contents_are_its_from_object() -> None:
    m = Model(ShardLog())
    plan = constant(1, [(r(1), 0, 1), (r(2), 4, 1)])
    m.add_dataflow(dataflow(as_of=2, objects=[("u1", plan), ("u2", mfp_plan(get("u1"), mfp(1)))],
                            sink_exports=[subscribe_export("u3", "u2")]))
    assert m.contents("u3", 2).rows == {r(1): 1}
    assert m.contents("u3", 4).rows == {r(1): 1, r(2): 1}


def test_drop_keeps_the_id_known_but_not_live() -> None:
    m = Model(ShardLog())
    m.add_dataflow(dataflow(as_of=0, objects=[("u1", constant(1, []))],
                            index_exports=[index_export("u2", "u1", [0])]))
    assert m.is_live("u2") and m.knows("u2")
    m.drop("u2")
    assert not m.is_live("u2") and m.knows("u2")
    assert m.contents("u2", 0) == Contents()
    with pytest.raises(KeyError):
        m.drop("u99")


@pytest.mark.parametrize(
    ("desc", "message"),
    [
        (dataflow_pb2.ProtoDataflowDescription(), "as_of"),
        (dataflow(as_of=0, objects=[("u1", get("u9"))]), "u9"),
        (dataflow(as_of=0, objects=[("u1", get("u2")), ("u2", constant(1, []))]), "u2"),
        (dataflow(as_of=0, index_imports=["u7"]), "no known index"),
        (dataflow(as_of=0, objects=[("u1", constant(1, []))], index_exports=[index_export("u2", "u3", [0])]),
         "unknown object u3"),
    ],
)
def test_invalid_descriptions_are_refused(desc: dataflow_pb2.ProtoDataflowDescription, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Model(ShardLog()).add_dataflow(desc)


def test_reused_export_id_is_refused() -> None:
    m = Model(ShardLog())
    desc = dataflow(as_of=0, objects=[("u1", constant(1, []))], index_exports=[index_export("u2", "u1", [0])])
    m.add_dataflow(desc)
    with pytest.raises(ValueError, match="reused"):
        m.add_dataflow(desc)


def test_unknown_ids_raise_key_error() -> None:
    m = Model(ShardLog())
    with pytest.raises(KeyError, match="u4"):
        m.contents("u4", 0)
