"""A stand-in replica process for process-management tests: a gRPC server whose compute
service reads every command and never answers. Tests only need it to start, be reachable
(as a gRPC server, which the suite checks after starting it) and die.

    python fake_replica.py MODE PORT
    MODE: print        bind PORT (0: any), print "listening on 127.0.0.1:N" on the first line
          silent       bind PORT, print nothing (the suite must poll the port)
          die-early    exit 3 at once
          stubborn     like print, but ignore SIGTERM (the suite must SIGKILL it)
          die-on-gw0   like print; under xdist worker gw0, exit 7 after 0.5 s
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc

SERVICE = "compute_protocol.v1.ProtoCompute"


def _silent(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for _ in requests:
        pass
    return iter(())


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "die-early":
        print("cannot start: broken on purpose", file=sys.stderr)
        sys.exit(3)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[("grpc.so_reuseport", 0)])
    handler = grpc.stream_stream_rpc_method_handler(_silent)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, {"CommandResponseStream": handler})])
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"fake replica {mode} pid {os.getpid()}", file=sys.stderr, flush=True)
    if mode != "silent":
        print(f"listening on 127.0.0.1:{bound}", flush=True)
    if mode == "die-on-gw0" and os.environ.get("PYTEST_XDIST_WORKER") == "gw0":
        threading.Timer(0.5, lambda: os._exit(7)).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
