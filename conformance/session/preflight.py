"""Before the first test: one connection check per replica the user gave by address.

The checks themselves are the driver's (`conformance.driver.preflight`); this module knows
which addresses a run names and how to say what is wrong with one of them: one line, naming
the option and the address.
"""

from __future__ import annotations

from typing import Any

from conformance.session.options import Settings
from conformance.session.replicas import split_pool


def addresses(s: Settings) -> list[tuple[str, str]]:
    """(option, address) of every replica process the run will talk to without starting it."""
    out = [("--replica-addr", a) for a in (s.replica_addr or "").split(",") if a]
    if s.replica_pool:
        out += [("--replica-pool", a) for entry in split_pool(s.replica_pool) for a in entry.split(",")]
    return out


def tls_of(s: Settings) -> Any:
    """The driver's TlsConfig for these settings, or None (plaintext)."""
    if not (s.tls_ca or s.tls_cert):
        return None
    from conformance.driver import TlsConfig

    return TlsConfig(root_certificates=s.tls_ca, client_certificate=s.tls_cert, client_key=s.tls_key)


def first_problem(s: Settings) -> str | None:
    """`cannot test --replica-addr A: why`, for the first address that fails its check, or None."""
    from conformance.driver.preflight import check_address

    tls = tls_of(s)
    for option, address in addresses(s):
        problem = check_address(address, tls)
        if problem is not None:
            return f"cannot test {option} {address}: {problem}"
    return None
