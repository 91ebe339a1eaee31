"""Planning steps into commands: names become fresh ids, controller rules are kept, and a
reconnect replays the reduced history of spec section 14."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.steps import actions as A
from conformance.steps.catalog import Catalog, Ids
from conformance.steps.values import FieldError
from conformance.wire.frontiers import EMPTY, from_proto
from conformance.wire.ids import gid_str

Json = Any


def plan_all(cat: Catalog, steps: list[Json]) -> list[A.Planned]:
    return [cat.plan(s) for s in steps]


def sent(planned: A.Planned) -> list[str]:
    return [str(a.command.WhichOneof("kind")) for a in planned.actions if isinstance(a, A.Send)]


BASE: list[Json] = [
    {"op": "create_shard", "shard": "src", "columns": ["int64", "string?"]},
    {"op": "connect"},
    {
        "op": "create_dataflow",
        "dataflow": "df",
        "as_of": 0,
        "sources": ["src"],
        "objects": [{"name": "v", "plan": {"get": "src"}}],
        "indexes": [{"name": "idx", "on": "v", "key": [0]}],
    },
    {"op": "initialization_complete"},
]


def test_names_bind_to_fresh_ids_never_reused_across_catalogs() -> None:
    ids = Ids()
    one, two = Catalog(ids=ids), Catalog(ids=ids)
    plan_all(one, BASE)
    plan_all(two, BASE)
    assert one.collections["idx"].gid != two.collections["idx"].gid
    assert one.shards["src"].shard_id != two.shards["src"].shard_id
    p1 = one.plan({"op": "peek", "peek": "p", "target": "idx", "time": 0})
    p2 = two.plan({"op": "peek", "peek": "p", "target": "idx", "time": 0})
    assert p1.actions[0].command.peek.uuid != p2.actions[0].command.peek.uuid  # type: ignore[union-attr]


def test_create_dataflow_carries_shape_and_schedules_every_export() -> None:
    cat = Catalog(storage_address="storage:1")
    planned = plan_all(cat, BASE[:2])
    cat.plan({"op": "append", "shard": "src", "updates": [[[1, "a"], 0, 1]], "upper": [3]})
    p = cat.plan(BASE[2] | {"until": [9]})
    assert sent(p) == ["create_dataflow", "schedule"]
    desc = p.actions[0].command.create_dataflow  # type: ignore[union-attr]
    assert from_proto(desc.as_of) == 0 and from_proto(desc.until) == 9
    imp = desc.source_imports[0]
    assert from_proto(imp.upper) == 3, "a source import carries the shard's current upper"
    assert imp.storage_metadata.storage_address == "storage:1"
    assert len(imp.storage_metadata.relation_desc.columns) == 2
    assert gid_str(desc.index_exports[0].on_id) == gid_str(desc.objects_to_build[0].id)
    assert planned[0].actions[0] == A.CreateShard(cat.shards["src"].shard_id, tuple(cat.shards["src"].columns), 0)


def test_unscheduled_dataflow_waits_for_schedule_step() -> None:
    cat = Catalog()
    plan_all(cat, BASE[:2])
    p = cat.plan(BASE[2] | {"schedule": False})
    assert sent(p) == ["create_dataflow"]
    assert sent(cat.plan({"op": "schedule", "id": "idx"})) == ["schedule"]
    with pytest.raises(FieldError, match="already scheduled"):
        cat.plan({"op": "schedule", "id": "idx"})


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        ({"op": "allow_compaction", "id": "idx", "frontier": [1]}, "compaction never goes back"),
        ({"op": "advance_since", "shard": "src", "since": 5}, "holds the since"),
        ({"op": "peek", "peek": "p", "target": "idx", "time": 0}, None),
        ({"op": "initialization_complete"}, "already sent"),
        ({"op": "append", "shard": "src", "upper": [1]}, "beyond the current one"),
    ],
)
def test_controller_rules(step: Json, fragment: str | None) -> None:
    cat = Catalog()
    plan_all(
        cat,
        [
            *BASE,
            {"op": "append", "shard": "src", "upper": [2]},
            {"op": "allow_compaction", "id": "idx", "frontier": [2]},
        ],
    )
    if fragment is None:
        cat.plan(step)
    else:
        with pytest.raises(FieldError, match=fragment):
            cat.plan(step)


def test_dropped_collections_cannot_be_named_again() -> None:
    cat = Catalog()
    plan_all(cat, BASE)
    assert sent(cat.plan({"op": "drop", "id": "idx"})) == ["allow_compaction"]
    with pytest.raises(FieldError, match="dropped"):
        cat.plan({"op": "peek", "peek": "p", "target": "idx", "time": 0})
    with pytest.raises(FieldError, match="already taken"):
        cat.plan(BASE[2] | {"dataflow": "df2"})


def test_materialized_views_and_copy_tos_read_only_error_free_collections() -> None:
    cat = Catalog()
    plan_all(
        cat,
        [
            *BASE,
            {"op": "create_shard", "shard": "t", "columns": ["int64", "int64"]},
            {"op": "create_shard", "shard": "kv", "columns": ["int64", "int64"]},
        ],
    )
    risky = {
        "mfp": {
            "input": {"get": "kv"},
            "expressions": [{"div": [{"column": 0}, {"column": 1}]}],
            "projection": [0, 2],
        }
    }
    with pytest.raises(FieldError, match=r"never hold errors \(DF-1\)"):
        cat.plan(
            {
                "op": "create_dataflow",
                "dataflow": "mv",
                "as_of": 0,
                "sources": ["kv"],
                "objects": [{"name": "w", "plan": risky}],
                "sinks": [{"name": "m", "kind": "materialized_view", "from": "w", "shard": "t"}],
            }
        )
    ok = cat.plan(
        {
            "op": "create_dataflow",
            "dataflow": "mv2",
            "as_of": 0,
            "sources": ["kv"],
            "objects": [{"name": "w2", "plan": {"get": "kv"}}],
            "sinks": [{"name": "m", "kind": "materialized_view", "from": "w2", "shard": "t"}],
        }
    )
    mv = ok.actions[0].command.create_dataflow.sink_exports[0].sink_desc  # type: ignore[union-attr]
    assert mv.connection.materialized_view.storage_metadata.shard_id == cat.shards["t"].shard_id
    with pytest.raises(FieldError, match="written by materialized view"):
        cat.plan({"op": "append", "shard": "t", "upper": [1]})
    with pytest.raises(FieldError, match="non-empty compaction for a materialized view"):
        cat.plan({"op": "allow_compaction", "id": "m", "frontier": [1]})
    cat.plan({"op": "drop", "id": "m"})
    cat.plan({"op": "append", "shard": "t", "upper": [1]})  # no writer left


def test_reconnect_replays_the_reduced_history() -> None:
    cat = Catalog()
    plan_all(
        cat,
        [
            *BASE,
            {"op": "update_configuration", "max_result_size": 1},
            {"op": "update_configuration", "workload_class": "w"},
            {"op": "allow_writes"},
            {"op": "append", "shard": "src", "upper": [10]},
            {
                "op": "create_dataflow",
                "dataflow": "gone",
                "as_of": 0,
                "sources": ["src"],
                "objects": [{"name": "g", "plan": {"get": "src"}}],
                "indexes": [{"name": "gi", "on": "g"}],
            },
            {"op": "drop", "id": "gi"},
            {"op": "allow_compaction", "id": "idx", "frontier": [4]},
            {"op": "peek", "peek": "wanted", "target": "idx", "time": 6},
            {"op": "peek", "peek": "too_old", "target": "idx", "time": 5},
            {"op": "peek", "peek": "cancelled", "target": "idx", "time": 7},
            {"op": "cancel_peek", "peek": "cancelled"},
        ],
    )
    cat.plan({"op": "allow_compaction", "id": "idx", "frontier": [6]})
    planned = cat.plan({"op": "reconnect", "peeks": ["wanted", "too_old", "cancelled"]})
    (connect,) = planned.actions
    assert isinstance(connect, A.Connect)
    kinds = [c.WhichOneof("kind") for c in connect.replay]
    assert kinds == [
        "update_configuration",
        "create_dataflow",
        "schedule",
        "peek",
        "initialization_complete",
        "allow_writes",
    ]
    config = connect.replay[0].update_configuration
    assert config.max_result_size == 1 and config.workload_class.value == "w", "one merged configuration"
    desc = connect.replay[1].create_dataflow
    assert from_proto(desc.as_of) == 6, "as_of raised to the export's compaction"
    assert from_proto(desc.source_imports[0].upper) == 10
    assert planned.recorded == {"op": "reconnect", "peeks": ["wanted"]}, "only peeks at or above the new as_of"
    assert cat.peeks["wanted"].since == 6 and cat.peeks["wanted"].iteration == 2
    with pytest.raises(FieldError, match="earlier connection"):
        cat.plan({"op": "cancel_peek", "peek": "too_old"})
    with pytest.raises(FieldError, match="never peeks below as_of 6"):
        cat.plan({"op": "peek", "peek": "late", "target": "idx", "time": 5})
    again = cat.plan({"op": "reconnect"}).actions[0]
    assert isinstance(again, A.Connect)
    assert from_proto(again.replay[1].create_dataflow.as_of) == 6, "a second reconnect starts from the raised as_of"


def test_reconnect_leaves_out_what_cannot_be_recreated() -> None:
    cat = Catalog()
    plan_all(
        cat,
        [
            *BASE,
            {
                "op": "create_dataflow",
                "dataflow": "bounded",
                "as_of": 0,
                "until": [3],
                "sources": ["src"],
                "objects": [{"name": "b", "plan": {"get": "src"}}],
                "indexes": [{"name": "bi", "on": "b"}],
            },
            {"op": "allow_compaction", "id": "bi", "frontier": [5]},
            {
                "op": "create_dataflow",
                "dataflow": "dep",
                "as_of": 0,
                "imports": ["idx"],
                "objects": [{"name": "d", "plan": {"get": "idx"}}],
                "indexes": [{"name": "di", "on": "d"}],
            },
            {"op": "drop", "id": "idx"},
        ],
    )
    (connect,) = cat.plan({"op": "reconnect"}).actions
    assert isinstance(connect, A.Connect)
    descs = [c.create_dataflow for c in connect.replay if c.WhichOneof("kind") == "create_dataflow"]
    assert len(descs) == 1 and from_proto(descs[0].as_of) == 2, "as_of capped below until"
    assert not cat.collections["di"].live, "its imported index is gone: left out, dropped in silence"
    compactions = [c for c in connect.replay if c.WhichOneof("kind") == "allow_compaction"]
    assert [from_proto(c.allow_compaction.frontier) for c in compactions] == [5]


def test_nothing_is_owed_about_collections_of_an_earlier_connection() -> None:
    cat = Catalog()
    plan_all(
        cat,
        [
            *BASE,
            {
                "op": "create_dataflow",
                "dataflow": "c",
                "as_of": 0,
                "sources": ["src"],
                "objects": [{"name": "w", "plan": {"get": "src"}}],
                "sinks": [{"name": "cp", "kind": "copy_to", "from": "w"}],
            },
            {"op": "drop", "id": "cp"},
        ],
    )
    cat.plan({"op": "wait_copy_to", "id": "cp"})  # dropped on this connection: its answer is owed
    cat.plan({"op": "reconnect"})
    with pytest.raises(FieldError, match="earlier connection"):
        cat.plan({"op": "wait_copy_to", "id": "cp"})
    cat.plan({"op": "wait_frontier", "id": "idx", "at_least": [1]})  # replayed: of this connection


def test_connect_starts_from_nothing() -> None:
    cat = Catalog()
    plan_all(cat, [*BASE, {"op": "peek", "peek": "p", "target": "idx", "time": 0}])
    assert cat.plan({"op": "connect"}).actions == [A.Connect()]
    assert not cat.live() and cat.iteration == 2 and not cat.initialized
    with pytest.raises(FieldError, match="not sent on this connection"):
        cat.plan({"op": "wait_peek", "peek": "p"})


def test_persist_peeks_take_one_prefix_key_and_the_shard_since() -> None:
    cat = Catalog()
    plan_all(
        cat,
        [
            *BASE,
            {"op": "append", "shard": "src", "upper": [3]},
            {"op": "advance_since", "shard": "src", "since": 0},
        ],
    )
    p = cat.plan({"op": "peek", "peek": "p", "target": "src", "target_kind": "persist", "time": 1, "key": [[1]]})
    peek = p.actions[0].command.peek  # type: ignore[union-attr]
    assert peek.WhichOneof("target") == "persist" and len(peek.key) == 1
    assert peek.map_filter_project.mfp.input_arity == 2 and list(peek.finishing.project) == [0, 1]
    with pytest.raises(FieldError, match="at most one literal row"):
        cat.plan(
            {
                "op": "peek",
                "peek": "q",
                "target": "src",
                "target_kind": "persist",
                "time": 1,
                "key": [[1], [2]],
            }
        )
    assert cat.features >= {"peek:persist", "op:get"}
    cat.plan({"op": "drop", "id": "idx"})  # the dataflow no longer holds the since at its as_of
    with pytest.raises(FieldError, match="may still be pending"):
        cat.plan({"op": "advance_since", "shard": "src", "since": 2})
    cat.plan({"op": "wait_peek", "peek": "p"})
    cat.note_answered("p")
    cat.plan({"op": "advance_since", "shard": "src", "since": 2})


def test_input_upper_follows_index_imports_and_sealing() -> None:
    cat = Catalog()
    plan_all(
        cat,
        [
            *BASE,
            {"op": "create_shard", "shard": "other", "columns": ["int64"]},
            {"op": "append", "shard": "src", "upper": [4]},
            {
                "op": "create_dataflow",
                "dataflow": "dep",
                "as_of": 0,
                "sources": ["other"],
                "imports": ["idx"],
                "objects": [{"name": "d", "plan": {"get": "other"}}],
                "indexes": [{"name": "di", "on": "d"}],
            },
            {"op": "append", "shard": "other", "upper": [9]},
        ],
    )
    assert cat.input_upper("dep") == 4
    cat.plan({"op": "append", "shard": "src", "upper": []})
    assert cat.input_upper("dep") == 9 and cat.input_upper("df") == EMPTY
    assert cat.fully_scheduled("dep")
