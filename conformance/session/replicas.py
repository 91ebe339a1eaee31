"""Which replica each pytest worker talks to, and the lifecycle of replicas the suite starts.

A replica serves one controller stream at a time (TRANS-2), so every xdist worker needs its
own. Three ways to get one:

- `--replica-addr A[,B...]`: one running replica (comma-separated addresses form one
  multi-process replica). Only for a single worker: two workers would steal each other's
  stream.
- `--replica-pool A;B;...`: several running replicas; worker `gwI` takes the I-th.
- `--replica-cmd 'COMMAND {port}'` (default: the bundled reference replica): the suite starts
  one replica per worker (`{storage}` becomes the address of that replica's storage service,
  which the reference replica must be allowed to dial) with `subprocess.Popen` (fork+exec: never fork a process that
  already holds gRPC objects), captures its output to a per-worker log file, and stops it
  with SIGTERM, then SIGKILL after a bound.

A replica that dies is a verdict of its own ("replica died"), naming the exit status, the
last lines of its log and the log file; the run then stops (there is nothing left to test).
Its output is copied to the log through pipes, so that the artifact budget bounds the log
too: past it, only a count of what was left out and the last lines are written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from conformance.session.artifacts import ArtifactBudget

EMBEDDED_COMMAND: Final = "{python} -m reference_replica --listen 127.0.0.1:{port} --storage-allow {storage}"
_ADDRESS_RE: Final = re.compile(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")
_CHUNK: Final = 65536
_FIRST_LINE_MAX: Final = 4096  # bytes of stdout searched for the address line
LINE_GRACE: Final = 1.0  # seconds a replica that accepts on {port} has to print its addresses
TAIL_LINES: Final = 12  # log lines a death verdict quotes
TAIL_BYTES: Final = 2048


class ReplicaError(RuntimeError):
    """The replica could not be started or is gone; the message is the verdict to show."""


class ReplicaUsageError(ValueError):
    """An impossible combination of options (e.g. one --replica-addr for two workers)."""


def parse_address(text: str) -> str | None:
    """The last `host:port` in a line such as `listening on 127.0.0.1:4321`, or None; a line
    ending in a comma-separated list of them (`A,B,C`: a replica of several processes, process
    0 first, spec section 15) gives the whole list."""
    words = text.split()
    if words and "," in words[-1]:
        parts = words[-1].split(",")
        if all(_ADDRESS_RE.fullmatch(part) and parse_address(part) for part in parts):
            return ",".join(parts)
    matches = _ADDRESS_RE.findall(text)
    if not matches:
        return None
    host, port = matches[-1]
    return f"{host}:{port}" if 0 < int(port) < 65536 else None


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for commands that cannot bind port 0 and report it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _accepts(address: str, timeout: float = 0.2) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def worker_index(worker_id: str) -> int:
    """`gw3` -> 3; the controller process (no xdist) is worker 0."""
    m = re.fullmatch(r"gw(\d+)", worker_id)
    return int(m.group(1)) if m else 0


def split_pool(pool: str) -> list[str]:
    return [a.strip() for a in pool.split(";") if a.strip()]


def check_worker_assignment(*, addr: str | None, pool: str | None, workers: int) -> None:
    """Usage errors detected before any worker starts."""
    if addr and pool:
        raise ReplicaUsageError("--replica-addr and --replica-pool are exclusive; use one of them")
    if addr and workers > 1:
        raise ReplicaUsageError(
            f"--replica-addr names one replica, but {workers} xdist workers would share it and a replica "
            "serves one controller stream at a time (TRANS-2); give each worker its own replica with "
            "--replica-pool 'ADDR;ADDR;...' or --replica-cmd 'COMMAND {port}', or run without -n"
        )
    if pool:
        addresses = split_pool(pool)
        if len(addresses) < max(workers, 1):
            raise ReplicaUsageError(
                f"--replica-pool has {len(addresses)} address(es) for {max(workers, 1)} worker(s); "
                "every worker needs its own replica"
            )


def pool_address(pool: str, worker_id: str) -> str:
    addresses = split_pool(pool)
    i = worker_index(worker_id)
    if i >= len(addresses):
        raise ReplicaUsageError(f"--replica-pool has {len(addresses)} address(es); worker {worker_id} needs #{i + 1}")
    return addresses[i]


@dataclass
class ReplicaProcess:
    """One replica started by the suite from a command template."""

    template: str
    log_path: Path
    start_timeout: float = 30.0
    stop_timeout: float = 5.0
    env: dict[str, str] | None = None
    storage: str = ""  # substituted for {storage}: the storage service this replica is to dial
    budget: ArtifactBudget | None = None
    registry: Path | None = None  # a directory where the running process is noted (see `sweep`)
    address: str = ""
    argv: list[str] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _log_lock: threading.Lock = field(default_factory=threading.Lock)
    _first_line: str | None = None
    _line_seen: threading.Event = field(default_factory=threading.Event)
    _pumps: list[threading.Thread] = field(default_factory=list)
    _tail: deque[bytes] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    _left_out: int = 0  # bytes of output not written to the log (artifact budget spent)

    def start(self) -> str:
        """Start the process and return its address once it accepts connections."""
        # Without {port} the command picks its own (port 0) and must print its address.
        wants_port0 = self.template == EMBEDDED_COMMAND or "{port}" not in self.template
        port = 0 if wants_port0 else free_port()
        self.argv = [
            tok.format(python=sys.executable, port=port, storage=self.storage) for tok in shlex.split(self.template)
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._write(f"# {shlex.join(self.argv)}\n".encode())
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            raise ReplicaError(
                f"replica could not be started: cannot start replica command {shlex.join(self.argv)!r}: {e}"
            ) from None
        self._register()
        for name, pipe in (("stdout", self._proc.stdout), ("stderr", self._proc.stderr)):
            pump = threading.Thread(
                target=self._pump, args=(pipe, name == "stdout"), name=f"replica-{name}-{self._proc.pid}", daemon=True
            )
            pump.start()
            self._pumps.append(pump)
        self.address = self._await_address(port, wants_port0)
        return self.address

    def _register(self) -> None:
        """Note the process in the registry, so that `sweep` can stop it if this worker is killed
        before it could (xdist's controller kills its workers when it is interrupted)."""
        if self.registry is None or self._proc is None:
            return
        with contextlib.suppress(OSError):
            self.registry.mkdir(parents=True, exist_ok=True)
            (self.registry / str(self._proc.pid)).write_text(_cmdline(self._proc.pid) or shlex.join(self.argv))

    def _unregister(self) -> None:
        if self.registry is not None and self._proc is not None:
            with contextlib.suppress(OSError):
                (self.registry / str(self._proc.pid)).unlink()

    def _pump(self, pipe: IO[bytes] | None, stdout: bool) -> None:
        """Copy one output pipe to the log (so the pipe never fills), in chunks (a line may be
        endless), keeping the last lines for the death verdict; stdout's first line is the
        replica's address, if it prints one."""
        assert pipe is not None
        head = b""
        partial = b""
        while chunk := pipe.read1(_CHUNK) if hasattr(pipe, "read1") else pipe.read(_CHUNK):
            if stdout and self._first_line is None:
                head += chunk
                if b"\n" in head or len(head) >= _FIRST_LINE_MAX:
                    self._first_line = head.split(b"\n", 1)[0][:_FIRST_LINE_MAX].decode(errors="replace").strip()
                    self._line_seen.set()
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()[-TAIL_BYTES:]
            self._tail.extend(line[-TAIL_BYTES:] for line in lines)
            self._write(chunk)
        if partial:
            self._tail.append(partial)
        if stdout:
            self._line_seen.set()

    def _write(self, data: bytes) -> None:
        with self._log_lock:
            if self._log is None:
                return
            n = self.budget.take(len(data)) if self.budget is not None else len(data)
            self._left_out += len(data) - n
            with contextlib.suppress(ValueError, OSError):
                if n:
                    self._log.write(data[:n])
                self._log.flush()

    def log_tail(self) -> str:
        """The last lines the replica printed (bounded), for a verdict."""
        lines = [raw.decode(errors="replace").rstrip() for raw in list(self._tail)]
        text = " | ".join(line for line in lines if line and not line.startswith("# "))
        return text[-TAIL_BYTES:]

    def _await_address(self, port: int, needs_line: bool) -> str:
        deadline = time.monotonic() + self.start_timeout
        polled = f"127.0.0.1:{port}"
        while time.monotonic() < deadline:
            if self._first_line is not None:
                found = parse_address(self._first_line)
                if found is not None and (needs_line or _accepts(found)):
                    return found
            if not needs_line and port and _accepts(polled):
                # A replica of several processes prints them all as soon as process 0 listens:
                # a moment for that line, lest the suite take process 0 for the whole replica.
                self._line_seen.wait(LINE_GRACE)
                found = parse_address(self._first_line or "")
                return found if found is not None and "," in found else polled
            code = self.returncode()
            if code is not None:
                for pump in self._pumps:
                    pump.join(0.5)
                raise ReplicaError(
                    f"replica could not be started: it exited with code {code} before it accepted connections; "
                    f"{self.log_hint()}"
                )
            self._line_seen.wait(0.05)
        self.stop()
        what = "print its address on the first stdout line" if needs_line else f"accept connections on {polled}"
        raise ReplicaError(
            f"replica could not be started: it did not {what} within {self.start_timeout:g} s; {self.log_hint()}"
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_hint(self) -> str:
        tail = self.log_tail()
        return (f"its last output: {tail}; " if tail else "") + f"its log: {self.log_path}"

    def death_verdict(self) -> str | None:
        """None while the process runs; else the one-line verdict for every test that needed it."""
        code = self.returncode()
        if code is None:
            return None
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        for pump in self._pumps:  # its last words are in the pipes: let the pumps drain them
            pump.join(0.5)
        return f"replica died: process {self.pid} ({self.address}) {how}; {self.log_hint()}"

    def wait_exit(self, seconds: float) -> int | None:
        """The exit code if the process ends within `seconds` (a stream that broke because the
        process is dying shows that before the process has finished exiting)."""
        deadline = time.monotonic() + seconds
        while True:
            code = self.returncode()
            if code is not None or time.monotonic() >= deadline:
                return code
            time.sleep(0.02)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after `stop_timeout`; returns the exit code."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(self.stop_timeout)
        self._unregister()
        for pump in self._pumps:
            pump.join(self.stop_timeout)
        if proc is not None:
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        with self._log_lock:
            if self._log is not None:
                if self._left_out:
                    lines = b"\n".join(self._tail)
                    note = (
                        f"\n# {self._left_out} bytes of output left out (--conformance-max-artifact-bytes); "
                        "the last lines:\n"
                    )
                    with contextlib.suppress(OSError, ValueError):
                        self._log.write(note.encode() + lines + b"\n")
                self._log.close()
                self._log = None
        return None if proc is None else proc.returncode


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def sweep(registry: Path, grace: float = 3.0) -> list[str]:
    """Stop every replica process noted in `registry` that still runs (its worker was killed
    before it could stop it): SIGTERM to its process group, then SIGKILL after `grace`. A noted
    pid whose command line changed belongs to another process now, and is left alone."""
    stopped: list[str] = []
    try:
        notes = list(registry.iterdir())
    except OSError:
        return stopped
    for note in notes:
        with contextlib.suppress(OSError, ValueError):
            pid, cmdline = int(note.name), note.read_text()
            note.unlink()
            if _cmdline(pid) != cmdline:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
                stopped.append(f"{pid} ({cmdline})")
    deadline = time.monotonic() + grace
    for entry in stopped:
        pid = int(entry.split(" ", 1)[0])
        while time.monotonic() < deadline and _cmdline(pid):
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if _cmdline(pid):
                os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        registry.rmdir()
    return stopped
