"""Everything one pytest worker owns for the suite: its replica(s), the storage service,
fresh-id counters, and the per-rule results it ships to the controller process.

Resources start lazily, on the first suite test that needs them, so that a pytest run that
collects no suite test never starts a replica (the plugin stays inert).
"""

from __future__ import annotations

import atexit
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.report.results import RunResults
from conformance.session.options import Settings
from conformance.session.replicas import ReplicaError, ReplicaProcess, free_port, pool_address, worker_index
from conformance.steps.catalog import Ids


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

    @property
    def address(self) -> str:
        return ",".join(self.addresses)

    def death_verdict(self) -> str | None:
        """Why this replica can no longer be tested (its process died, or it cannot be reached)."""
        if self.process is not None and (verdict := self.process.death_verdict()) is not None:
            return verdict
        return self.unreachable


@dataclass
class WorkerContext:
    settings: Settings
    worker_id: str = "main"
    results: RunResults = field(default_factory=RunResults)
    ids: Ids = field(default_factory=Ids)
    _harnesses: list[Any] = field(default_factory=list)
    _main: ReplicaTarget | None = None
    _extra: list[ReplicaTarget] = field(default_factory=list)
    _started: list[ReplicaProcess] = field(default_factory=list)
    _startup_error: str | None = None

    def __post_init__(self) -> None:
        self.ids = Ids(prefix=f"{self.ids.prefix}-{self.worker_id}")
        atexit.register(self.close)  # a crashed session still stops the replicas it started

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
        harness = StorageHarness(listen=listen, advertise=advertise)
        harness.start()
        self._harnesses.append(harness)
        return harness

    # ---- replicas ----

    def replica(self) -> ReplicaTarget:
        """This worker's replica; raises ReplicaError with the verdict if it cannot be had or died."""
        if self._startup_error is not None:
            raise ReplicaError(self._startup_error)
        if self._main is None:
            try:
                self._main = self._obtain()
            except ReplicaError as e:
                self._startup_error = str(e)
                raise
            self._main.storage = self.start_storage()
            self.results.targets.append(self._main.description)
        verdict = self._main.death_verdict()
        if verdict is not None:
            if verdict not in self.results.replica_deaths:
                self.results.replica_deaths.append(verdict)
            raise ReplicaError(verdict)
        return self._main

    def fresh_replica(self, purpose: str) -> ReplicaTarget:
        """A new replica process that has never seen AllowWrites (only when the suite owns replicas)."""
        if not self.settings.owns_replicas:
            raise ReplicaError("the suite does not start replicas with --replica-addr/--replica-pool")
        n = len(self._extra) + 1
        target = self._start(f"replica-{self.worker_id}-{purpose}-{n}.log", purpose)
        target.storage = self.start_storage()
        self._extra.append(target)
        return target

    def release(self, target: ReplicaTarget) -> None:
        """Stop a replica from fresh_replica() once its test is done (the main one lives on)."""
        if target.process is not None and target in self._extra:
            _close_target(target)
            target.process.stop()
            self._extra.remove(target)

    def _obtain(self) -> ReplicaTarget:
        s = self.settings
        if s.replica_addr:
            return ReplicaTarget([a.strip() for a in s.replica_addr.split(",")], f"--replica-addr {s.replica_addr}")
        if s.replica_pool:
            addr = pool_address(s.replica_pool, self.worker_id)
            return ReplicaTarget(
                [a.strip() for a in addr.split(",")], f"pool replica #{worker_index(self.worker_id)} {addr}"
            )
        return self._start(f"replica-{self.worker_id}.log", "main")

    def _start(self, log_name: str, purpose: str) -> ReplicaTarget:
        proc = ReplicaProcess(self.settings.command, self.artifacts / log_name)
        self._started.append(proc)
        address = proc.start()
        what = "embedded reference replica" if self.settings.replica_cmd is None else "replica"
        return ReplicaTarget([address], f"{what} {address} (pid {proc.pid}, {purpose})", proc)

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
