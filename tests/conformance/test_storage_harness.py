"""The storage harness over real gRPC on loopback (spec 5.4)."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from compute_protocol.v1 import common_pb2, storage_pb2, storage_pb2_grpc

from conformance.storage import SUITE_WRITER, ShardLog, StorageEvent, StorageHarness
from conformance.storage.service import update_from_proto, update_to_proto
from conformance.wire import frontiers
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import Row, row, row_to_proto

WAIT = 10.0   # generous bound on every wait; nothing here should take more than milliseconds
END = "end of stream"


def r(*values: Any) -> Row:
    return row(*values)


class ListenReader:
    """Reads one Listen stream on a background thread, so that every wait is bounded."""

    def __init__(self, stub: storage_pb2_grpc.ProtoStorageStub, shard_id: str, as_of: int,
                 reader_id: str = "test") -> None:
        self.label = f"Listen({shard_id}, as_of={as_of})"
        self.call = stub.Listen(storage_pb2.ProtoListenRequest(shard_id=shard_id, as_of=as_of,
                                                               reader_id=reader_id))
        self.items: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            for batch in self.call:
                self.items.put(batch)
            self.items.put(END)
        except grpc.RpcError as error:
            self.items.put(error)

    def next(self) -> Any:
        try:
            return self.items.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"{self.label}: nothing within {WAIT}s") from None

    def batch(self) -> tuple[int, int, list[tuple[Row, int, int]]]:
        item = self.next()
        assert isinstance(item, storage_pb2.ProtoListenBatch), f"{self.label}: expected a batch, got {item!r}"
        return (frontiers.from_proto(item.lower), frontiers.from_proto(item.upper),
                [update_from_proto(u) for u in item.updates])

    def error(self) -> grpc.StatusCode:
        item = self.next()
        assert isinstance(item, grpc.RpcError), f"{self.label}: expected an error, got {item!r}"
        code: grpc.StatusCode = item.code()
        return code


@pytest.fixture
def harness() -> Iterator[StorageHarness]:
    # Polling slower than every wait here: Listens must be woken by notifications alone.
    h = StorageHarness(poll_seconds=2 * WAIT)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def stub(harness: StorageHarness) -> Iterator[storage_pb2_grpc.ProtoStorageStub]:
    # No channel_ready_future: its connectivity poller makes channel.close() take 0.2 s.
    channel = grpc.insecure_channel(harness.address)
    yield storage_pb2_grpc.ProtoStorageStub(channel)
    channel.close()


def caa(stub: storage_pb2_grpc.ProtoStorageStub, shard: str, expected: int, new: int,
        updates: list[tuple[Row, int, int]], writer: str = "replica-1",
        ) -> storage_pb2.ProtoCompareAndAppendResponse:
    request = storage_pb2.ProtoCompareAndAppendRequest(
        shard_id=shard, expected_upper=frontiers.to_proto(expected), new_upper=frontiers.to_proto(new),
        updates=[update_to_proto(u) for u in updates], writer_id=writer)
    response: storage_pb2.ProtoCompareAndAppendResponse = stub.CompareAndAppend(request, timeout=WAIT)
    return response


def opened(harness: StorageHarness, n: int = 1) -> None:
    """Wait until n Listens have been admitted (their `listen` events are logged)."""
    done = threading.Event()

    def count(_: StorageEvent) -> None:
        if sum(e.kind == "listen" and e.detail == "opened" for e in harness.events()) >= n:
            done.set()

    harness.add_listener(count)
    count(StorageEvent("listen", 0, 0.0))
    assert done.wait(WAIT), f"only {sum(e.kind == 'listen' for e in harness.events())} of {n} Listens opened"
    harness.remove_listener(count)


# -- Listen ------------------------------------------------------------------------------------

def test_listen_snapshot_then_batches_then_end(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    harness.append("s", [(r(1), 0, 1), (r(2), 1, 1), (r(1), 1, 1), (r(3), 2, 1)], 3)
    reader = ListenReader(stub, "s", as_of=1)
    lower, upper, updates = reader.batch()
    assert (lower, upper) == (0, 3)
    # The contents at as_of advanced to as_of (consolidated), then the updates in (as_of, upper).
    assert sorted(updates) == sorted([(r(1), 1, 2), (r(2), 1, 1), (r(3), 2, 1)])
    harness.append("s", [(r(4), 3, 1), (r(4), 4, -1)], 5)
    harness.append("s", [(r(5), 6, 1)], 7)
    assert reader.batch() == (3, 5, [(r(4), 3, 1), (r(4), 4, -1)])
    assert reader.batch() == (5, 7, [(r(5), 6, 1)])
    harness.seal("s")
    assert reader.batch() == (7, EMPTY, [])
    assert reader.next() == END


def test_listen_waits_until_upper_passes_as_of(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    harness.append("s", [(r(1), 0, 1)], 3)
    reader = ListenReader(stub, "s", as_of=5)
    opened(harness)
    harness.append("s", [(r(2), 4, 1)], 5)          # upper [5] is not beyond as_of 5
    harness.append("s", [(r(3), 5, 1)], 6)
    lower, upper, updates = reader.batch()
    assert (lower, upper) == (0, 6)                 # a premature first batch would end at 3 or 5
    assert sorted(updates) == sorted([(r(1), 5, 1), (r(2), 5, 1), (r(3), 5, 1)])


def test_listen_one_batch_per_upper_advance(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    harness.append("s", [], 1)
    reader = ListenReader(stub, "s", as_of=0)
    assert reader.batch() == (0, 1, [])
    for upper in (2, 3, 4):
        harness.append("s", [(r(upper), upper - 1, 1)], upper)
    assert [reader.batch()[:2] for _ in range(3)] == [(1, 2), (2, 3), (3, 4)]


def test_listen_on_a_sealed_shard_ends_after_one_batch(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    harness.append("s", [(r(1), 0, 1), (r(2), 7, 1)], EMPTY)
    reader = ListenReader(stub, "s", as_of=3)
    assert reader.batch() == (0, EMPTY, [(r(1), 3, 1), (r(2), 7, 1)])
    assert reader.next() == END


def test_listen_below_since_is_refused(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    harness.append("s", [], 5)
    harness.advance_since("s", 3)
    assert ListenReader(stub, "s", as_of=2).error() == grpc.StatusCode.FAILED_PRECONDITION
    events = [e for e in harness.events() if e.kind == "listen"]
    assert events[-1].detail.startswith("refused: as_of 2 is below the since 3")
    assert events[-1].reader_id == "test" and events[-1].peer
    assert ListenReader(stub, "s", as_of=3).batch()[:2] == (0, 5)


def test_listen_on_unknown_shard_is_not_found(harness: StorageHarness, stub: Any) -> None:
    assert ListenReader(stub, "nope", as_of=0).error() == grpc.StatusCode.NOT_FOUND


def test_listen_sees_replica_writes(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1, upper=2)
    reader = ListenReader(stub, "s", as_of=2)
    opened(harness)
    assert caa(stub, "s", 2, 4, [(r(9), 3, 1)]).applied
    assert reader.batch() == (0, 4, [(r(9), 3, 1)])


def test_many_concurrent_listens(harness: StorageHarness, stub: Any) -> None:
    n = 300
    harness.create_shard("s", 1)
    readers = [ListenReader(stub, "s", as_of=0, reader_id=f"r{i}") for i in range(n)]
    opened(harness, n)
    # Unary calls are still served while every Listen holds a thread.
    state = stub.GetShard(storage_pb2.ProtoGetShardRequest(shard_id="s"), timeout=WAIT)
    assert frontiers.from_proto(state.upper) == 0
    harness.append("s", [(r(1), 0, 1)], 1)
    for reader in readers:
        assert reader.batch() == (0, 1, [(r(1), 0, 1)])
    harness.seal("s")
    for reader in readers:
        assert reader.batch() == (1, EMPTY, [])
        assert reader.next() == END


def test_stop_ends_open_listens() -> None:
    h = StorageHarness(poll_seconds=2 * WAIT)
    h.start()
    channel = grpc.insecure_channel(h.address)
    try:
        s = storage_pb2_grpc.ProtoStorageStub(channel)
        h.create_shard("s", 1)
        readers = [ListenReader(s, "s", as_of=5) for _ in range(5)]   # all still waiting
        opened(h, 5)
        stopper = threading.Thread(target=h.stop)
        stopper.start()
        stopper.join(WAIT)
        assert not stopper.is_alive(), "stop() did not return"
        for reader in readers:
            assert reader.error() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    finally:
        channel.close()


def test_a_cancelled_listen_frees_its_thread(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    reader = ListenReader(stub, "s", as_of=3)
    opened(harness)
    assert harness.open_listens == 1
    reader.call.cancel()
    assert reader.error() == grpc.StatusCode.CANCELLED
    deadline = time.monotonic() + WAIT
    while harness.open_listens and time.monotonic() < deadline:
        time.sleep(0.01)
    assert harness.open_listens == 0, "the cancelled Listen still holds its server thread"


def test_listens_beyond_the_thread_budget_are_refused() -> None:
    h = StorageHarness(max_threads=34, poll_seconds=2 * WAIT)   # 32 threads stay reserved for unary calls
    h.start()
    channel = grpc.insecure_channel(h.address)
    try:
        s = storage_pb2_grpc.ProtoStorageStub(channel)
        h.create_shard("s", 1)
        readers = [ListenReader(s, "s", as_of=0) for _ in range(2)]
        opened(h, 2)
        assert ListenReader(s, "s", as_of=0).error() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert h.events()[-1].detail == "refused: more than 2 concurrent Listens"
        h.seal("s")
        for reader in readers:
            assert reader.batch() == (0, EMPTY, [])
    finally:
        channel.close()
        h.stop()


# -- CompareAndAppend --------------------------------------------------------------------------

def test_compare_and_append_applies_on_matching_upper(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 2, upper=3)
    response = caa(stub, "s", 3, 5, [(r(1, "a"), 3, 1), (r(2, "b"), 4, -1)], writer="mv-7")
    assert response.applied and frontiers.from_proto(response.current_upper) == 5
    assert harness.upper("s") == 5
    assert harness.contents_at("s", 4) == {r(1, "a"): 1, r(2, "b"): -1}
    event = harness.events()[-1]
    assert (event.kind, event.writer_id, event.lower, event.upper) == ("append", "mv-7", 3, 5)
    assert event.peer.startswith("ipv4:127.0.0.1:") and event.is_replica_write()


def test_compare_and_append_mismatch_answers_the_current_upper(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1, upper=3)
    response = caa(stub, "s", 2, 5, [(r(1), 3, 1)])
    assert not response.applied and frontiers.from_proto(response.current_upper) == 3
    assert harness.updates("s") == [] and harness.upper("s") == 3
    event = harness.events()[-1]
    assert event.kind == "append_rejected" and "upper mismatch" in event.detail
    assert not event.is_replica_write()


@pytest.mark.parametrize(
    ("expected", "new", "updates", "message"),
    [
        (3, 5, [(r(1), 2, 1)], "outside [3, [5])"),
        (3, 5, [(r(1), 5, 1)], "outside [3, [5])"),
        (3, 3, [], "not beyond"),
        (3, 2, [], "not beyond"),
        (3, 5, [(r(1, 2), 3, 1)], "has 2 columns, the shard 1"),
        (EMPTY, EMPTY, [], "not beyond"),
    ],
)
def test_compare_and_append_validation(harness: StorageHarness, stub: Any, expected: int, new: int,
                                       updates: list[tuple[Row, int, int]], message: str) -> None:
    harness.create_shard("s", 1, upper=3)
    with pytest.raises(grpc.RpcError) as info:
        caa(stub, "s", expected, new, updates)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in info.value.details()
    assert harness.events()[-1].kind == "append_rejected" and harness.upper("s") == 3


def test_compare_and_append_validation_wins_over_mismatch(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1, upper=3)
    with pytest.raises(grpc.RpcError) as info:
        caa(stub, "s", 7, 9, [(r(1), 2, 1)])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_compare_and_append_undecodable_requests(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    two = common_pb2.ProtoU64Antichain(elements=[1, 2])
    bad_frontier = storage_pb2.ProtoCompareAndAppendRequest(
        shard_id="s", expected_upper=frontiers.to_proto(0), new_upper=two, writer_id="w")
    no_kind = storage_pb2.ProtoCompareAndAppendRequest(
        shard_id="s", expected_upper=frontiers.to_proto(0), new_upper=frontiers.to_proto(1), writer_id="w",
        updates=[storage_pb2.ProtoStorageUpdate(row=common_pb2.ProtoRow(datums=[common_pb2.ProtoDatum()]))])
    for request, message in ((bad_frontier, "2 elements"), (no_kind, "no kind")):
        with pytest.raises(grpc.RpcError) as info:
            stub.CompareAndAppend(request, timeout=WAIT)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and message in info.value.details()
        event = harness.events()[-1]
        assert event.kind == "append_rejected" and message in event.detail and event.writer_id == "w"


def test_compare_and_append_may_not_pose_as_the_suite(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    with pytest.raises(grpc.RpcError) as info:
        caa(stub, "s", 0, 1, [], writer=SUITE_WRITER)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reserved" in info.value.details()


def test_compare_and_append_to_unknown_shard(stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as info:
        caa(stub, "nope", 0, 1, [])
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_get_shard(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)
    harness.append("s", [], 4)
    harness.advance_since("s", 2)
    state = stub.GetShard(storage_pb2.ProtoGetShardRequest(shard_id="s"), timeout=WAIT)
    assert (frontiers.from_proto(state.upper), frontiers.from_proto(state.since)) == (4, 2)
    with pytest.raises(grpc.RpcError) as info:
        stub.GetShard(storage_pb2.ProtoGetShardRequest(shard_id="nope"), timeout=WAIT)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


# -- blobs -------------------------------------------------------------------------------------

def put(stub: Any, key: str, rows: list[Row], writer: str = "copy-1") -> None:
    stub.PutBlob(storage_pb2.ProtoPutBlobRequest(key=key, rows=[row_to_proto(x) for x in rows],
                                                 writer_id=writer), timeout=WAIT)


def test_blobs_are_stored_once(harness: StorageHarness, stub: Any) -> None:
    put(stub, "out/1", [r(1, "a"), r(1, "a"), r(2, None)])
    blob = harness.blob("out/1")
    assert blob is not None and blob.rows == (r(1, "a"), r(1, "a"), r(2, None)) and blob.writer_id == "copy-1"
    assert harness.events()[-1].kind == "blob_put" and harness.events()[-1].is_replica_write()
    with pytest.raises(grpc.RpcError) as info:
        put(stub, "out/1", [r(3)])
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert harness.events()[-1].kind == "blob_rejected"
    assert harness.blob("out/1") == blob
    with pytest.raises(grpc.RpcError) as info:
        put(stub, "", [r(3)])
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- the suite's side --------------------------------------------------------------------------

def test_suite_appends_are_validated(harness: StorageHarness) -> None:
    harness.create_shard("s", 1)
    harness.append("s", [(r(1), 0, 1)], 2)
    for updates, upper, message in (
        ([(r(1), 1, 1)], 3, "outside"),        # below the current upper
        ([], 2, "not beyond"),
        ([(r(1), 2, 0)], 3, "diff 0"),
        ([(r(1, 1), 2, 1)], 3, "columns"),
    ):
        with pytest.raises(ValueError, match=message):
            harness.append("s", updates, upper)
    harness.advance_since("s", 1)
    with pytest.raises(ValueError, match="regress"):
        harness.advance_since("s", 0)
    with pytest.raises(ValueError, match="already exists"):
        harness.create_shard("s", 1)
    assert harness.seal("s") is not None and harness.seal("s") is None
    assert harness.upper("s") == EMPTY


def test_new_shard_ids_are_fresh(harness: StorageHarness) -> None:
    harness.create_shard("shard-1", 1)
    assert harness.new_shard_id() == "shard-2"
    assert harness.new_shard_id("mv") == "mv-3"


def test_advertised_address_is_what_metadata_carries() -> None:
    h = StorageHarness(advertise="storage.example:7000")
    h.start()
    try:
        assert h.address == "storage.example:7000"
        assert h.bound_address.startswith("127.0.0.1:") and h.bound_address != "127.0.0.1:0"
        h.create_shard("s", 2)
        meta = h.metadata("s")
        assert (meta.storage_address, meta.shard_id, len(meta.relation_desc.columns)) == (
            "storage.example:7000", "s", 2)
    finally:
        h.stop()


# -- events ------------------------------------------------------------------------------------

def test_listeners_see_each_write_before_the_writer_gets_its_reply(harness: StorageHarness,
                                                                   stub: Any) -> None:
    harness.create_shard("s", 1)
    replied = threading.Event()
    seen: list[tuple[str, bool]] = []
    harness.add_listener(lambda e: seen.append((e.kind, replied.is_set())))
    caa(stub, "s", 0, 1, [(r(1), 0, 1)])
    replied.set()
    caa(stub, "s", 0, 2, [])
    assert seen == [("append", False), ("append_rejected", True)]


def test_events_are_ordered_across_concurrent_writers(harness: StorageHarness, stub: Any) -> None:
    shards = [f"s{i}" for i in range(4)]
    for shard in shards:
        harness.create_shard(shard, 1)
    seqs: list[int] = []
    harness.add_listener(lambda e: seqs.append(e.seq))

    def writer(shard: str) -> None:
        for upper in range(1, 21):
            caa(stub, shard, upper - 1, upper, [(r(upper), upper - 1, 1)])

    threads = [threading.Thread(target=writer, args=(s,)) for s in shards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert len(seqs) == 80 and seqs == sorted(seqs) and len(set(seqs)) == 80
    times = [e.time for e in harness.events()]
    assert times == sorted(times)


def test_a_failing_listener_does_not_break_storage(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 1)

    def broken(_: StorageEvent) -> None:
        raise RuntimeError("oracle bug")

    harness.add_listener(broken)
    assert caa(stub, "s", 0, 1, []).applied
    assert [str(err) for _, err in harness.listener_errors] == ["oracle bug"]


def test_from_events_rebuilds_the_same_state(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("a", 1)
    harness.create_shard("b", 2, upper=3)
    harness.append("a", [(r(1), 0, 1), (r(2), 1, 1)], 2)
    caa(stub, "b", 3, 6, [(r(1, "x"), 4, 2)])
    caa(stub, "b", 3, 7, [])                          # rejected: changes nothing
    harness.advance_since("a", 1)
    put(stub, "k", [r(1)])
    ListenReader(stub, "a", as_of=1).batch()
    rebuilt = ShardLog.from_events(harness.events())
    live = harness.log
    for shard in ("a", "b"):
        assert rebuilt.updates(shard) == live.updates(shard)
        assert (rebuilt.upper(shard), rebuilt.since(shard), rebuilt.arity(shard)) == (
            live.upper(shard), live.since(shard), live.arity(shard))
        assert list(rebuilt.upper_history(shard)) == list(live.upper_history(shard))
        for t in range(8):
            assert rebuilt.contents_at(shard, t) == live.contents_at(shard, t)
    assert rebuilt.blob("k") == live.blob("k")


def test_events_are_plain_data(harness: StorageHarness, stub: Any) -> None:
    harness.create_shard("s", 2)
    harness.append("s", [(r(1, b"\x00"), 0, 1)], 1)
    put(stub, "k", [r(None, 1.5)])
    plain = (str, int, float, bool, bytes, type(None))

    def check(value: Any) -> None:
        if isinstance(value, tuple | list):
            for item in value:
                check(item)
        elif isinstance(value, dict):
            for k, v in value.items():
                check(k)
                check(v)
        else:
            assert isinstance(value, plain), value

    for event in harness.events():
        check(dataclasses.asdict(event))
        assert event.time > 0
