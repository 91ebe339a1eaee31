"""Telling a storage service that cannot be reached as configured from a passing outage.

A storage call that fails with UNAVAILABLE is normally retried: the service restarts, the
network heals. Some failures never heal by waiting, and retrying them forever would leave
the controller with nothing but a frontier that never moves. They are TLS mismatches between
this replica (`--storage-tls-*`) and the storage service:

- the handshake fails on our side: the service's certificate is not signed by
  `--storage-tls-ca`, does not name the host we dial, or the service does not speak TLS;
- the service closes every connection while it is being set up (gRPC says only "Socket
  closed"): it expects TLS and we speak plaintext, or it wants a client certificate that we
  do not present or that it does not trust. A service going down can close a connection too,
  so this counts only for an address that never answered, and only after it happened
  `CLOSED_IN_SETUP` times in a row.

`diagnose` turns such a failure into one line naming the side (this replica, dialing the
storage service at ADDRESS) and the reason; the engine ends the current stream with it
(UNAVAILABLE), so the controller reads the cause instead of waiting for progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from reference_replica.tls import ClientTls

CLOSED_IN_SETUP: Final = 3
_LAST_ERROR: Final = re.compile(r"last error: (?:[A-Z_]+: )?(?:ipv[46]:\S+: )?(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Diagnosis:
    reason: str
    certain: bool  # False: only a sign, which must repeat on an address that never answered


def last_error(details: str) -> str:
    """The transport's own words from gRPC's 'failed to connect to all addresses' details."""
    m = _LAST_ERROR.search(details)
    text = m.group(1) if m else details
    return text.removesuffix(": OK").strip()


def diagnose(details: str, tls: ClientTls | None) -> Diagnosis | None:
    """The reason an UNAVAILABLE storage call will never succeed as configured, or None."""
    raw = last_error(details)
    if "CERTIFICATE_VERIFY_FAILED" in raw:
        return Diagnosis(f"TLS: its certificate is not signed by --storage-tls-ca ({raw})", True)
    if "Hostname Verification" in raw or "Peer name" in raw:
        return Diagnosis(f"TLS: its certificate does not name the host this replica dials ({raw})", True)
    if "WRONG_VERSION_NUMBER" in raw or ("handshake failed" in raw.lower() and tls is not None):
        return Diagnosis(
            f"TLS: the handshake failed; the service may not speak TLS (drop --storage-tls-ca) ({raw})", True
        )
    if "Socket closed" in raw or "Connection reset" in raw:
        if tls is None:
            why = "it may require TLS, and this replica dials it in plaintext (give --storage-tls-ca)"
        elif not tls.mutual:
            why = "it may require a client certificate (give --storage-tls-cert and --storage-tls-key)"
        else:
            why = "it may not trust the client certificate of --storage-tls-cert"
        return Diagnosis(f"it closed every connection during setup: {why} ({raw})", False)
    return None
