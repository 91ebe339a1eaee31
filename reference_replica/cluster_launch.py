"""Starting the other processes of a replica of several (`--processes N`, spec section 15).

Process 0 starts processes 1 to N-1 as children with the same options, each told its index
and its address: the port after the previous process's, or any free port when process 0's is
0. A child prints its address on its first stdout line, like any replica; its stdin is process
0's channel to it (`cluster.Link`), so when process 0 ends, for whatever reason, the children
see the end of the channel and stop on their own. Process 0 also stops them when it stops:
SIGTERM, then SIGKILL after a bound.
"""

from __future__ import annotations

import contextlib
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Final

from reference_replica import addresses
from reference_replica.cluster import Link

STOP_SECONDS: Final = 5.0
START_SECONDS: Final = 60.0  # for every other process to print its address (a loaded machine is slow)


class LaunchError(RuntimeError):
    pass


@dataclass
class Members:
    """The children of process 0: their processes, addresses and channels."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def stop(self) -> None:
        for link in self.links:
            link.close()
        for proc in self.processes:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(STOP_SECONDS)


def member_listen(listen: str, index: int) -> str:
    """Process `index`'s listening address: process 0's port plus `index` (0 stays 0)."""
    split = addresses.split(listen)
    if split is None:
        raise LaunchError(f"--listen {listen!r} is not HOST:PORT")
    host, port = split
    if port and port + index >= 65536:
        raise LaunchError(f"--listen {listen!r}: no port left for process {index}")
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port + index if port else 0}"


def start_followers(argv: list[str], listen: str, processes: int) -> Members:
    """Start processes 1..N-1 with `argv` (process 0's own options) and wait for their addresses."""
    members = Members()
    deadline = time.monotonic() + START_SECONDS
    try:
        for index in range(1, processes):  # all started before any is waited for: they start in parallel
            command = [sys.executable, "-m", "reference_replica", *argv]
            command += ["--process", str(index), "--listen", member_listen(listen, index)]
            members.processes.append(subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        for index, proc in enumerate(members.processes, start=1):
            assert proc.stdout is not None and proc.stdin is not None
            line = _first_line(proc.stdout, deadline)
            if line is None:
                raise LaunchError(f"process {index} of the replica printed no address within {START_SECONDS:g} s")
            if not line:
                code = proc.wait(STOP_SECONDS)
                raise LaunchError(f"process {index} of the replica exited with code {code} before it listened")
            members.addresses.append(line)
            members.links.append(Link(proc.stdin, f"process-{index}"))
    except BaseException:
        members.stop()
        raise
    return members


def _first_line(pipe: IO[bytes], deadline: float) -> str | None:
    """The first line a child prints ("" if it exited first), or None past `deadline`."""
    with selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        if not selector.select(max(0.0, deadline - time.monotonic())):
            return None
    return pipe.readline().decode(errors="replace").strip()
