"""Tiny in-process replicas that misbehave on purpose, for the driver's tests.

Each serves `ProtoCompute.CommandResponseStream` on an ephemeral loopback port with a behaviour
function: it gets the command iterator and the call context, and yields responses (protobuf
messages, or raw bytes when the server is built with `raw=True`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from typing import Any

import grpc
from compute_protocol.v1 import command_pb2, response_pb2

from conformance.wire.frontiers import to_proto
from conformance.wire.ids import gid_proto

Behaviour = Callable[[Iterator[Any], grpc.ServicerContext], Iterable[Any]]
Resp = response_pb2.ProtoComputeResponse
SERVICE = "compute_protocol.v1.ProtoCompute"


class FakeReplica:
    def __init__(
        self, behaviour: Behaviour, *, raw: bool = False, tls: grpc.ServerCredentials | None = None
    ) -> None:
        self.behaviour = behaviour
        self.streams = 0
        self.received: list[Any] = []
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8), options=[("grpc.so_reuseport", 0)]
        )
        handler = grpc.stream_stream_rpc_method_handler(
            self._serve,
            request_deserializer=None if raw else command_pb2.ProtoComputeCommand.FromString,
            response_serializer=None if raw else Resp.SerializeToString,
        )
        self.server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"CommandResponseStream": handler})]
        )
        if tls is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            self.port = self.server.add_secure_port("127.0.0.1:0", tls)
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def _serve(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        self.streams += 1

        def recorded() -> Iterator[Any]:
            for r in requests:
                self.received.append(r)
                yield r

        yield from self.behaviour(recorded(), context)

    def stop(self) -> None:
        self.server.stop(None).wait(5)


def take(requests: Iterator[Any], n: int) -> list[Any]:
    out = []
    for r in requests:
        out.append(r)
        if len(out) == n:
            break
    return out


def silent(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterable[Any]:
    """Reads every command and never answers (until the controller goes away)."""
    for _ in requests:
        pass
    return ()


def closes_after(n: int) -> Behaviour:
    def behaviour(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterable[Any]:
        take(requests, n)
        return ()

    return behaviour


def aborts_after(n: int, code: grpc.StatusCode, details: str) -> Behaviour:
    def behaviour(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterable[Any]:
        take(requests, n)
        context.abort(code, details)
        return ()

    return behaviour


def garbage_after(n: int) -> Behaviour:
    """A raw-bytes behaviour: a length prefix promising 127 bytes, followed by two."""

    def behaviour(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterable[bytes]:
        take(requests, n)
        yield b"\x0a\x7f\x01\x02"
        threading.Event().wait(5)

    return behaviour


def frontiers(gid: str, value: int) -> Resp:
    f = response_pb2.ProtoFrontiersResponse(
        write_frontier=to_proto(value), input_frontier=to_proto(value), output_frontier=to_proto(value)
    )
    return Resp(frontiers=response_pb2.ProtoFrontiersKind(id=gid_proto(gid), resp=f))


def answering(respond: Callable[[command_pb2.ProtoComputeCommand], list[Resp]]) -> Behaviour:
    """Answers each command with `respond(command)` and keeps the stream open."""

    def behaviour(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterable[Any]:
        for c in requests:
            yield from respond(c)

    return behaviour
