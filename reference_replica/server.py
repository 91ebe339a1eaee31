"""The gRPC side: `ProtoCompute.CommandResponseStream` (spec 1.1, section 2).

Each stream is served by one gRPC worker thread, which drains the stream's outbound queue
(see `connection`), and one reader thread, which hands every incoming message to the engine
as raw bytes: decoding is the engine's job, so that undecodable bytes end the stream with
INVALID_ARGUMENT and a clear message instead of a generic gRPC error (TRANS-4).

A controller that half-closes its side keeps receiving responses; the stream ends when the
controller cancels it, when a newer stream replaces it (TRANS-2), or with a status after a
bad command.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import grpc
from compute_protocol.v1 import response_pb2

from reference_replica import faults
from reference_replica.cluster import Streams
from reference_replica.connection import Connection, End
from reference_replica.engine import Engine
from reference_replica.partition import Partition
from reference_replica.storage.allow import StorageAllowList
from reference_replica.tls import ClientTls, ServerTls

log = logging.getLogger(__name__)

SERVICE: Final = "compute_protocol.v1.ProtoCompute"
METHOD: Final = "CommandResponseStream"
SERVER_OPTIONS: Final = [
    ("grpc.so_reuseport", 0),  # a stale replica and a new one never share a port
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
]
POLL_SECONDS: Final = 0.5  # how often an idle stream checks that its client is still there


class ComputeService:
    def __init__(self, engine: Streams) -> None:
        self.engine = engine  # the engine itself, or the process's role in a cluster (`cluster`)

    def command_response_stream(
        self, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[response_pb2.ProtoComputeResponse]:
        connection = self.engine.open_stream(context.peer())
        if not context.add_callback(lambda: self.engine.stream_closed(connection)):
            self.engine.stream_closed(connection)  # already over before we could watch it
            return
        reader = threading.Thread(
            target=self._read, args=(requests, connection), name=f"stream-{connection.number}", daemon=True
        )
        reader.start()
        while True:
            item = connection.next(POLL_SECONDS)
            if item is None:
                if not context.is_active():
                    self.engine.stream_closed(connection)
                    return
                continue
            if isinstance(item, End):
                if item.code is not None:
                    context.set_code(item.code)
                    context.set_details(item.message)
                return
            yield item

    def _read(self, requests: Iterator[bytes], connection: Connection) -> None:
        try:
            for raw in requests:
                self.engine.receive(connection, raw)
        except Exception:  # the RPC was cancelled or ended under us
            return
        log.debug("%s: the controller half-closed its side", connection)


class ReplicaServer:
    """A running replica: the gRPC server plus its engine."""

    def __init__(self, server: grpc.Server, engine: Engine, address: str) -> None:
        self.server = server
        self.engine = engine
        self.address = address
        self.on_stop: list[Callable[[], None]] = []  # e.g. the cluster's processes and links

    def stop(self, grace: float = 1.0) -> None:
        self.server.stop(grace).wait(grace + 1.0)
        self.engine.stop()
        for hook in self.on_stop:
            hook()


def serve(
    listen: str = "127.0.0.1:0",
    workers: int = 1,
    *,
    tls: ServerTls | None = None,
    storage_allow: StorageAllowList | None = None,
    storage_tls: ClientTls | None = None,
    refuse_other_config: bool = False,
    partition: Partition | None = None,
    role: Callable[[Engine], Streams] | None = None,
) -> ReplicaServer:
    """Start a replica listening on `listen` (port 0: any free port); see `address`.

    `tls` serves TLS (mutual when it names a client CA); `storage_allow` and `storage_tls`
    say which storage services the replica dials and how (`storage.allow`, `tls`);
    `refuse_other_config` refuses another creation config instead of starting afresh;
    `partition` and `role` make it one process of several (`cluster`)."""
    credentials = tls.credentials() if tls is not None else None
    engine = Engine(
        workers,
        partition=partition,
        storage_allow=storage_allow,
        storage_tls=storage_tls,
        refuse_other_config=refuse_other_config,
    )
    service = ComputeService(engine if role is None else role(engine))
    server = grpc.server(
        ThreadPoolExecutor(max_workers=16, thread_name_prefix="grpc"), options=SERVER_OPTIONS
    )
    handler = grpc.stream_stream_rpc_method_handler(
        service.command_response_stream,
        request_deserializer=None,  # raw bytes: the engine decodes
        response_serializer=_serialize,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),))
    port = server.add_insecure_port(listen) if credentials is None else server.add_secure_port(listen, credentials)
    host = listen.rsplit(":", 1)[0]
    engine.start()
    server.start()
    return ReplicaServer(server, engine, f"{host}:{port}")


def _serialize(response: Any) -> bytes:
    data: bytes = response.SerializeToString()
    if faults.on("truncated-peek-response") and _rows_answer(response):
        return data[:-1]  # FAULT: breaks TRANS-6 (the outer length prefix promises one byte more)
    return data


def _rows_answer(response: Any) -> bool:
    return bool(
        response.WhichOneof("kind") == "peek_response"
        and response.peek_response.resp.WhichOneof("kind") == "rows"
        and response.peek_response.resp.rows.rows
    )
