"""Why the suite cannot connect to a replica, in one line that names the side and the reason.

gRPC reports a channel that never becomes ready with no reason at all, so a TLS mismatch
would look like a replica that is not there. When a channel is not ready, `await_ready` asks
once through it (a health check: harmless on any server, never a compute stream, so the
replica's current stream is not replaced) and reads the transport's own words:

- our side's handshake failed: the replica's certificate is not signed by `--replica-tls-ca`,
  does not name the host we dial, or the replica does not speak TLS at all;
- the replica closed the connection while it was being set up ("Socket closed"): it expects
  TLS and we speak plaintext, or it wants a client certificate we do not present or it does
  not trust;
- nothing accepts connections at the address.

TLS failures never heal by waiting, so they end the wait at once; a refused connection may be
a replica still starting, so that one waits out the timeout first.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Final

import grpc

from conformance.driver.channel import TlsConfig

PROBE_METHOD: Final = "/grpc.health.v1.Health/Check"
SLICE: Final = 0.5  # seconds between probes while the channel is not ready
_LAST_ERROR: Final = re.compile(r"last error: (?:[A-Z_]+: )?(?:ipv[46]:\S+: )?(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Reason:
    text: str
    final: bool  # waiting longer cannot change it


def transport_words(details: str) -> str:
    m = _LAST_ERROR.search(details)
    return (m.group(1) if m else details).removesuffix(": OK").strip()


def explain(details: str, tls: TlsConfig | None, host: str) -> Reason:
    """The reason behind an UNAVAILABLE call's details, for a controller using `tls`."""
    raw = transport_words(details)
    if "CERTIFICATE_VERIFY_FAILED" in raw:
        return Reason(f"TLS: the replica's certificate is not signed by --replica-tls-ca ({raw})", True)
    if "Hostname Verification" in raw or "Peer name" in raw:
        return Reason(f"TLS: the replica's certificate does not name {host} ({raw})", True)
    if "WRONG_VERSION_NUMBER" in raw or (tls is not None and "handshake failed" in raw.lower()):
        return Reason(
            "TLS: the replica does not speak TLS; drop --replica-tls-ca, or start the replica with TLS "
            f"({raw})",
            True,
        )
    if "Socket closed" in raw or "Connection reset" in raw:
        if tls is None:
            why = "it may require TLS, and the suite connects in plaintext (give --replica-tls-ca)"
        elif tls.client_certificate is None:
            why = "it may require a client certificate (give --replica-tls-cert and --replica-tls-key)"
        else:
            why = "it may not trust the client certificate of --replica-tls-cert"
        return Reason(f"the replica closed the connection during setup: {why} ({raw})", True)
    if "Connection refused" in raw:
        return Reason(f"nothing accepts connections there ({raw})", False)
    return Reason(f"no connection ({raw})", False)


def probe(channel: grpc.Channel, timeout: float) -> str | None:
    """The details of a failed call through `channel`, or None if the far side answered."""
    check = channel.unary_unary(PROBE_METHOD, request_serializer=None, response_deserializer=None)
    try:
        check(b"", timeout=timeout)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            return str(error.details() or "")
        if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            return "the connection attempt did not finish in time"
    return None


def await_ready(channel: grpc.Channel, address: str, tls: TlsConfig | None, timeout: float) -> str | None:
    """Wait until `channel` is ready; None then, else the one-line reason it never will be.

    Bounded by `timeout`, and shorter when the reason is one that waiting cannot change."""
    why = why_not_ready(channel, address, tls, timeout)
    return None if why is None else f"could not reach the replica at {address}{why}"


def why_not_ready(channel: grpc.Channel, address: str, tls: TlsConfig | None, timeout: float) -> str | None:
    """None once `channel` is ready, else ": REASON" (final) or " within N s: REASON"."""
    deadline = time.monotonic() + timeout
    ready = grpc.channel_ready_future(channel)
    host = address.rpartition(":")[0].strip("[]") or address
    reason: Reason | None = None
    try:
        while True:
            left = deadline - time.monotonic()
            try:
                ready.result(timeout=max(0.0, min(SLICE, left)))
                return None
            except grpc.FutureTimeoutError:
                pass
            left = deadline - time.monotonic()
            details = probe(channel, max(0.1, min(2.0, left)))
            if details is not None:
                reason = explain(details, tls, host)
                if reason.final:
                    break
            if time.monotonic() >= deadline:
                break
    finally:
        ready.cancel()
    if reason is not None and reason.final:
        return f": {reason.text}"
    text = reason.text if reason else "no connection"
    return f" within {timeout:g} s: {text}"
