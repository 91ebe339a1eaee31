"""What the controller has told the replica, and what each stream has answered so far.

Three scopes, matching the spec's: the replica (knowledge that survives reconnects: whether it
is writable, which ids and uuids earlier iterations used), the protocol iteration (the commands
of one epoch: stage, dataflows, collections, peeks, configuration) and the stream (one process
of an iteration: the responses it sent). A single-process replica has one stream per
iteration; a multi-process replica has one per process, all judged on their own (MULTI-2).
"""

from __future__ import annotations

import bisect
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Literal

from compute_protocol.v1 import command_pb2, dataflow_pb2

from conformance.history import Epoch, StreamEnd
from conformance.oracle.config import ConfigTimeline
from conformance.oracle.describe import Line
from conformance.oracle.model_api import ModelLike
from conformance.wire.frontiers import EMPTY, Frontier
from conformance.wire.ids import GlobalId, PeekId
from conformance.wire.rows import Row

CollectionKind = Literal["index", "mv", "subscribe", "copy_to"]
FrontierKind = Literal["write", "input", "output"]
FRONTIER_KINDS: tuple[FrontierKind, ...] = ("write", "input", "output")


@dataclass
class Dataflow:
    desc: dataflow_pb2.ProtoDataflowDescription
    as_of: int
    until: Frontier  # EMPTY when unbounded
    exports: list[GlobalId]
    index_imports: list[GlobalId]
    source_shards: list[str]
    seq: int


@dataclass
class Collection:
    """An export of a dataflow: an index, or a materialized-view, subscribe or copy-to sink."""

    id: GlobalId
    kind: CollectionKind
    dataflow: Dataflow
    seq: int
    carried_over: bool = False
    scheduled_seq: int | None = None
    dropped_seq: int | None = None
    dropped_time: float = 0.0
    compaction: Frontier = 0
    compactions: list[tuple[int, Frontier]] = field(default_factory=list)
    key_columns: tuple[int, ...] = ()  # index
    # sink specifics
    target_shard: str = ""
    with_snapshot: bool = False
    up_to: Frontier = EMPTY
    blob_key: str = ""

    @property
    def as_of(self) -> int:
        return self.dataflow.as_of

    @property
    def until(self) -> Frontier:
        return self.dataflow.until

    @property
    def live(self) -> bool:
        return self.dropped_seq is None

    def compaction_at(self, seq: int) -> Frontier:
        """The latest compaction frontier sent before event `seq`."""
        value = 0
        for s, f in self.compactions:
            if s < seq:
                value = f
        return value


@dataclass
class Peek:
    uuid: PeekId
    cmd: command_pb2.ProtoPeek
    t: int
    seq: int
    time: float
    target: GlobalId
    persist_shard: str
    since: int
    cancel_seq: int | None = None
    final_seq: int | None = None  # when the target's contents at t became final


@dataclass
class Chain:
    """One subscribe's batches on one stream."""

    upper: Frontier = 0
    batches: int = 0
    errored: bool = False
    finished: bool = False
    dropped_at: bool = False
    last_seq: int = 0
    content_checked: bool = True  # false once content can no longer be judged (after an error)
    updates: list[tuple[int, Row, int]] = field(default_factory=list)


@dataclass
class MergedChain:
    """One subscribe's batches merged over the processes of a multi-process iteration (spec
    15): the meet of the processes' chain uppers, up to which the merged contents were judged."""

    upper: Frontier = 0
    checked: bool = True  # false once the merge is an error or can no longer be judged


@dataclass
class StreamState:
    name: str
    iteration: Iteration
    address: str
    opened: float
    process: int = 0
    ended: StreamEnd | None = None
    superseded: bool = False
    probed: str = ""  # the label of the last robustness probe sent on this stream
    probe_rule: str = ""  # the robustness rule that probe tests (check_probes), if any
    probe_kind: str = ""  # the kind of the probing command
    probe_ids: set[str] = field(default_factory=set)  # ids/uuids a TRANS-5 probe named
    probe_acceptable: bool = False  # the probed command may also be accepted (the stream then stays open)
    writable_before_probe: tuple[bool, int | None, int | None] | None = None  # restored if the probe is refused
    after_probe: str = ""  # a probe ended the previous iteration: this stream shows it is served
    recent: deque[Line] = field(default_factory=lambda: deque(maxlen=12))  # formatted when quoted
    received: Counter[str] = field(default_factory=Counter)  # responses by kind ("what arrived", summarized)
    frontiers: dict[tuple[GlobalId, FrontierKind], Frontier] = field(default_factory=dict)
    peek_answers: dict[PeekId, tuple[str, int]] = field(default_factory=dict)
    peek_rows: dict[PeekId, dict[Row, int]] = field(default_factory=dict)  # multi-process: the share
    chains: dict[GlobalId, Chain] = field(default_factory=dict)
    copy_answers: dict[GlobalId, str] = field(default_factory=dict)
    copy_rows: dict[GlobalId, dict[Row, int]] = field(default_factory=dict)  # multi-process: the share written
    hydration: dict[tuple[GlobalId, int, int], bool] = field(default_factory=dict)
    evidence: list[tuple[int, int]] = field(default_factory=list)

    def processed(self, seq: int, command_seq: int) -> None:
        """The response at `seq` proves the replica had processed the command at `command_seq`."""
        if not self.evidence or command_seq > self.evidence[-1][1]:
            self.evidence.append((seq, command_seq))

    def processed_before(self, seq: int) -> int:
        """The latest command that responses received before event `seq` prove processed (0: none).

        Commands travel in order on one stream but storage on another, so this, not the time a
        command was sent, bounds which configuration the replica can have been using.
        """
        i = bisect.bisect_left(self.evidence, (seq, -1))
        return self.evidence[i - 1][1] if i > 0 else 0

    def chain(self, sub: GlobalId) -> Chain:
        return self.chains.setdefault(sub, Chain())

    def finished(self, c: Collection) -> bool:
        """STATUS-1's notion of a collection this stream has finished reporting on."""
        if c.kind in ("index", "mv"):
            return all(self.frontiers.get((c.id, k)) == EMPTY for k in FRONTIER_KINDS)
        if c.kind == "subscribe":
            ch = self.chains.get(c.id)
            return ch is not None and (ch.finished or ch.dropped_at)
        return c.id in self.copy_answers


@dataclass
class Iteration:
    """One protocol iteration: every stream opened with one epoch."""

    epoch: Epoch
    number: int
    model: ModelLike
    streams: list[StreamState] = field(default_factory=list)
    timely_sent: set[str] = field(default_factory=set)
    instance_seq: int | None = None
    init_seq: int | None = None
    init_time: float = 0.0
    allow_writes_seq: int | None = None
    config: ConfigTimeline = field(default_factory=ConfigTimeline)
    dataflows: list[Dataflow] = field(default_factory=list)
    collections: dict[GlobalId, Collection] = field(default_factory=dict)
    built: set[GlobalId] = field(default_factory=set)
    peeks: dict[PeekId, Peek] = field(default_factory=dict)
    merged_chains: dict[GlobalId, MergedChain] = field(default_factory=dict)  # multi-process subscribes
    unsettled_peeks: dict[PeekId, Peek] = field(default_factory=dict)  # refresh's work list (check_peeks)
    timely_config: bytes = b""
    instance_config: bytes = b""

    @property
    def init_complete(self) -> bool:
        return self.init_seq is not None

    def dataflow_scheduled(self, df: Dataflow) -> int | None:
        """The seq at which `df` and every dataflow it imports from were all scheduled (DF-2)."""
        latest = 0
        for gid in df.exports:
            s = self.collections[gid].scheduled_seq
            if s is None:
                return None
            latest = max(latest, s)
        for imp in df.index_imports:
            c = self.collections.get(imp)
            if c is None:
                continue
            s = self.dataflow_scheduled(c.dataflow)
            if s is None:
                return None
            latest = max(latest, s)
        return latest

    def ready(self, c: Collection) -> bool:
        """Obligations about `c` may be due: initialization is complete and its dataflow runs."""
        return self.init_complete and self.dataflow_scheduled(c.dataflow) is not None


@dataclass
class ReplicaKnowledge:
    """What holds across every iteration of the replica a history talks about."""

    writable: bool = False
    writable_seq: int | None = None
    writable_iteration: int | None = None  # None: made writable outside this history
    earlier_ids: set[GlobalId] = field(default_factory=set)
    earlier_uuids: set[PeekId] = field(default_factory=set)
    timely_config: bytes = b""
    instance_config: bytes = b""
    last_epoch: Epoch | None = None
    mv_targets_ever: set[str] = field(default_factory=set)
    copy_to_blobs_ever: set[str] = field(default_factory=set)  # blob keys of copy-tos of any iteration
    after_probe: str = ""  # the rule of a probe whose stream ended; the next iteration must be served
