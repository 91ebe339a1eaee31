"""ShardLog as pure data: applying events, reading contents, rebuilding from a history."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.storage import ShardLog, StorageEvent
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import Row, row


def ev(seq: int, kind: Any, **fields: Any) -> StorageEvent:
    return StorageEvent(kind, seq, 0.0, **fields)


def r(*values: Any) -> Row:
    return row(*values)


def sample_events() -> list[StorageEvent]:
    return [
        ev(1, "create_shard", shard_id="a", arity=1),
        ev(2, "create_shard", shard_id="b", arity=2, upper=4, since=1),
        ev(3, "append", shard_id="a", writer_id="suite", lower=0, upper=3,
           updates=((r(1), 0, 1), (r(2), 2, 2), (r(1), 2, -1))),
        ev(4, "append_rejected", shard_id="a", writer_id="replica", lower=0, upper=9, detail="mismatch"),
        ev(5, "listen", shard_id="a", as_of=0, reader_id="x", detail="opened"),
        ev(6, "since", shard_id="a", since=2),
        ev(7, "append", shard_id="b", writer_id="replica", lower=4, upper=EMPTY,
           updates=((r(1, "x"), 5, 1),)),
        ev(8, "blob_put", key="k", writer_id="replica", rows=(r(1), r(1))),
        ev(9, "blob_rejected", key="k", writer_id="replica", detail="key already exists"),
        ev(10, "append", shard_id="a", writer_id="suite", lower=3, upper=6, updates=((r(3), 4, 1),)),
    ]


def test_state_after_events() -> None:
    log = ShardLog.from_events(sample_events())
    assert log.shard_ids() == ["a", "b"]
    assert (log.upper("a"), log.since("a"), log.arity("a")) == (6, 2, 1)
    assert (log.upper("b"), log.since("b"), log.arity("b")) == (EMPTY, 1, 2)
    assert log.contents_at("a", 1) == {r(1): 1}
    assert log.contents_at("a", 2) == {r(2): 2}                 # r(1) cancelled to zero: absent
    assert log.contents_at("a", 5) == {r(2): 2, r(3): 1}
    assert log.updates("a") == [(r(1), 0, 1), (r(2), 2, 2), (r(1), 2, -1), (r(3), 4, 1)]
    assert log.version("a") == 4
    assert list(log.upper_history("a")) == [0, 3, 6]
    assert log.updates_between("a", 2, 4) == [(r(2), 2, 2), (r(1), 2, -1)]
    blob = log.blob("k")
    assert blob is not None and blob.rows == (r(1), r(1)) and blob.writer_id == "replica"
    assert log.blob("missing") is None and log.blob_keys() == ["k"]


def test_from_events_orders_by_seq() -> None:
    events = sample_events()
    shuffled = events[::-1]
    a, b = ShardLog.from_events(events), ShardLog.from_events(shuffled)
    for shard in ("a", "b"):
        assert a.updates(shard) == b.updates(shard) and a.upper(shard) == b.upper(shard)


def test_contents_at_follows_later_appends_for_a_cached_time() -> None:
    log = ShardLog.from_events(sample_events()[:3])
    assert log.contents_at("a", 10) == {r(2): 2}
    log.apply(ev(11, "append", shard_id="a", lower=3, upper=20, updates=((r(5), 10, 1), (r(6), 11, 1))))
    assert log.contents_at("a", 10) == {r(2): 2, r(5): 1}
    log.contents_at("a", 10).clear()                            # callers get their own dict
    assert log.contents_at("a", 10) == {r(2): 2, r(5): 1}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (ev(20, "create_shard", shard_id="a", arity=1), "created twice"),
        (ev(20, "append", shard_id="a", lower=5, upper=9), "expects upper"),
        (ev(20, "blob_put", key="k"), "put twice"),
        (ev(20, "since", shard_id="nope", since=1), "unknown shard"),
    ],
)
def test_inconsistent_events_are_refused(event: StorageEvent, message: str) -> None:
    log = ShardLog.from_events(sample_events())
    with pytest.raises((ValueError, KeyError), match=message):
        log.apply(event)


def test_unknown_shard_reads_raise_key_error() -> None:
    with pytest.raises(KeyError, match="unknown shard 'zz'"):
        ShardLog().upper("zz")


appends = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(-2, 2)), max_size=4),
        st.integers(1, 3),
    ),
    max_size=6,
)


@settings(max_examples=50, deadline=None)
@given(appends)
def test_contents_equal_a_fresh_sum_whatever_the_order_of_reads(batches: list[Any]) -> None:
    """The incremental contents cache must agree with summing the updates from scratch."""
    log = ShardLog()
    log.apply(ev(1, "create_shard", shard_id="s", arity=1))
    seq, upper = 1, 0
    for ups, width in batches:
        seq += 1
        updates = tuple((r(v), upper + dt % width, d) for v, dt, d in ups)
        log.apply(ev(seq, "append", shard_id="s", lower=upper, upper=upper + width, updates=updates))
        upper += width
        for t in range(upper + 1):
            fresh: dict[Row, int] = {}
            for rw, time, diff in log.updates("s"):
                if time <= t:
                    fresh[rw] = fresh.get(rw, 0) + diff
            assert log.contents_at("s", t) == {k: m for k, m in fresh.items() if m}
