"""Every command and response kind survives a real gRPC stream on loopback unchanged."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from compute_protocol.v1 import (
    command_pb2,
    common_pb2,
    response_pb2,
    service_pb2_grpc,
    storage_pb2,
    storage_pb2_grpc,
)

from .samples import commands, responses, sample_row

OPTIONS = [("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 256 << 20),
           ("grpc.max_send_message_length", 256 << 20)]


class EchoCompute(service_pb2_grpc.ProtoComputeServicer):
    """Records every command, then answers with one response of each kind."""

    def __init__(self) -> None:
        self.received: list[command_pb2.ProtoComputeCommand] = []

    def CommandResponseStream(
        self, request_iterator: Iterator[command_pb2.ProtoComputeCommand], context: Any
    ) -> Iterator[response_pb2.ProtoComputeResponse]:
        self.received.extend(request_iterator)
        yield from responses().values()


class EchoStorage(storage_pb2_grpc.ProtoStorageServicer):
    def Listen(self, request: storage_pb2.ProtoListenRequest, context: Any) -> Iterator[storage_pb2.ProtoListenBatch]:
        yield storage_pb2.ProtoListenBatch(
            lower=common_pb2.ProtoU64Antichain(elements=[0]),
            upper=common_pb2.ProtoU64Antichain(elements=[request.as_of + 1]),
            updates=[storage_pb2.ProtoStorageUpdate(row=sample_row(), timestamp=request.as_of, diff=-2)])

    def CompareAndAppend(self, request: storage_pb2.ProtoCompareAndAppendRequest, context: Any) -> Any:
        return storage_pb2.ProtoCompareAndAppendResponse(applied=True, current_upper=request.new_upper)

    def GetShard(self, request: storage_pb2.ProtoGetShardRequest, context: Any) -> Any:
        return storage_pb2.ProtoShardState(upper=common_pb2.ProtoU64Antichain(), since=common_pb2.ProtoU64Antichain(
            elements=[len(request.shard_id)]))

    def PutBlob(self, request: storage_pb2.ProtoPutBlobRequest, context: Any) -> Any:
        if request.rows[0] != sample_row():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "row changed in transit")
        return storage_pb2.ProtoPutBlobResponse()


@pytest.fixture
def server() -> Iterator[tuple[str, EchoCompute]]:
    compute = EchoCompute()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=OPTIONS)
    service_pb2_grpc.add_ProtoComputeServicer_to_server(compute, srv)
    storage_pb2_grpc.add_ProtoStorageServicer_to_server(EchoStorage(), srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    try:
        yield f"127.0.0.1:{port}", compute
    finally:
        srv.stop(None).wait(5)


def test_every_command_and_response_kind_round_trips(server: tuple[str, EchoCompute]) -> None:
    address, compute = server
    sent = list(commands().values())
    with grpc.insecure_channel(address, options=OPTIONS) as channel:
        stub = service_pb2_grpc.ProtoComputeStub(channel)
        got = list(stub.CommandResponseStream(iter(sent), timeout=10))
    assert [c.WhichOneof("kind") for c in compute.received] == list(commands())
    assert compute.received == sent
    assert got == list(responses().values())
    # Presence survives the wire: absent stays absent, empty stays present.
    frontiers = got[0].frontiers.resp
    assert frontiers.HasField("write_frontier") and not frontiers.HasField("input_frontier")


def test_stream_stays_open_while_the_controller_holds_it(server: tuple[str, EchoCompute]) -> None:
    """A request iterator that blocks keeps the call open (the suite's driver relies on this)."""
    address, compute = server
    outbox: queue.Queue[command_pb2.ProtoComputeCommand | None] = queue.Queue()

    def requests() -> Iterator[command_pb2.ProtoComputeCommand]:
        while (item := outbox.get(timeout=10)) is not None:
            yield item

    with grpc.insecure_channel(address, options=OPTIONS) as channel:
        call = service_pb2_grpc.ProtoComputeStub(channel).CommandResponseStream(requests(), timeout=10)
        for command in commands().values():
            outbox.put(command)
        done = threading.Event()

        def close() -> None:
            outbox.put(None)
            done.set()

        threading.Timer(0.2, close).start()
        got = list(call)
        assert done.is_set(), "the response stream ended before the controller closed its side"
    assert len(got) == len(responses()) and len(compute.received) == len(commands())


def test_storage_service_round_trips(server: tuple[str, EchoCompute]) -> None:
    address, _ = server
    with grpc.insecure_channel(address, options=OPTIONS) as channel:
        stub = storage_pb2_grpc.ProtoStorageStub(channel)
        batches = list(stub.Listen(storage_pb2.ProtoListenRequest(shard_id="s", as_of=7, reader_id="r"), timeout=10))
        assert [list(b.upper.elements) for b in batches] == [[8]]
        assert batches[0].updates[0].row == sample_row() and batches[0].updates[0].diff == -2
        cas = stub.CompareAndAppend(storage_pb2.ProtoCompareAndAppendRequest(
            shard_id="s", expected_upper=common_pb2.ProtoU64Antichain(elements=[0]),
            new_upper=common_pb2.ProtoU64Antichain(), writer_id="w"), timeout=10)
        assert cas.applied and list(cas.current_upper.elements) == [] and cas.HasField("current_upper")
        assert list(stub.GetShard(storage_pb2.ProtoGetShardRequest(shard_id="abc"), timeout=10).since.elements) == [3]
        stub.PutBlob(storage_pb2.ProtoPutBlobRequest(key="k", rows=[sample_row()], writer_id="w"), timeout=10)
