"""The suite and the reference replica over mutual TLS on both sides, through pytest itself.

`test_quick_profile_over_mutual_tls` is the issue's acceptance run: the suite starts the
replica (`--replica-cmd`), speaks mTLS to it, and hosts its storage service over mTLS.
`test_two_hosts` is the worked example of docs/usage.md ("Running across hosts") with host A
(the suite) on 127.0.0.1 and host B (the replica) on 127.0.0.2, and the same commands.
Certificates come from `tests.pki` (trustme), made fresh per run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.session.replicas import free_port
from tests.pki import Pki, make_pki
from tests.plugin.subrun import ROOT, run_pytest
from tests.replica.process import environment, read_line

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _report(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "conformance-artifacts" / "conformance-report.json").read_text())
    return data


def _suite_tls(pki: Pki) -> list[str]:
    """Host A's options: mTLS to the replica, and a storage service that requires client certificates."""
    return [
        "--replica-tls-ca", str(pki.ca), "--replica-tls-cert", str(pki.client_cert), "--replica-tls-key",
        str(pki.client_key),
        "--storage-tls-cert", str(pki.server_cert), "--storage-tls-key", str(pki.server_key),
        "--storage-tls-client-ca", str(pki.ca),
    ]  # fmt: skip


def _replica_tls(pki: Pki) -> list[str]:
    """Host B's options: serve mTLS, and dial the storage service with TLS and a client certificate."""
    return [
        "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), "--tls-client-ca", str(pki.ca),
        "--storage-tls-ca", str(pki.ca), "--storage-tls-cert", str(pki.client_cert), "--storage-tls-key",
        str(pki.client_key),
    ]  # fmt: skip


def test_quick_profile_over_mutual_tls(tmp_path: Path, pki: Pki) -> None:
    command = " ".join(
        ["{python} -m reference_replica --listen 127.0.0.1:{port} --storage-allow {storage}", *_replica_tls(pki)]
    )
    result = run_pytest(
        tmp_path, "--replica-cmd", command, "--conformance-profile", "quick", *_suite_tls(pki), timeout=600
    )
    assert result.ret == 0, result.stdout[-5000:]
    assert "verdict: PASS" in result.stdout
    data = _report(tmp_path)
    assert data["verdict"] == "pass" and data["summary"]["passed"] > 40 and data["summary"]["failed"] == 0
    logs = "".join(p.read_text() for p in (tmp_path / "conformance-artifacts").glob("replica-*.log"))
    assert "mutual TLS; storage: dials 127.0.0.1:" in logs and " with TLS" in logs, logs[-3000:]
    assert "cannot reach the storage service" not in logs


@pytest.fixture
def storage_port() -> int:
    """Host A's fixed storage port (7200 in the example)."""
    return free_port("127.0.0.1")


@pytest.fixture
def host_b(pki: Pki, storage_port: int) -> Iterator[str]:
    """The replica on "host B" (127.0.0.2), started by hand as the worked example says."""
    argv = [
        sys.executable, "-m", "reference_replica", "--listen", "127.0.0.2:0", *_replica_tls(pki),
        "--storage-allow", f"127.0.0.1:{storage_port}",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=environment(), cwd=ROOT)  # fmt: skip
    try:
        yield read_line(proc, 30)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_two_hosts(tmp_path: Path, pki: Pki, host_b: str, storage_port: int) -> None:
    assert host_b.startswith("127.0.0.2:")
    storage = f"127.0.0.1:{storage_port}"
    host_a = ["--storage-listen", storage, "--storage-advertise", storage]
    result = run_pytest(
        tmp_path, "--replica-addr", host_b, "--conformance-profile", "quick", *host_a, *_suite_tls(pki), timeout=600
    )
    assert result.ret == 0, result.stdout[-5000:]
    assert "verdict: PASS" in result.stdout and _report(tmp_path)["summary"]["failed"] == 0


@pytest.mark.parametrize(
    ("drop", "line"),
    [
        ("--replica-tls-cert", "it may require a client certificate (give --replica-tls-cert"),
        ("--replica-tls-ca", "TLS mismatch: the replica speaks TLS, the suite plaintext (give --replica-tls-ca"),
    ],
)
def test_a_misconfigured_suite_fails_with_one_line(tmp_path: Path, pki: Pki, host_b: str, drop: str, line: str) -> None:
    options = _suite_tls(pki)
    if drop == "--replica-tls-cert":
        options = [o for i, o in enumerate(options) if i not in range(2, 6)]  # no client certificate
    else:
        options = options[6:]  # no TLS to the replica at all
    result = run_pytest(tmp_path, "--replica-addr", host_b, "--conformance-profile", "quick", "-k",
                        "test_scenario and peek-index-basic", *options, timeout=300)  # fmt: skip
    assert result.ret == 4  # a usage error found before any test (preflight)
    assert f"ERROR: cannot test --replica-addr {host_b}: " in result.stderr, result.stderr[-4000:]
    assert line in result.stderr, result.stderr[-4000:]
