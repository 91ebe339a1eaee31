"""What the StepRunner needs from the outside world: a replica stream, the storage service,
bounded waits and the oracle's findings.

`DriverBackend` (conformance.steps.driver_backend) implements it over the suite's driver;
tests implement it with fakes. Keeping the runner on this narrow interface keeps the step
semantics readable in one place and independent of transport details.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from compute_protocol.v1 import command_pb2

from conformance.steps.plans import ColType
from conformance.wire.frontiers import Frontier
from conformance.wire.rows import Row


@dataclass(frozen=True)
class Finding:
    """A violation (or a SHOULD-level warning) found by the oracle, rule id first in `text`."""

    rule_id: str
    level: str  # MUST or SHOULD
    text: str


@dataclass(frozen=True)
class PeekAnswer:
    kind: str  # rows, error or canceled
    rows: tuple[tuple[Row, int], ...] = ()
    error: str = ""


@dataclass(frozen=True)
class CopyToAnswer:
    kind: str  # rows, error or dropped
    count: int = 0
    error: str = ""


class WaitFailed(Exception):
    """A wait ended without its condition: what was awaited, for which id, and what arrived instead.

    When the oracle owed-obligation behind it expired, the oracle reports the liveness
    violation separately; this exception then only explains the wait."""


class Backend(Protocol):
    def connect(self, replay: Sequence[command_pb2.ProtoComputeCommand], pause: float = 0.0) -> None: ...
    def send(self, cmd: command_pb2.ProtoComputeCommand) -> None: ...
    def create_shard(self, shard_id: str, columns: Sequence[ColType], upper: Frontier) -> None: ...
    def append(self, shard_id: str, updates: Sequence[tuple[Row, int, int]], upper: Frontier) -> None: ...
    def advance_since(self, shard_id: str, since: int) -> None: ...
    def wait_peek(self, uuid: str, name: str) -> PeekAnswer: ...
    def wait_frontier(self, gid: str, name: str, kinds: Sequence[str], at_least: Frontier) -> None: ...
    def wait_subscribe(self, gid: str, name: str, at_least: Frontier) -> None: ...
    def wait_copy_to(self, gid: str, name: str) -> CopyToAnswer: ...
    def wait_shard(self, shard_id: str, name: str, at_least: Frontier) -> None: ...
    def wait_quiet(self, seconds: float) -> None: ...
    def settle(self) -> None: ...
    def findings(self) -> list[Finding]:
        """New violations and warnings since the last call (the oracle's verdicts, in order)."""
        ...

    def exercised(self) -> Counter[str]:
        """Rule checks run since the last call, by rule id (for the coverage report)."""
        ...

    def close(self) -> None: ...


class NullBackend:
    """Sends nothing and answers every wait at once: the runner only plans (a dry run)."""

    def connect(self, replay: Sequence[command_pb2.ProtoComputeCommand], pause: float = 0.0) -> None:
        pass

    def send(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        pass

    def create_shard(self, shard_id: str, columns: Sequence[ColType], upper: Frontier) -> None:
        pass

    def append(self, shard_id: str, updates: Sequence[tuple[Row, int, int]], upper: Frontier) -> None:
        pass

    def advance_since(self, shard_id: str, since: int) -> None:
        pass

    def wait_peek(self, uuid: str, name: str) -> PeekAnswer:
        return PeekAnswer("canceled")

    def wait_frontier(self, gid: str, name: str, kinds: Sequence[str], at_least: Frontier) -> None:
        pass

    def wait_subscribe(self, gid: str, name: str, at_least: Frontier) -> None:
        pass

    def wait_copy_to(self, gid: str, name: str) -> CopyToAnswer:
        return CopyToAnswer("dropped")

    def wait_shard(self, shard_id: str, name: str, at_least: Frontier) -> None:
        pass

    def wait_quiet(self, seconds: float) -> None:
        pass

    def settle(self) -> None:
        pass

    def findings(self) -> list[Finding]:
        return []

    def exercised(self) -> Counter[str]:
        return Counter()

    def close(self) -> None:
        pass
