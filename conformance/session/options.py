"""Command-line options and ini settings of the plugin, resolved once into `Settings`.

Every option can also be set in the ini file (`[tool.pytest.ini_options]` in pyproject.toml,
or pytest.ini); the command line wins over the ini file, which wins over the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from conformance.session.capabilities import Capabilities, load_capabilities
from conformance.session.known_failing import load_known_failing
from conformance.session.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from conformance.session.replicas import EMBEDDED_COMMAND

# (option, ini name, help). `dest` is the option with dashes turned into underscores.
_OPTIONS: Final = (
    (
        "--replica-addr",
        "replica_addr",
        "HOST:PORT of a running replica to test (several comma-separated addresses form one multi-process "
        "replica); without it the suite starts the bundled reference replica",
    ),
    (
        "--replica-cmd",
        "replica_cmd",
        "command that starts one replica per worker, with {port} (and optionally {python}) substituted; "
        f"default: '{EMBEDDED_COMMAND}'",
    ),
    (
        "--replica-pool",
        "replica_pool",
        "'ADDR;ADDR;...': running replicas, one per xdist worker (gw0 takes the first)",
    ),
    (
        "--conformance-profile",
        "conformance_profile",
        f"how much to generate and how long to wait: {', '.join(PROFILES)} (default {DEFAULT_PROFILE})",
    ),
    (
        "--conformance-patience",
        "conformance_patience",
        "seconds every wait may take before an owed answer is a liveness violation (default: the profile's)",
    ),
    (
        "--conformance-examples",
        "conformance_examples",
        "Hypothesis examples per state machine (default: the profile's)",
    ),
    (
        "--conformance-steps",
        "conformance_steps",
        "steps per example at most (default: the profile's)",
    ),
    (
        "--replica-tls-ca",
        "replica_tls_ca",
        "PEM file of the root certificate(s) to verify the replica with (enables TLS)",
    ),
    ("--replica-tls-cert", "replica_tls_cert", "PEM client certificate chain for mutual TLS"),
    ("--replica-tls-key", "replica_tls_key", "PEM private key of --replica-tls-cert"),
    (
        "--capabilities",
        "conformance_capabilities",
        "JSON file declaring the plan operators, sink kinds and peek targets the replica supports",
    ),
    (
        "--known-failing",
        "conformance_known_failing",
        "file of rule ids the replica is known to break, one per line (# comments); strict: a listed rule "
        "that passes fails the run",
    ),
    (
        "--conformance-artifacts",
        "conformance_artifacts",
        "directory for reports, histories, replay files and replica logs (default: conformance-artifacts)",
    ),
    (
        "--conformance-scenarios",
        "conformance_scenarios",
        "directory of scenario files to run (default: the scenarios shipped with the suite)",
    ),
    (
        "--storage-listen",
        "conformance_storage_listen",
        "HOST:PORT where the suite's storage service listens (default 127.0.0.1:0; use 0.0.0.0:0 for remote replicas)",
    ),
    (
        "--storage-advertise",
        "conformance_storage_advertise",
        "HOST or HOST:PORT replicas use to reach the storage service (default: the bound address)",
    ),
    ("--storage-tls-cert", "conformance_storage_tls_cert", "PEM certificate chain: the storage service speaks TLS"),
    ("--storage-tls-key", "conformance_storage_tls_key", "PEM private key of --storage-tls-cert"),
    (
        "--storage-tls-client-ca",
        "conformance_storage_tls_client_ca",
        "PEM root(s): the storage service requires replicas to present a client certificate signed by them",
    ),
)
_FLAGS: Final = (("--conformance-strict", "conformance_strict", "SHOULD-level violations fail the run too"),)
REPLAY_OPTION: Final = "--replay"
ACTIVATING: Final = ("replica_addr", "replica_cmd", "replica_pool", "replay", "conformance_profile")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("compute-conformance", "compute-protocol conformance suite")
    for opt, ini, helptext in _OPTIONS:
        group.addoption(opt, dest=_dest(opt), default=None, help=helptext)
        parser.addini(ini, help=helptext, default=None)
    for opt, ini, helptext in _FLAGS:
        group.addoption(opt, dest=_dest(opt), action="store_true", default=None, help=helptext)
        parser.addini(ini, help=helptext, type="bool", default=False)
    group.addoption(
        REPLAY_OPTION,
        dest="replay",
        default=None,
        metavar="FILE",
        help="re-execute a saved failure (a scenario file) and report 'reproduced k of N'",
    )
    group.addoption(
        "--replay-runs",
        dest="replay_runs",
        type=int,
        default=None,
        help="how often --replay re-executes the file (default 3)",
    )


def _dest(opt: str) -> str:
    return opt.lstrip("-").replace("-", "_")


def raw(config: pytest.Config, opt: str, ini: str) -> str | None:
    """CLI value, else ini value, else None."""
    value = config.getoption(_dest(opt), default=None)
    if value is None:
        ini_value = config.getini(ini)
        value = ini_value if ini_value not in ("", None, []) else None
    return None if value is None else str(value)


def conformance_requested(config: pytest.Config) -> bool:
    """Did the user ask for a conformance run (so that bare `pytest --replica-addr X` runs the suite)?"""
    return any(config.getoption(name, default=None) for name in ACTIVATING)


@dataclass(frozen=True)
class Settings:
    replica_addr: str | None
    replica_cmd: str | None
    replica_pool: str | None
    profile: Profile
    tls_ca: Path | None
    tls_cert: Path | None
    tls_key: Path | None
    capabilities: Capabilities
    capabilities_file: Path | None
    known_failing: frozenset[str]
    artifacts: Path
    scenarios: Path | None
    storage_listen: str
    storage_advertise: str | None
    strict: bool
    replay: Path | None
    replay_runs: int
    storage_tls_cert: Path | None = None
    storage_tls_key: Path | None = None
    storage_tls_client_ca: Path | None = None

    @property
    def owns_replicas(self) -> bool:
        """The suite starts (and may restart) its replicas itself."""
        return not (self.replica_addr or self.replica_pool)

    @property
    def command(self) -> str:
        return self.replica_cmd or EMBEDDED_COMMAND

    def target_description(self) -> str:
        if self.replica_addr:
            return f"--replica-addr {self.replica_addr}"
        if self.replica_pool:
            return f"--replica-pool {self.replica_pool}"
        if self.replica_cmd:
            return f"--replica-cmd {self.replica_cmd!r}"
        return "embedded reference replica"


def _positive_int(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n <= 0:
        raise ValueError(f"{option} must be a positive integer, got {value!r}")
    return n


def resolve(config: pytest.Config, known_rule_ids: set[str] | None = None) -> Settings:
    """Read and validate every setting; a bad value is a UsageError naming the option."""

    def get(opt: str) -> str | None:
        ini = next(i for o, i, _ in _OPTIONS if o == opt)
        return raw(config, opt, ini)

    try:
        profile = get_profile(get("--conformance-profile") or DEFAULT_PROFILE)
        patience_raw = get("--conformance-patience")
        patience = float(patience_raw) if patience_raw is not None else None
        if patience is not None and patience <= 0:
            raise ValueError("--conformance-patience must be a positive number of seconds")
        examples = _positive_int(get("--conformance-examples"), "--conformance-examples")
        steps = _positive_int(get("--conformance-steps"), "--conformance-steps")
        profile = profile.with_overrides(patience=patience, examples=examples, steps=steps)
        caps_file = get("--capabilities")
        caps = load_capabilities(caps_file) if caps_file else Capabilities()
        kf_file = get("--known-failing")
        known = frozenset(load_known_failing(kf_file, known_rule_ids)) if kf_file else frozenset()
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    tls = [get(o) for o in ("--replica-tls-ca", "--replica-tls-cert", "--replica-tls-key")]
    if (tls[1] is None) != (tls[2] is None):
        raise pytest.UsageError("--replica-tls-cert and --replica-tls-key go together")
    if tls[1] and not tls[0]:
        raise pytest.UsageError("mutual TLS (--replica-tls-cert) needs --replica-tls-ca as well")
    for path in filter(None, tls):
        if not Path(path).is_file():
            raise pytest.UsageError(f"TLS file not found: {path}")
    storage_tls = _storage_tls(get, owns_embedded=not (get("--replica-addr") or get("--replica-pool")
                                                        or get("--replica-cmd")))
    strict_cli = config.getoption("conformance_strict", default=None)
    strict = bool(strict_cli) if strict_cli is not None else bool(config.getini("conformance_strict"))
    replay = config.getoption("replay", default=None)
    runs = config.getoption("replay_runs", default=None)
    scenarios = get("--conformance-scenarios")
    return Settings(
        replica_addr=get("--replica-addr"),
        replica_cmd=get("--replica-cmd"),
        replica_pool=get("--replica-pool"),
        profile=profile,
        tls_ca=Path(tls[0]) if tls[0] else None,
        tls_cert=Path(tls[1]) if tls[1] else None,
        tls_key=Path(tls[2]) if tls[2] else None,
        capabilities=caps,
        capabilities_file=Path(caps_file) if caps_file else None,
        known_failing=known,
        artifacts=Path(get("--conformance-artifacts") or "conformance-artifacts").resolve(),
        scenarios=Path(scenarios) if scenarios else None,
        storage_listen=get("--storage-listen") or "127.0.0.1:0",
        storage_advertise=get("--storage-advertise"),
        strict=strict,
        replay=Path(replay) if replay else None,
        replay_runs=runs if runs is not None else 3,
        storage_tls_cert=storage_tls[0],
        storage_tls_key=storage_tls[1],
        storage_tls_client_ca=storage_tls[2],
    )


def _storage_tls(get: Callable[[str], str | None], *, owns_embedded: bool) -> tuple[Path | None, ...]:
    """(cert, key, client CA) of the storage service, checked; all None for plaintext."""
    cert, key, client_ca = (get(o) for o in ("--storage-tls-cert", "--storage-tls-key", "--storage-tls-client-ca"))
    if (cert is None) != (key is None):
        raise pytest.UsageError("--storage-tls-cert and --storage-tls-key go together")
    if client_ca and not cert:
        raise pytest.UsageError("--storage-tls-client-ca (mutual TLS) needs --storage-tls-cert and --storage-tls-key")
    for path in filter(None, (cert, key, client_ca)):
        if not Path(path).is_file():
            raise pytest.UsageError(f"TLS file not found: {path}")
    if cert and owns_embedded:
        raise pytest.UsageError(
            "--storage-tls-cert makes the storage service speak TLS, and the embedded reference replica dials it "
            "in plaintext: start replicas with --replica-cmd '... --storage-tls-ca CA.pem' (see docs/usage.md, "
            "Running across hosts)"
        )
    return tuple(Path(p) if p else None for p in (cert, key, client_ca))
