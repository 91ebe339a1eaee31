"""Operator hydration status (spec section 11)."""

from __future__ import annotations

from reference_replica.server import serve
from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller
from tests.replica.storage_server import StorageServer


def statuses(ctl: Controller, collection: int) -> list[tuple[int, int, bool]]:
    g = p.gid(collection)
    return [
        (s.lir_id, s.worker_id, s.hydrated)
        for s in (r.status.operator_hydration for r in ctl.of_kind("status"))
        if s.collection_id == g
    ]


def test_hydration_goes_false_then_true_per_worker(storage: StorageServer) -> None:
    replica = serve("127.0.0.1:0", workers=2)
    ctl = Controller(replica.address)
    try:
        storage.create_shard("s")
        desc = p.dataflow(
            3,
            sources=[p.source(1, storage.address, "s", 1)],
            objects=[(2, p.mfp_plan(p.get(1), p.mfp(1)))],
            indexes=[p.index_export(4, 2, [0])],
        )
        ctl.start(p.create_dataflow(desc))
        ctl.wait(lambda: len(statuses(ctl, 4)) >= 2 or None, "a status for u4 from each worker")
        assert statuses(ctl, 4) == [(0, 0, False), (0, 1, False)]
        storage.append("s", [((1,), 0, 1)], 4)
        ctl.wait(lambda: len(statuses(ctl, 4)) >= 4 or None, "hydrated status for u4 from each worker")
        assert statuses(ctl, 4)[2:] == [(0, 0, True), (0, 1, True)]  # STATUS-3: never back
        ctl.send(p.allow_compaction(4, None))
        ctl.wait_frontier(4, EMPTY)
        storage.append("s", [((2,), 4, 1)], 6)
        ctl.settle(0.2)
        assert len(statuses(ctl, 4)) == 4  # STATUS-1: nothing after the collection finished
    finally:
        ctl.close()
        replica.stop(0.2)


def test_no_status_for_finished_collections(ctl: Controller) -> None:
    desc = p.dataflow(0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], sinks=[p.subscribe(2, 1)])
    ctl.start(p.create_dataflow(desc))
    ctl.wait_subscribe_upper(2, EMPTY)
    ctl.settle(0.2)
    assert statuses(ctl, 2) == []  # the subscribe finished before the first maintenance step
