"""What a step turns into: commands to send, storage changes to make, things to wait for.

The catalog (pure, no I/O) turns each step into a list of these; the StepRunner performs
them. Keeping the two apart lets the scenario loader validate a file by planning every step
without a replica, and lets the tests check the planning without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compute_protocol.v1 import command_pb2

from conformance.steps.plans import ColType
from conformance.wire.frontiers import Frontier
from conformance.wire.rows import Row


@dataclass(frozen=True)
class Send:
    command: command_pb2.ProtoComputeCommand


@dataclass(frozen=True)
class Connect:
    """End the current stream (if any) and open a new iteration: creation commands, then `replay`."""

    replay: tuple[command_pb2.ProtoComputeCommand, ...] = ()
    pause: float = 0.0  # seconds between CreateTimely and CreateInstance


@dataclass(frozen=True)
class CreateShard:
    shard_id: str
    columns: tuple[ColType, ...]
    upper: Frontier


@dataclass(frozen=True)
class Append:
    shard_id: str
    updates: tuple[tuple[Row, int, int], ...]
    upper: Frontier


@dataclass(frozen=True)
class AdvanceSince:
    shard_id: str
    since: int


@dataclass(frozen=True)
class WaitPeek:
    uuid: str
    name: str
    expect: dict[str, Any] | None = None


@dataclass(frozen=True)
class WaitFrontier:
    gid: str
    name: str
    kinds: tuple[str, ...]
    at_least: Frontier


@dataclass(frozen=True)
class WaitSubscribe:
    gid: str
    name: str
    at_least: Frontier


@dataclass(frozen=True)
class WaitCopyTo:
    gid: str
    name: str
    expect: dict[str, Any] | None = None


@dataclass(frozen=True)
class WaitShard:
    shard_id: str
    name: str
    at_least: Frontier


@dataclass(frozen=True)
class WaitQuiet:
    seconds: float


@dataclass(frozen=True)
class Settle:
    pass


Action = (
    Send
    | Connect
    | CreateShard
    | Append
    | AdvanceSince
    | WaitPeek
    | WaitFrontier
    | WaitSubscribe
    | WaitCopyTo
    | WaitShard
    | WaitQuiet
    | Settle
)


@dataclass
class Planned:
    """A step's actions, and the step as it should be recorded (e.g. the peeks a reconnect re-sent)."""

    actions: list[Action] = field(default_factory=list)
    recorded: dict[str, Any] = field(default_factory=dict)
