"""`--storage-tls-*`: the suite's storage service over TLS; impossible combinations are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.subrun import run_pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--storage-tls-cert", "c.pem"), "--storage-tls-cert and --storage-tls-key go together"),
        (("--storage-tls-client-ca", "ca.pem"), "--storage-tls-client-ca (mutual TLS) needs --storage-tls-cert"),
        (("--storage-tls-cert", "c.pem", "--storage-tls-key", "k.pem"), "TLS file not found: c.pem"),
    ],
)
def test_bad_storage_tls_options_are_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_pytest(tmp_path, "--replica-addr", "127.0.0.1:9", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr, result.stderr


def test_storage_tls_with_the_embedded_replica_says_what_to_do(tmp_path: Path) -> None:
    for name in ("c.pem", "k.pem"):
        (tmp_path / name).write_text("not used: the check comes first\n")
    result = run_pytest(tmp_path, "--conformance", "--storage-tls-cert", "c.pem", "--storage-tls-key", "k.pem")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "the embedded reference replica dials it in plaintext" in result.stderr
    assert "--replica-cmd" in result.stderr and "--storage-tls-ca" in result.stderr
