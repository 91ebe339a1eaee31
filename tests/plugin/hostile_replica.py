"""Replicas that misbehave the way a broken or hostile one would, as processes of their own.

    python hostile_replica.py MODE PORT [ARG [TAG]]

MODE (the address goes to stdout's first line, as the suite's --replica-cmd expects):
    silent          accepts every stream, reads every command, never answers
    unimplemented   a gRPC server without the compute service (every call: UNIMPLEMENTED)
    garbage         after CreateInstance, sends bytes that are no ProtoComputeResponse
    flood N         answers each Schedule with N identical (legal) Frontiers reports, as fast as it can
    huge MB         after CreateInstance, sends one response of MB megabytes
    big-error MB    answers every Peek with an error of MB megabytes of text (and nothing else)
    die-after N     the reference replica, which exits (code 9) on its N-th command

Separate processes, so that a test measures the suite's memory, not the replica's. TAG is
ignored: tests put a unique one on the command line to find leftover processes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc
from compute_protocol.v1 import command_pb2, response_pb2

from conformance.wire.frontiers import to_proto
from conformance.wire.ids import gid_proto, gid_str

SERVICE = "compute_protocol.v1.ProtoCompute"


def _after_instance(requests: Iterator[bytes]) -> bool:
    """Read commands until CreateInstance; the rest are drained in the background."""
    for raw in requests:
        if command_pb2.ProtoComputeCommand.FromString(raw).WhichOneof("kind") == "create_instance":
            threading.Thread(target=lambda: [None for _ in requests], daemon=True).start()
            return True
    return False


def _frontiers(gid: str, value: int) -> bytes:
    f = response_pb2.ProtoFrontiersResponse(
        write_frontier=to_proto(value), input_frontier=to_proto(value), output_frontier=to_proto(value)
    )
    resp = response_pb2.ProtoComputeResponse(frontiers=response_pb2.ProtoFrontiersKind(id=gid_proto(gid), resp=f))
    return resp.SerializeToString()


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def behaviour(mode: str, arg: int) -> grpc.RpcMethodHandler:
    def serve(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        if mode == "silent":
            for _ in requests:
                pass
            return
        if mode == "big-error":
            for raw in requests:
                command = command_pb2.ProtoComputeCommand.FromString(raw)
                if command.WhichOneof("kind") == "peek":
                    answer = response_pb2.ProtoPeekResponse(error="e" * (arg << 20))
                    kind = response_pb2.ProtoPeekResponseKind(id=command.peek.uuid, resp=answer)
                    yield response_pb2.ProtoComputeResponse(peek_response=kind).SerializeToString()
            return
        if mode == "flood":
            for raw in requests:
                command = command_pb2.ProtoComputeCommand.FromString(raw)
                if command.WhichOneof("kind") == "schedule":
                    one = _frontiers(gid_str(command.schedule), 0)
                    for _ in range(arg):
                        if not context.is_active():
                            return
                        yield one
            return
        if not _after_instance(requests):
            return
        if mode == "garbage":
            yield b"\x0a\x7f\x01\x02"  # a length prefix promising 127 bytes, then two
        elif mode == "huge":
            size = arg << 20  # one unknown length-delimited field (13) of `size` bytes: decodes fine
            yield b"\x6a" + _varint(size) + b"x" * size
        threading.Event().wait(300)  # keep the stream open; the controller ends it

    return grpc.stream_stream_rpc_method_handler(serve)


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if mode == "die-after":
        _die_after(port, arg)
        return
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.so_reuseport", 0), ("grpc.max_send_message_length", -1)],
    )
    if mode != "unimplemented":
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(SERVICE, {"CommandResponseStream": behaviour(mode, arg)})]
        )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"127.0.0.1:{bound}", flush=True)
    print(f"hostile replica {mode} {arg} pid {os.getpid()}", file=sys.stderr, flush=True)
    threading.Event().wait()


def _die_after(port: int, commands: int) -> None:
    from reference_replica.engine import Engine
    from reference_replica.server import serve

    seen = [0]
    receive = Engine.receive

    def counting(self: Engine, connection: object, raw: bytes) -> None:
        seen[0] += 1
        if seen[0] >= commands:
            print(f"hostile replica: dying on command {seen[0]}", file=sys.stderr, flush=True)
            os._exit(9)
        receive(self, connection, raw)  # type: ignore[arg-type]

    Engine.receive = counting  # type: ignore[method-assign]
    replica = serve(f"127.0.0.1:{port}")
    print(replica.address, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
