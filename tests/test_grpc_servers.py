"""Every gRPC server of the project sets `grpc.so_reuseport` to 0.

gRPC turns SO_REUSEPORT on by default, so a stale server (a replica that did not stop, a test's
leftover storage service) and a new one can bind the same port and share its connections:
a controller would talk to the wrong process, silently. With the option off, the second bind
fails loudly instead. This test finds every module that builds a server and checks it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("conformance", "reference_replica", "tests", "bench")


def test_every_grpc_server_turns_reuseport_off() -> None:
    builders = [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if re.search(r"\bgrpc\.server\(", path.read_text(encoding="utf-8")) and path != Path(__file__)
    ]
    assert len(builders) >= 5, builders  # the replica, the storage harness, the test fakes, the bench
    missing = [str(p.relative_to(ROOT)) for p in builders if '("grpc.so_reuseport", 0)' not in p.read_text()]
    assert not missing, f"gRPC servers without ('grpc.so_reuseport', 0): {missing}"
