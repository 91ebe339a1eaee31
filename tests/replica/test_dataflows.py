"""Whole plans over changing sources, peeked at many times and compared with a direct model.

The model recomputes each plan from the sources' contents at the peek time (spec 5.3:
plans apply time by time), so it shares nothing with the replica's incremental operators.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from compute_protocol.v1 import plan_pb2 as pb

from reference_replica.server import serve
from tests.replica import plans as p
from tests.replica.controller import Controller
from tests.replica.storage_server import StorageServer

Key = tuple[tuple[str, object], ...]
Update = tuple[tuple[object, ...], int, int]
Multiset = Counter[Key]

LEFT: list[Update] = [
    ((1, "a"), 0, 1),
    ((2, "b"), 0, 1),
    ((2, "b"), 2, 1),
    ((3, "c"), 3, 1),
    ((1, "a"), 4, -1),
]
RIGHT: list[Update] = [((1, 10), 0, 1), ((2, 20), 1, 1), ((2, 21), 1, 1), ((4, 40), 2, 1), ((2, 20), 4, -1)]


def contents(updates: list[Update], t: int) -> Counter[tuple[object, ...]]:
    out: Counter[tuple[object, ...]] = Counter()
    for r, time, diff in updates:
        if time <= t:
            out[r] += diff
    return Counter({k: v for k, v in out.items() if v})


def keyed(rows: Counter[tuple[object, ...]]) -> Multiset:
    return p.keyed(rows.items())


def join_model(t: int) -> Multiset:
    out: Counter[tuple[object, ...]] = Counter()
    for left, a in contents(LEFT, t).items():
        for right, b in contents(RIGHT, t).items():
            if left[0] == right[0]:
                out[left + right] += a * b
    return keyed(out)


def reduce_model(t: int) -> Multiset:
    groups: dict[object, list[tuple[int, int]]] = {}  # key -> [(value, count)]
    for r, c in contents(RIGHT, t).items():
        value = r[1]
        assert isinstance(value, int)
        groups.setdefault(r[0], []).append((value, c))
    out: Counter[tuple[object, ...]] = Counter()
    for key, members in groups.items():
        count = sum(c for _, c in members)
        total = sum(v * c for v, c in members)
        out[(key, count, total, max(v for v, _ in members))] += 1
    return keyed(out)


def threshold_model(t: int) -> Multiset:
    diff = contents(LEFT, t)
    for r, c in contents(LEFT, 1).items():
        diff[r] -= c
    return keyed(Counter({r: c for r, c in diff.items() if c > 0}))


PLANS: dict[str, tuple[pb.ProtoPlan, int, Callable[[int], Multiset]]] = {
    "join": (p.join(p.get(1), p.get(2), [(0, 0)]), 4, join_model),
    "reduce": (
        p.reduce(
            p.get(2),
            [0],
            [
                (pb.PROTO_AGGREGATE_FUNC_COUNT, 0),
                (pb.PROTO_AGGREGATE_FUNC_SUM, 1),
                (pb.PROTO_AGGREGATE_FUNC_MAX, 1),
            ],
        ),
        4,
        reduce_model,
    ),
    # left(t) minus left(1), thresholded: what was added since time 1
    "threshold": (
        p.threshold(
            p.union(
                p.get(1),
                p.negate(
                    p.mfp_plan(
                        p.get(1),
                        p.mfp(2, predicates=[p.binary(pb.PROTO_BINARY_FUNC_LT, p.col(0), p.lit(0))]),
                    )
                ),
                p.negate(p.constant(2, [((1, "a"), 0, 1), ((2, "b"), 0, 1)])),
            )
        ),
        2,
        threshold_model,
    ),
}


@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("name", sorted(PLANS))
def test_plan_matches_the_model_at_every_time(storage: StorageServer, name: str, workers: int) -> None:
    plan, arity, model = PLANS[name]
    storage.create_shard("left")
    storage.create_shard("right")
    replica = serve("127.0.0.1:0", workers=workers)
    ctl = Controller(replica.address)
    try:
        desc = p.dataflow(
            1,
            sources=[p.source(1, storage.address, "left", 2), p.source(2, storage.address, "right", 2)],
            objects=[(3, plan)],
            indexes=[p.index_export(4, 3, [0])],
        )
        ctl.start(p.create_dataflow(desc))
        for t in range(5):
            storage.append("left", [(r, time, d) for r, time, d in LEFT if time == t], t + 1)
            storage.append("right", [(r, time, d) for r, time, d in RIGHT if time == t], t + 1)
        ctl.wait_frontier(4, 5)
        ctl.send(*(p.peek(t, 4, t, arity) for t in range(1, 5)))
        for t in range(1, 5):
            assert p.peek_rows(ctl.peek(t)) == model(t), f"{name} at t={t}"
        key = next(iter(model(4)))[0][1]
        ctl.send(p.peek(9, 4, 4, arity, keys=[(key,)]))
        assert p.peek_rows(ctl.peek(9)) == Counter({k: c for k, c in model(4).items() if k[0][1] == key})
    finally:
        ctl.close()
        replica.stop(0.2)
