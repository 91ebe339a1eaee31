"""The replica's network options on its command line: TLS, exposure warning, storage allow list."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reference_replica import exposure
from reference_replica.tls import ServerTls
from tests.pki import Pki, make_pki
from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller
from tests.replica.process import ROOT, environment, replica_command, replica_process, stop

INDEX = p.dataflow(0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], indexes=[p.index_export(2, 1, [0])])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*replica_command()[:-2], *args], capture_output=True, text=True, env=environment(), cwd=ROOT, timeout=30
    )


def test_exposure_is_named_only_off_loopback(tmp_path: Path) -> None:
    tls = ServerTls(tmp_path / "c", tmp_path / "k")
    mtls = ServerTls(tmp_path / "c", tmp_path / "k", tmp_path / "ca")
    for loopback in ("127.0.0.1:1", "127.0.0.2:1", "[::1]:1", "localhost:1"):
        assert exposure.warning(loopback, None) is None
    plaintext = exposure.warning("0.0.0.0:2101", None)
    assert plaintext is not None and "PLAINTEXT" in plaintext and "anyone who can reach it" in plaintext
    assert "--tls-client-ca" in plaintext
    no_client_auth = exposure.warning("[::]:2101", tls)
    assert no_client_auth is not None and "without --tls-client-ca" in no_client_auth
    assert exposure.warning("0.0.0.0:2101", mtls) is None
    assert exposure.warning("replica.example:2101", None) is not None  # a name is not taken for loopback


def test_listening_beyond_loopback_in_plaintext_logs_the_risk() -> None:
    with replica_process("--listen", "0.0.0.0:0") as (proc, _address):  # the later --listen wins
        stop(proc)
        assert proc.stderr is not None
        warnings = [line for line in proc.stderr.read().splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "serving PLAINTEXT on 0.0.0.0:" in warnings[0], warnings


def test_loopback_logs_no_warning() -> None:
    with replica_process() as (proc, _address):
        stop(proc)
        assert proc.stderr is not None
        assert " WARNING " not in proc.stderr.read()


def test_a_mutual_tls_replica_process_serves_a_controller_with_a_certificate(pki: Pki) -> None:
    args = ("--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), "--tls-client-ca", str(pki.ca))
    with replica_process(*args) as (proc, address):
        ctl = Controller(address, pki.channel_credentials())
        try:
            ctl.start(p.create_dataflow(INDEX))
            assert ctl.wait_frontier(2, EMPTY) == EMPTY
        finally:
            ctl.close()
        assert stop(proc) == 0
        assert proc.stderr is not None
        log = proc.stderr.read()
        assert "mutual TLS; storage: dials loopback in plaintext" in log and " WARNING " not in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tls-key", "k.pem"), "--tls-cert and --tls-key go together"),
        (("--tls-client-ca", "ca.pem"), "--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key"),
        (("--storage-tls-cert", "c.pem", "--storage-tls-key", "k.pem"), "needs --storage-tls-ca"),
        (("--tls-cert", "nope.pem", "--tls-key", "nope.key"), "--tls-cert: no such file: nope.pem"),
        (("--storage-allow", "not a host"), "--storage-allow entry 'not a host'"),
    ],
)
def test_impossible_network_options_exit_2_naming_the_option(args: tuple[str, ...], message: str) -> None:
    result = _run(*args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
