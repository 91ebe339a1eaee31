"""Frontiers (spec section 6) and compaction/drops (section 7), over a real storage source."""

from __future__ import annotations

from collections.abc import Callable

from tests.replica import plans as p
from tests.replica.checks import check_frontiers
from tests.replica.controller import Controller
from tests.replica.storage_server import StorageServer

KINDS = ("write_frontier", "input_frontier", "output_frontier")


def source_index(storage: StorageServer, as_of: int, until: int | None = None) -> p.Cmd:
    return p.create_dataflow(
        p.dataflow(
            as_of,
            sources=[p.source(1, storage.address, "s1", 2)],
            objects=[(2, p.mfp_plan(p.get(1), p.mfp(2)))],
            indexes=[p.index_export(3, 2, [0])],
            until=until,
        )
    )


def test_frontiers_start_at_as_of_and_follow_the_input(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s1")
    ctl.start(source_index(storage, as_of=5), p.schedule(3))
    for kind in KINDS:
        assert ctl.wait_frontier(3, 5, kind) == 5  # FRONT-9 with input upper [0]: reaches as_of
    storage.append("s1", [((1, "a"), 2, 1)], 8)
    for kind in KINDS:
        ctl.wait_frontier(3, 8, kind)
    storage.append("s1", [((2, "b"), 8, 1)], 12)
    for kind in KINDS:
        ctl.wait_frontier(3, 12, kind)
    check_frontiers(ctl, 3, as_of=5)
    assert max(ctl.frontier(3, k) or 0 for k in KINDS) <= 12  # FRONT-10


def test_drop_reports_empty_for_every_kind_then_silence(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s1")
    ctl.start(source_index(storage, as_of=0), p.schedule(3))
    storage.append("s1", [((1, "a"), 0, 1)], 3)
    ctl.wait_frontier(3, 3)
    ctl.send(p.allow_compaction(3, None))
    for kind in KINDS:
        assert ctl.wait_frontier(3, 1 << 64, kind) == 1 << 64  # FRONT-6
    count = len(ctl.frontier_reports(3))
    storage.append("s1", [((2, "b"), 3, 1)], 6)
    ctl.settle(0.2)
    assert len(ctl.frontier_reports(3)) == count  # FRONT-7
    check_frontiers(ctl, 3, as_of=0)


def test_compaction_beyond_the_upper_is_accepted(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s1")
    ctl.start(source_index(storage, as_of=0), p.schedule(3))
    ctl.send(p.allow_compaction(3, 100))  # COMPACT-2
    storage.append("s1", [((1, "a"), 0, 1)], 3)
    ctl.wait_frontier(3, 3)
    storage.append("s1", [], 150)
    ctl.wait_frontier(3, 150)
    ctl.send(p.peek(1, 3, 120, 2))
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((1, "a"), 1)])
    assert not ctl.ended


def test_until_bounds_contents_but_not_frontiers(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s1")
    ctl.start(source_index(storage, as_of=0, until=5), p.schedule(3))
    storage.append("s1", [((1, "a"), 1, 1), ((2, "b"), 5, 1)], 9)
    assert ctl.wait_frontier(3, 9) == 9
    ctl.send(p.peek(1, 3, 8, 2), p.peek(2, 3, 4, 2))
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((1, "a"), 1)])
    assert p.peek_rows(ctl.peek(2)) == p.keyed([((1, "a"), 1)])


def test_no_frontiers_for_subscribes_and_copy_tos(ctl: Controller, storage: StorageServer) -> None:
    desc = p.dataflow(
        0,
        objects=[(1, p.constant(1, [((1,), 0, 1)]))],
        sinks=[p.subscribe(2, 1), p.copy_to(3, 1, storage.address, "blob")],
    )
    ctl.start(p.create_dataflow(desc), p.allow_writes())
    ctl.copy_to(3)
    ctl.wait_subscribe_upper(2, 1 << 64)
    assert ctl.frontier_reports(2) == [] and ctl.frontier_reports(3) == []  # FRONT-1


def test_an_index_importing_another_index(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s1")
    ctl = connect()
    storage.append("s1", [((1, "a"), 0, 1), ((2, "b"), 0, 1)], 2)
    ctl.start(source_index(storage, as_of=0), p.schedule(3))
    ctl.wait_frontier(3, 2)
    importer = p.dataflow(
        2,
        index_imports=[p.index_import(3, 2, [0])],
        objects=[(4, p.mfp_plan(p.get(3), p.mfp(2, projection=[1])))],
        indexes=[p.index_export(5, 4, [0])],
    )
    ctl.send(p.create_dataflow(importer), p.schedule(5))
    storage.append("s1", [((3, "c"), 2, 1)], 4)
    ctl.wait_frontier(5, 4)
    ctl.send(p.peek(1, 5, 3, 1))
    assert p.peek_rows(ctl.peek(1)) == p.keyed([(("a",), 1), (("b",), 1), (("c",), 1)])
    check_frontiers(ctl, 5, as_of=2)
