"""Everything one pytest worker owns for the suite: its replica(s), the storage service,
fresh-id counters, and the per-rule results it ships to the controller process.

Resources start lazily, on the first suite test that needs them, so that a pytest run that
collects no suite test never starts a replica (the plugin stays inert).
"""

from __future__ import annotations

import atexit
import contextlib
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis.configuration import set_hypothesis_home_dir

from conformance import quotes
from conformance.driver.limits import Limits
from conformance.report.results import RunResults
from conformance.session.artifacts import ArtifactBudget
from conformance.session.options import Settings
from conformance.session.replicas import ReplicaError, ReplicaProcess, free_port, pool_address, worker_index
from conformance.steps.catalog import Ids

REGISTRY = ".replicas"  # under the artifacts: the replica processes running (see replicas.sweep)
EXIT_GRACE = 1.0
"""Seconds a stream that broke gets for its replica process to finish exiting: the socket
closes a moment before the exit status exists."""


@dataclass
class ReplicaTarget:
    """One replica as the driver sees it: its address(es), its process when the suite owns it,
    and its own storage service (so every replica write the storage sees is this replica's)."""

    addresses: list[str]
    description: str
    process: ReplicaProcess | None = None
    writable: bool = False  # AllowWrites was sent to it in this session (it is permanent: RO-2)
    tainted: bool = False  # it may have become writable in a way we did not see
    storage: Any = None  # StorageHarness, started with the target
    driver: Any = None  # conformance.driver.Replica, created on first use
    unreachable: str | None = None  # why the driver could not connect (later tests fail fast)
    silent: str | None = None  # it never answered anything although answers were owed

    @property
    def address(self) -> str:
        return ",".join(self.addresses)

    def death_verdict(self) -> str | None:
        """Why this replica can no longer be tested (its process died, it cannot be reached, it
        vanished under a stream, or it never answers), or None."""
        if self.process is not None and (verdict := self.process.death_verdict()) is not None:
            return verdict
        gone = getattr(self.driver, "gone", "") if self.driver is not None else ""
        return self.unreachable or gone or self.silent

    def process_died(self) -> bool:
        """The suite's own process for it exited (as opposed to: unreachable, silent, not a replica)."""
        return self.process is not None and self.process.returncode() is not None

    def gone_check(self, code: str) -> str | None:
        """For the driver: after a stream ended with `code` on the replica's side, is the replica gone?"""
        received = getattr(self.driver, "received", 1) if self.driver is not None else 1
        if code == "UNIMPLEMENTED" and not received:
            return f"replica does not serve the compute protocol: {self.description} answered UNIMPLEMENTED"
        if self.process is not None:
            # A dying process shows as a broken connection (UNAVAILABLE) a moment before its exit
            # status exists; any other end is the replica's own decision, made while alive.
            if self.process.wait_exit(EXIT_GRACE if code == "UNAVAILABLE" else 0.0) is not None:
                return self.process.death_verdict()
            return None
        if code == "UNAVAILABLE":
            refusing = [a for a in self.addresses if not _accepts(a)]
            if refusing:
                return (
                    f"replica unreachable: {', '.join(refusing)} refuses connections since the stream ended "
                    f"({code}); did the replica process die? ({self.description})"
                )
        return None


@dataclass
class WorkerContext:
    settings: Settings
    worker_id: str = "main"
    results: RunResults = field(default_factory=RunResults)
    ids: Ids = field(default_factory=Ids)
    started: float = field(default_factory=time.monotonic)  # the session's start: the deadline counts from it
    workers: int = 1  # xdist workers sharing the artifact budget
    budget: ArtifactBudget | None = None
    judged: dict[str, str] = field(default_factory=dict)  # node id -> how its failure counts (failures.judged)
    _harnesses: list[Any] = field(default_factory=list)
    _main: ReplicaTarget | None = None
    _extra: list[ReplicaTarget] = field(default_factory=list)
    _started: list[ReplicaProcess] = field(default_factory=list)
    _startup_error: str | None = None

    def __post_init__(self) -> None:
        self.ids = Ids(prefix=f"{self.ids.prefix}-{self.worker_id}")
        if self.budget is None:
            self.budget = ArtifactBudget(self.settings.bounds.max_artifact_bytes // max(1, self.workers))
        quotes.set_limit(self.settings.bounds.quote_bytes)
        # Hypothesis caches what it learns (constants, ...) under its home directory, by default
        # .hypothesis/ in the working directory: keep it with the run's other files.
        set_hypothesis_home_dir(self.artifacts / "hypothesis-home")
        atexit.register(self.close)  # a crashed session still stops the replicas it started

    @property
    def deadline_at(self) -> float:
        return self.started + self.settings.bounds.deadline

    def limits(self) -> Limits:
        return self.settings.bounds.limits(self.deadline_at)

    def problem(self) -> str | None:
        """Why this worker's main replica can no longer be tested, once it cannot (fail-fast)."""
        if self._startup_error is not None:
            return self._startup_error
        return self._main.death_verdict() if self._main is not None else None

    @property
    def artifacts(self) -> Path:
        return self.settings.artifacts

    # ---- storage ----

    def start_storage(self) -> Any:
        """A storage service (StorageHarness) for one replica target."""
        from conformance.storage import StorageHarness

        listen, advertise = self.settings.storage_listen, self.settings.storage_advertise
        if advertise and ":" not in advertise:
            host, _, port = listen.rpartition(":")
            if port == "0":
                port = str(free_port(host if host not in ("", "0.0.0.0") else "127.0.0.1"))
                listen = f"{host}:{port}"
            advertise = f"{advertise}:{port}"
        harness = StorageHarness(listen=listen, advertise=advertise, tls=self._storage_credentials())
        harness.start()
        self._harnesses.append(harness)
        return harness

    def _storage_credentials(self) -> Any:
        """grpc.ServerCredentials when the storage service is to speak TLS (`--storage-tls-*`)."""
        s = self.settings
        if s.storage_tls_cert is None or s.storage_tls_key is None:
            return None
        import grpc

        roots = s.storage_tls_client_ca.read_bytes() if s.storage_tls_client_ca else None
        return grpc.ssl_server_credentials(
            [(s.storage_tls_key.read_bytes(), s.storage_tls_cert.read_bytes())],
            root_certificates=roots,
            require_client_auth=roots is not None,
        )

    # ---- replicas ----

    def replica(self) -> ReplicaTarget:
        """This worker's replica; raises ReplicaError with the verdict if it cannot be had or died."""
        if self._startup_error is not None:
            raise ReplicaError(self._startup_error)
        if self._main is None:
            storage = self.start_storage()  # first: a replica the suite starts is told its address
            try:
                self._main = self._obtain(storage.address)
            except ReplicaError as e:
                self._startup_error = str(e)
                self.results.add_replica_problem(str(e))
                raise
            self._main.storage = storage
            self.results.targets.append(self._main.description)
        verdict = self._main.death_verdict()
        if verdict is not None:
            self.results.add_replica_problem(verdict)
            raise ReplicaError(verdict)
        return self._main

    def fresh_replica(self, purpose: str) -> ReplicaTarget:
        """A new replica process that has never seen AllowWrites (only when the suite owns replicas)."""
        if not self.settings.owns_replicas:
            raise ReplicaError("the suite does not start replicas with --replica-addr/--replica-pool")
        n = len(self._extra) + 1
        storage = self.start_storage()
        target = self._start(f"replica-{self.worker_id}-{purpose}-{n}.log", purpose, storage.address)
        target.storage = storage
        self._extra.append(target)
        return target

    def release(self, target: ReplicaTarget) -> None:
        """Stop a replica from fresh_replica() once its test is done (the main one lives on)."""
        if target.process is not None and target in self._extra:
            _close_target(target)
            target.process.stop()
            self._extra.remove(target)

    def _obtain(self, storage: str) -> ReplicaTarget:
        s = self.settings
        if s.replica_addr:
            return ReplicaTarget([a.strip() for a in s.replica_addr.split(",")], f"--replica-addr {s.replica_addr}")
        if s.replica_pool:
            addr = pool_address(s.replica_pool, self.worker_id)
            return ReplicaTarget(
                [a.strip() for a in addr.split(",")], f"pool replica #{worker_index(self.worker_id)} {addr}"
            )
        return self._start(f"replica-{self.worker_id}.log", "main", storage)

    def _start(self, log_name: str, purpose: str, storage: str) -> ReplicaTarget:
        from conformance.driver.preflight import check_address

        limits = self.limits()
        limits.check(f"starting a replica ({purpose})")
        proc = ReplicaProcess(
            self.settings.command,
            self.artifacts / log_name,
            start_timeout=limits.bound(30.0),
            budget=self.budget,
            registry=self.artifacts / REGISTRY,
            storage=storage,
        )
        self._started.append(proc)
        address = proc.start()
        what = "embedded reference replica" if self.settings.replica_cmd is None else "replica"
        # It listens; does it speak gRPC (and the TLS the suite will use)? A command that starts
        # something else gets one line, not a run of failing tests.
        problem = check_address(address, self.tls(), timeout=limits.bound(5.0), service=False)
        if problem is not None:
            proc.stop()
            raise ReplicaError(f"replica could not be started: {address} (pid {proc.pid}): {problem}")
        return ReplicaTarget([address], f"{what} {address} (pid {proc.pid}, {purpose})", proc)

    def tls(self) -> Any:
        """The driver's TlsConfig for the replicas, or None (plaintext)."""
        from conformance.session.preflight import tls_of

        return tls_of(self.settings)

    def close(self) -> None:
        for target in [*self._extra, *([self._main] if self._main else [])]:
            _close_target(target)
        for proc in self._started:
            with contextlib.suppress(Exception):
                proc.stop()
        self._started.clear()
        for harness in self._harnesses:
            with contextlib.suppress(Exception):
                harness.stop()
        self._harnesses.clear()
        atexit.unregister(self.close)


def _close_target(target: ReplicaTarget) -> None:
    """Close the driver's streams and channels (as the controller), then the target's storage."""
    if target.driver is not None:
        with contextlib.suppress(Exception):
            target.driver.close()
        target.driver = None
    if target.storage is not None:
        with contextlib.suppress(Exception):
            target.storage.stop()


def _accepts(address: str, timeout: float = 0.5) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False
