"""A stand-in replica process for process-management tests: a TCP server that accepts and
closes connections. It speaks no gRPC; tests only need it to start, be reachable and die.

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
import socket
import sys
import threading
import time


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "die-early":
        print("cannot start: broken on purpose", file=sys.stderr)
        sys.exit(3)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    print(f"fake replica {mode} pid {os.getpid()}", file=sys.stderr, flush=True)
    if mode != "silent":
        print(f"listening on 127.0.0.1:{server.getsockname()[1]}", flush=True)
    if mode == "die-on-gw0" and os.environ.get("PYTEST_XDIST_WORKER") == "gw0":
        threading.Timer(0.5, lambda: os._exit(7)).start()
    while True:
        conn, _ = server.accept()
        conn.close()
        time.sleep(0)


if __name__ == "__main__":
    main()
