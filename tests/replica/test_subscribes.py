"""Subscribes (spec section 9)."""

from __future__ import annotations

from tests.replica import plans as p
from tests.replica.checks import check_subscribe, subscribe_contents
from tests.replica.controller import EMPTY, Controller, frontier_value
from tests.replica.storage_server import StorageServer


def subscribe_source(
    storage: StorageServer,
    as_of: int,
    with_snapshot: bool = True,
    up_to: int | None = None,
    plan: object = None,
) -> p.Cmd:
    return p.create_dataflow(
        p.dataflow(
            as_of,
            sources=[p.source(1, storage.address, "s", 1)],
            objects=[(2, plan or p.get(1))],  # type: ignore[list-item]
            sinks=[p.subscribe(3, 2, with_snapshot, up_to)],
        )
    )


def test_snapshot_then_changes_in_a_contiguous_chain(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1), ((2,), 3, 1)], 4)
    ctl.start(subscribe_source(storage, as_of=3), p.schedule(3))
    ctl.wait_subscribe_upper(3, 4)
    assert subscribe_contents(ctl, 3, 3) == p.keyed([((1,), 1), ((2,), 1)])  # SUB-6 with snapshot
    storage.append("s", [((1,), 5, -1), ((3,), 6, 2)], 7)
    ctl.wait_subscribe_upper(3, 7)
    for t in (3, 4, 5, 6):
        expected = storage.contents_at("s", t)
        assert subscribe_contents(ctl, 3, t) == expected
    first = ctl.subscribe_responses(3)[0].batch
    assert frontier_value(first.lower) == 0 and frontier_value(first.upper) == 3  # covers [0, as_of) at once
    check_subscribe(ctl, 3, as_of=3)


def test_without_snapshot_only_later_changes(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1), ((2,), 2, 1)], 3)
    ctl.start(subscribe_source(storage, as_of=2, with_snapshot=False))
    storage.append("s", [((4,), 3, 1)], 5)
    ctl.wait_subscribe_upper(3, 5)
    assert subscribe_contents(ctl, 3, 10) == p.keyed([((4,), 1)])
    check_subscribe(ctl, 3, as_of=2)


def test_up_to_ends_the_subscribe_with_an_empty_upper(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s")
    ctl.start(subscribe_source(storage, as_of=0, up_to=4))
    storage.append("s", [((1,), 1, 1)], 3)
    storage.append("s", [((2,), 4, 1), ((3,), 5, 1)], 9)
    ctl.wait_subscribe_upper(3, EMPTY)
    assert subscribe_contents(ctl, 3, 100) == p.keyed([((1,), 1)])  # nothing at or after up_to
    ctl.send(p.allow_compaction(3, None))
    ctl.settle(0.2)
    assert ctl.subscribe_responses(3)[-1].WhichOneof("kind") == "batch"  # SUB-11: no DroppedAt
    check_subscribe(ctl, 3, as_of=0)


def test_drop_sends_dropped_at_the_last_upper_once(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s")
    ctl.start(subscribe_source(storage, as_of=0))
    storage.append("s", [((1,), 0, 1)], 2)
    ctl.wait_subscribe_upper(3, 2)
    ctl.send(p.allow_compaction(3, 5))  # no visible effect (COMPACT-2)
    ctl.send(p.allow_compaction(3, None))
    ctl.wait(lambda: ctl.subscribe_responses(3)[-1].WhichOneof("kind") == "dropped_at" or None, "DroppedAt")
    storage.append("s", [((2,), 2, 1)], 4)
    ctl.settle(0.2)
    dropped = [r for r in ctl.subscribe_responses(3) if r.WhichOneof("kind") == "dropped_at"]
    assert [frontier_value(r.dropped_at) for r in dropped] == [2]  # SUB-12, SUB-13
    check_subscribe(ctl, 3, as_of=0)


def test_drop_before_any_batch_says_dropped_at_zero(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s")
    ctl.start(subscribe_source(storage, as_of=0), p.allow_compaction(3, None))
    ctl.wait(lambda: ctl.subscribe_responses(3) or None, "DroppedAt")
    check_subscribe(ctl, 3, as_of=0)
    assert frontier_value(ctl.subscribe_responses(3)[0].dropped_at) == 0


def test_errors_and_oversized_batches_are_error_batches_and_stay_so(ctl: Controller) -> None:
    desc = p.dataflow(
        0,
        objects=[(1, p.constant(1, [((1,), 0, 1), ("boom", 2, 1), ("boom", 3, -1)]))],
        sinks=[p.subscribe(2, 1)],
    )
    ctl.start(p.create_dataflow(desc))
    ctl.wait_subscribe_upper(2, EMPTY)
    batches = [r.batch for r in ctl.subscribe_responses(2)]
    assert batches[-1].updates.WhichOneof("kind") == "error"  # SUB-7: the interval holds errors at 2
    check_subscribe(ctl, 2, as_of=0)

    sized = p.dataflow(0, sources=[], objects=[(3, p.constant(1, [((1,), 0, 1)]))], sinks=[p.subscribe(4, 3)])
    ctl.send(p.update_configuration(max_result_size=1), p.create_dataflow(sized))
    ctl.wait_subscribe_upper(4, EMPTY)
    assert [r.batch.updates.WhichOneof("kind") for r in ctl.subscribe_responses(4)] == ["error"]  # SUB-9


def test_error_batches_are_sticky(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("s")
    ctl.start(subscribe_source(storage, as_of=0), p.update_configuration(max_result_size=1))
    storage.append("s", [((1,), 0, 1)], 1)
    ctl.wait_subscribe_upper(3, 1)
    ctl.send(p.update_configuration(max_result_size=1 << 40))
    storage.append("s", [], 2)
    ctl.wait_subscribe_upper(3, 2)
    kinds = [r.batch.updates.WhichOneof("kind") for r in ctl.subscribe_responses(3)]
    assert kinds == ["error", "error"]  # SUB-8
