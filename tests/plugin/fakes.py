"""A backend that talks to no replica: it records what the StepRunner asked for and answers
every wait at once. Enough to test step planning and generation without a replica."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from compute_protocol.v1 import command_pb2

from conformance.steps.backend import CopyToAnswer, Finding, PeekAnswer
from conformance.steps.plans import ColType
from conformance.wire.frontiers import Frontier
from conformance.wire.rows import Row


@dataclass
class FakeBackend:
    calls: list[tuple[str, object]] = field(default_factory=list)
    pending_findings: list[Finding] = field(default_factory=list)
    peek_answer: PeekAnswer = field(default_factory=lambda: PeekAnswer("rows"))
    closed: bool = False

    def connect(self, replay: Sequence[command_pb2.ProtoComputeCommand], pause: float = 0.0) -> None:
        self.calls.append(("connect", [c.WhichOneof("kind") for c in replay]))

    def send(self, cmd: command_pb2.ProtoComputeCommand) -> None:
        self.calls.append(("send", cmd.WhichOneof("kind")))

    def create_shard(self, shard_id: str, columns: Sequence[ColType], upper: Frontier) -> None:
        self.calls.append(("create_shard", shard_id))

    def append(self, shard_id: str, updates: Sequence[tuple[Row, int, int]], upper: Frontier) -> None:
        self.calls.append(("append", (shard_id, len(updates), upper)))

    def advance_since(self, shard_id: str, since: int) -> None:
        self.calls.append(("advance_since", (shard_id, since)))

    def wait_peek(self, uuid: str, name: str) -> PeekAnswer:
        self.calls.append(("wait_peek", name))
        return self.peek_answer

    def wait_frontier(self, gid: str, name: str, kinds: Sequence[str], at_least: Frontier) -> None:
        self.calls.append(("wait_frontier", (name, tuple(kinds), at_least)))

    def wait_subscribe(self, gid: str, name: str, at_least: Frontier) -> None:
        self.calls.append(("wait_subscribe", (name, at_least)))

    def wait_copy_to(self, gid: str, name: str) -> CopyToAnswer:
        self.calls.append(("wait_copy_to", name))
        return CopyToAnswer("rows", 0)

    def wait_shard(self, shard_id: str, name: str, at_least: Frontier) -> None:
        self.calls.append(("wait_shard", name))

    def wait_quiet(self, seconds: float) -> None:
        self.calls.append(("wait_quiet", seconds))

    def settle(self) -> None:
        self.calls.append(("settle", None))

    def findings(self) -> list[Finding]:
        out, self.pending_findings = self.pending_findings, []
        return out

    def exercised(self) -> Counter[str]:
        return Counter({"PEEK-1": 1}) if self.calls else Counter()

    def close(self) -> None:
        self.closed = True

    def ops(self) -> list[str]:
        return [c[0] if c[0] != "send" else f"send:{c[1]}" for c in self.calls]
