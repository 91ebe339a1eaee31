"""Index arrangements: contents at a time, compaction, literal keys, partitions, merging."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from reference_replica.arrangement import Arrangement
from reference_replica.dataflow.batch import Update
from reference_replica.rows import Row
from tests.replica.plans import row_key


def contents(arrangement: Arrangement, t: int, keys: list[Row] | None = None) -> Counter[object]:
    return Counter({row_key(r): c for r, c in arrangement.contents_at(t, keys)})


def expected(
    updates: list[Update], t: int, key_filter: Callable[[Row], bool] | None = None
) -> Counter[object]:
    out: Counter[object] = Counter()
    for r, time, diff in updates:
        if time <= t and (key_filter is None or key_filter(r)):
            out[row_key(r)] += diff
    return Counter({k: v for k, v in out.items() if v})


def test_contents_at_each_time() -> None:
    a = Arrangement([0], 2, workers=1, since=0)
    updates: list[Update] = [((1, "a"), 0, 1), ((2, "b"), 1, 2), ((1, "a"), 2, -1), ((3, "c"), 2, 1)]
    a.insert(updates[:2], [])
    a.insert(updates[2:], [])
    for t in range(4):
        assert contents(a, t) == expected(updates, t)


def test_compaction_keeps_contents_at_and_after_since() -> None:
    a = Arrangement([1], 2, workers=1, since=0)
    updates: list[Update] = [((i % 5, f"k{i % 3}"), i, 1 if i % 4 else -1) for i in range(40)]
    for start in range(0, 40, 4):
        a.insert(updates[start : start + 4], [])
        a.compact(start)
    a.compact_all()
    for t in range(36, 45):
        assert contents(a, t) == expected(updates, t)
    assert a.update_count() <= len({row_key(r) for r, _, _ in updates}) + 4  # history was consolidated


def test_literal_keys_match_key_columns_exactly_and_count_once() -> None:
    a = Arrangement([1, 0], 3, workers=1, since=0)  # keyed by (col1, col0): a non-prefix layout
    updates: list[Update] = [
        ((1, "x", 10), 0, 1),
        ((1, "y", 11), 0, 1),
        ((2, "x", 12), 0, 3),
        ((True, "x", 13), 0, 1),
    ]
    a.insert(updates, [])
    assert contents(a, 0, [("x", 1)]) == expected(
        updates, 0, lambda r: r[:2] == (1, "x") and type(r[0]) is int
    )
    assert contents(a, 0, [("x", 1), ("x", 1), ("x", 2)]) == expected(
        updates, 0, lambda r: r[1] == "x" and type(r[0]) is int
    )
    assert contents(a, 0, [("x", True)]) == expected(updates, 0, lambda r: r[0] is True)
    assert contents(a, 0, [("z", 1)]) == Counter()


@pytest.mark.parametrize("workers", [1, 3])
def test_random_history_against_a_plain_model(workers: int) -> None:
    rng = random.Random(workers)
    a = Arrangement([0], 2, workers=workers, since=0)
    updates: list[Update] = []
    since = 0
    for step in range(60):
        batch: list[Update] = [
            ((rng.randrange(6), rng.choice(["p", "q", None])), step, rng.choice([-1, 1, 2])) for _ in range(5)
        ]
        updates += batch
        a.insert(batch, [])
        if step % 7 == 6:
            since = step - 3
            a.compact(since)
        for t in (since, step):
            assert contents(a, t) == expected(updates, t)
        key = rng.randrange(6)
        assert contents(a, step, [(key,)]) == expected(updates, step, lambda r, k=key: r[0] == k)  # type: ignore[misc]


def test_errors_are_tracked_per_time() -> None:
    a = Arrangement([0], 1, workers=1, since=0)
    a.insert([], [("boom", 3, 1), ("boom", 5, -1)])
    assert not a.has_errors_at(2)
    assert a.has_errors_at(3)
    assert a.has_errors_at(4)
    assert not a.has_errors_at(5)


def test_updates_returns_every_stored_update_decoded() -> None:
    a = Arrangement([1], 2, workers=2, since=0)
    a.insert([((1, "a"), 0, 1), ((2, "b"), 3, 2)], [("e", 1, 1)])
    oks, errs = a.updates()
    assert sorted(oks, key=lambda u: u[1]) == [((1, "a"), 0, 1), ((2, "b"), 3, 2)]
    assert errs == [("e", 1, 1)]


def test_arity_is_learned_when_not_given() -> None:
    a = Arrangement([2], None, workers=1, since=0)
    assert a.contents_at(0) == []
    a.insert([((1, 2, 3), 0, 1)], [])
    assert contents(a, 0, [(3,)]) == Counter({row_key((1, 2, 3)): 1})
