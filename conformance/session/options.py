"""Command-line options and ini settings of the plugin, resolved once into `Settings`.

Every option can also be set in the ini file (`[tool.pytest.ini_options]` in pyproject.toml,
or pytest.ini); the command line wins over the ini file, which wins over the default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from conformance.session import bounds as b
from conformance.session.addresses import split_addresses
from conformance.session.bounds import Bounds
from conformance.session.capabilities import Capabilities, load_capabilities
from conformance.session.database import check_location
from conformance.session.known_failing import load_known_failing
from conformance.session.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from conformance.session.replicas import EMBEDDED_COMMAND, split_pool

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
        "a first stdout line 'A,B,...' names the processes of a multi-process replica; "
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
        "--conformance-database",
        "conformance_database",
        "where Hypothesis keeps the examples it found: a directory, or redis://HOST:PORT/N, a Redis server that "
        "several runs share (a failure one run found is replayed first by every later run); for the deep "
        "profile; default: ARTIFACTS/hypothesis",
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
        "--conformance-deadline",
        "conformance_deadline",
        "seconds the whole run may take; then it stops with a verdict and its report "
        f"(default per profile: {', '.join(f'{p} {int(v)}' for p, v in b.DEADLINES.items())})",
    ),
    (
        "--conformance-max-response-bytes",
        "conformance_max_response_bytes",
        "largest response accepted, e.g. 16M; a larger one is a TRANS-6 violation "
        f"(default {b.fmt_size(b.MAX_RESPONSE_BYTES)})",
    ),
    (
        "--conformance-max-stream-responses",
        "conformance_max_stream_responses",
        f"responses held per stream; more is a TRANS-6 violation (default {b.MAX_STREAM_RESPONSES})",
    ),
    (
        "--conformance-max-stream-bytes",
        "conformance_max_stream_bytes",
        f"response bytes held per stream; more is a TRANS-6 violation (default {b.fmt_size(b.MAX_STREAM_BYTES)})",
    ),
    (
        "--conformance-quote-bytes",
        "conformance_quote_bytes",
        f"the most of any one message that verdicts and files quote (default {b.fmt_size(b.QUOTE_BYTES)})",
    ),
    (
        "--conformance-max-artifact-bytes",
        "conformance_max_artifact_bytes",
        f"bytes of failure artifacts and replica logs a run may write (default {b.fmt_size(b.MAX_ARTIFACT_BYTES)})",
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
_FLAGS: Final = (
    ("--conformance-strict", "conformance_strict", "SHOULD-level violations fail the run too"),
    (
        "--replica-fresh",
        "replica_fresh",
        "the replica at --replica-addr (or every one of --replica-pool) was freshly started and never "
        "received AllowWrites: the read-only tests (RO-1, RO-3) may run on it",
    ),
)
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
    """Did the user ask for a conformance run (so that bare `pytest --replica-addr X` runs the suite)?

    An option given empty (`--replica-addr ''`, an unset variable) counts: it is then a usage
    error, never a run of something else."""
    return any(config.getoption(name, default=None) is not None for name in ACTIVATING)


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
    bounds: Bounds = field(default_factory=Bounds)
    replica_fresh: bool = False  # --replica-fresh: the running replica(s) never received AllowWrites

    @property
    def owns_replicas(self) -> bool:
        """The suite starts (and may restart) its replicas itself."""
        return not (self.replica_addr or self.replica_pool)

    @property
    def command(self) -> str:
        return self.replica_cmd or EMBEDDED_COMMAND

    @property
    def knows_fresh(self) -> bool:
        """The suite knows its replica never received AllowWrites: it starts it, or the user says so."""
        return self.owns_replicas or self.replica_fresh

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


def artifacts_dir(config: pytest.Config) -> Path:
    """Where this run's artifacts go: `--conformance-artifacts` (default `conformance-artifacts`),
    or, for `--replay FILE`, its own folder under it, so that a replay never overwrites the report
    and the saved failures of the run it replays."""
    base = Path(raw(config, "--conformance-artifacts", "conformance_artifacts") or "conformance-artifacts").resolve()
    replay = config.getoption("replay", default=None)
    if replay:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(str(replay)).name.removesuffix(".json")).strip("-")
        return base / "replays" / (name or "replay")
    return base


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
        database = get("--conformance-database")
        if database is not None:
            if profile.derandomize:
                raise ValueError(
                    f"--conformance-database: the {profile.name} profile is derandomized (the same examples every "
                    "run), so it neither saves nor replays examples; use it with --conformance-profile deep"
                )
            if config.getoption("hypothesis_seed", default=None) is not None:
                raise ValueError(
                    "--conformance-database: Hypothesis uses no example database in a run given --hypothesis-seed; "
                    "drop one of the two"
                )
            profile = profile.with_overrides(database=check_location(database))
        bounds = _bounds(get, profile.name)
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
    strict = _flag(config, "conformance_strict")
    replay = config.getoption("replay", default=None)
    if replay is not None:
        _check_replay(Path(replay))
    runs = config.getoption("replay_runs", default=None)
    if runs is not None and runs <= 0:
        raise pytest.UsageError(f"--replay-runs must be a positive integer, got {runs}")
    scenarios = get("--conformance-scenarios")
    addr, pool, command = get("--replica-addr"), get("--replica-pool"), get("--replica-cmd")
    try:
        if addr is not None:
            addr = ",".join(split_addresses(addr, "--replica-addr", ","))
        if pool is not None:
            entries = split_pool(pool)
            if not entries:
                raise ValueError("--replica-pool is empty (an unset variable?); expected 'HOST:PORT;HOST:PORT;...'")
            pool = ";".join(",".join(split_addresses(e, "--replica-pool", ",")) for e in entries)
        if command is not None and not command.strip():
            raise ValueError("--replica-cmd is empty (an unset variable?); expected a command with {port}")
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None
    fresh = _flag(config, "replica_fresh")
    if fresh and not (addr or pool):
        raise pytest.UsageError(
            "--replica-fresh declares a replica you started (--replica-addr or --replica-pool); replicas the "
            "suite starts are fresh anyway"
        )
    return Settings(
        replica_addr=addr,
        replica_cmd=command,
        replica_pool=pool,
        profile=profile,
        tls_ca=Path(tls[0]) if tls[0] else None,
        tls_cert=Path(tls[1]) if tls[1] else None,
        tls_key=Path(tls[2]) if tls[2] else None,
        capabilities=caps,
        capabilities_file=Path(caps_file) if caps_file else None,
        known_failing=known,
        artifacts=artifacts_dir(config),
        scenarios=Path(scenarios) if scenarios else None,
        storage_listen=get("--storage-listen") or "127.0.0.1:0",
        storage_advertise=get("--storage-advertise"),
        strict=strict,
        replay=Path(replay) if replay is not None else None,
        replay_runs=runs if runs is not None else 3,
        storage_tls_cert=storage_tls[0],
        storage_tls_key=storage_tls[1],
        storage_tls_client_ca=storage_tls[2],
        bounds=bounds,
        replica_fresh=fresh,
    )


def _check_replay(path: Path) -> None:
    """A replay file that cannot be replayed is a usage error (one line), not a failed run."""
    from conformance.scenarios.format import ScenarioError, load_scenario

    if not str(path).strip():
        raise pytest.UsageError("--replay is empty (an unset variable?); expected a .replay.json file")
    try:
        load_scenario(path)
    except ScenarioError as e:
        raise pytest.UsageError(f"--replay: cannot replay {e}") from None


def _flag(config: pytest.Config, dest: str) -> bool:
    cli = config.getoption(dest, default=None)
    return bool(cli) if cli is not None else bool(config.getini(dest))


def _bounds(get: Callable[[str], str | None], profile: str) -> Bounds:
    def size(opt: str, default: int) -> int:
        value = get(opt)
        return b.parse_size(value, opt) if value is not None else default

    deadline = get("--conformance-deadline")
    count = _positive_int(get("--conformance-max-stream-responses"), "--conformance-max-stream-responses")
    return Bounds(
        deadline=b.parse_seconds(deadline, "--conformance-deadline")
        if deadline is not None
        else b.DEADLINES.get(profile, b.DEFAULT_DEADLINE),
        max_response_bytes=size("--conformance-max-response-bytes", b.MAX_RESPONSE_BYTES),
        max_stream_responses=count if count is not None else b.MAX_STREAM_RESPONSES,
        max_stream_bytes=size("--conformance-max-stream-bytes", b.MAX_STREAM_BYTES),
        quote_bytes=size("--conformance-quote-bytes", b.QUOTE_BYTES),
        max_artifact_bytes=size("--conformance-max-artifact-bytes", b.MAX_ARTIFACT_BYTES),
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
