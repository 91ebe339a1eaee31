"""The event family shared by the live run and the offline checker, and its JSON-lines form.

Everything the oracle judges is one of these events, in sequence order: the live driver records
them as they happen (and feeds the same objects to the oracle), and `python -m conformance check
HISTORY` reads them back and feeds them to a fresh oracle. Because the oracle learns the time
only from event timestamps, both runs reach the same verdicts, liveness ones included.

Commands and responses are stored twice: as `google.protobuf.json_format` JSON, for people
(it round-trips every field, frontier presence included), and as `wire`, the message's
protobuf encoding in base64, which is what the reader decodes: exactly the bytes' content
(fields this suite does not know included), and at C speed, where parsing the JSON back into
a message costs ten times reading the line (`bench/suite_overhead.py`). A line without `wire`
(a history written by hand, or by format 1) is decoded from its JSON; to edit a recorded
message by hand, edit its JSON and delete its `wire`. Storage events carry rows as
`[kind, value]` pairs. The writer appends and flushes one line per event, so a crash loses at
most the line being written, and the reader skips a torn last line.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Final, TypeAlias

from compute_protocol.v1 import command_pb2, response_pb2
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from conformance.storage import StorageEvent
from conformance.wire.rows import Datum, Row, datum

Epoch: TypeAlias = tuple[int, int]
"""A `ProtoClusterStartupEpoch` as `(envd, replica)`, ordered like the spec orders epochs."""

FORMAT = "compute-conformance-history/2"
READABLE_FORMATS = (FORMAT, "compute-conformance-history/1")  # 1: the same lines without `wire`


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event: `seq` orders events, `time` is `time.monotonic()` at recording."""

    TYPE: ClassVar[str] = ""
    seq: int = 0
    time: float = 0.0


@dataclass(frozen=True, kw_only=True)
class StreamOpen(Event):
    """The controller opened a stream (one process of one protocol iteration).

    `patience` is the liveness budget in seconds the live run used, so that the offline check
    judges obligations with the same budget.
    """

    TYPE: ClassVar[str] = "stream_open"
    stream: str
    epoch: Epoch
    address: str
    patience: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Command(Event):
    """A command the controller wrote on `stream`.

    `probe` is empty for ordinary commands; a robustness probe that breaks a CTRL rule on
    purpose names itself there, so that the oracle neither refuses it nor holds the replica to
    TRANS-3 on that stream. A label that starts with the rule it tests (`"TRANS-4: ..."`,
    `"TRANS-5: ..."`) is judged by that rule instead (`oracle.check_probes`).
    """

    TYPE: ClassVar[str] = "command"
    stream: str
    cmd: command_pb2.ProtoComputeCommand
    probe: str = ""


@dataclass(frozen=True, kw_only=True)
class Response(Event):
    TYPE: ClassVar[str] = "response"
    stream: str
    resp: response_pb2.ProtoComputeResponse


@dataclass(frozen=True, kw_only=True)
class StreamEnd(Event):
    """The stream ended: `code` is the gRPC status name (`OK` for a clean end).

    `by_controller` is true when the controller closed or cancelled the stream itself. `gone`
    says why the replica itself is gone when the stream ended with it (its process exited, or
    its address refuses connections): then the end is the replica's death, not its decision.
    """

    TYPE: ClassVar[str] = "stream_end"
    stream: str
    code: str
    details: str = ""
    by_controller: bool = False
    gone: str = ""


@dataclass(frozen=True, kw_only=True)
class Rejected(Event):
    """The controller refused a response on `stream` (TRANS-6), then closed the stream.

    `reason` is `undecodable` (not a ProtoComputeResponse), `oversized` (larger than the
    controller accepts) or `too_many` (the stream exceeded the responses or bytes the
    controller holds). The response itself is never stored: `size`, `sha256` and a short
    `quote` (hex of its first bytes, or what the stream carried) identify it.
    """

    TYPE: ClassVar[str] = "rejected"
    stream: str
    reason: str
    size: int = 0
    sha256: str = ""
    quote: str = ""
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class Storage(Event):
    """A state change of the suite-hosted storage service (a write, a since, a blob ...)."""

    TYPE: ClassVar[str] = "storage"
    event: StorageEvent


@dataclass(frozen=True, kw_only=True)
class ReplicaState(Event):
    """What the suite knows about the replica beyond this history (e.g. made writable earlier)."""

    TYPE: ClassVar[str] = "replica_state"
    writable: bool


@dataclass(frozen=True, kw_only=True)
class Wait(Event):
    """A bounded wait ended: `outcome` is `done`, `timeout` or `stream ended`.

    A wait that timed out is where the live run declared liveness verdicts; recording it gives
    the offline check the same "now".
    """

    TYPE: ClassVar[str] = "wait"
    what: str
    outcome: str


@dataclass(frozen=True, kw_only=True)
class Note(Event):
    TYPE: ClassVar[str] = "note"
    text: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls for cls in (StreamOpen, Command, Response, StreamEnd, Rejected, Storage, ReplicaState, Wait, Note)
}


# --- JSON encoding -------------------------------------------------------------------------


def _encode_datum(d: Datum) -> list[Any]:
    kind, value = d
    if kind == "bytes":
        return [kind, base64.b64encode(value).decode("ascii")]
    if kind == "float64" and not math.isfinite(value):
        return [kind, repr(value)]
    return [kind, value]


def _decode_datum(raw: list[Any]) -> Datum:
    kind, value = raw
    if kind == "bytes":
        return (kind, base64.b64decode(value))
    if kind == "float64":
        return datum(kind, float(value))
    return datum(kind, value)


def _encode_row(r: Row) -> list[list[Any]]:
    return [_encode_datum(d) for d in r]


def _decode_row(raw: list[list[Any]]) -> Row:
    return tuple(_decode_datum(d) for d in raw)


def _encode_storage(ev: StorageEvent) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(ev):
        value = getattr(ev, f.name)
        if f.name == "updates":
            value = [[_encode_row(r), t, d] for r, t, d in value]
        elif f.name == "rows":
            value = [_encode_row(r) for r in value]
        if f.name in ("kind", "seq", "time") or value != f.default:
            out[f.name] = value
    return out


def _decode_storage(raw: dict[str, Any]) -> StorageEvent:
    args = dict(raw)
    if "updates" in args:
        args["updates"] = tuple((_decode_row(r), int(t), int(d)) for r, t, d in args["updates"])
    if "rows" in args:
        args["rows"] = tuple(_decode_row(r) for r in args["rows"])
    return StorageEvent(**args)


def to_json(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": event.TYPE, "seq": event.seq, "time": event.time}
    body: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        if f.name in ("seq", "time"):
            continue
        value = getattr(event, f.name)
        if isinstance(event, StreamEnd) and f.name == "gone" and not value:
            continue  # the common case stays as it always was
        if (isinstance(event, Command) and f.name == "cmd") or (
            isinstance(event, Response) and f.name == "resp"
        ):
            body[f.name] = json_format.MessageToDict(value, preserving_proto_field_name=True)
            out["wire"] = base64.b64encode(value.SerializeToString()).decode("ascii")
            continue
        elif isinstance(event, Storage):
            value = _encode_storage(value)
        elif f.name == "epoch":
            value = list(value)
        out[f.name] = value
    out.update(body)  # the message's JSON last: a reader with `wire` need not parse it (`_skim`)
    return out


def from_json(raw: dict[str, Any]) -> Event:
    kind = raw.get("type")
    cls = EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    args = {k: v for k, v in raw.items() if k not in ("type", "wire")}
    wire = raw.get("wire")
    if cls is Command:
        args["cmd"] = (
            command_pb2.ProtoComputeCommand.FromString(base64.b64decode(wire, validate=True))
            if wire is not None
            else json_format.ParseDict(args["cmd"], command_pb2.ProtoComputeCommand())
        )
    elif cls is Response:
        args["resp"] = (
            response_pb2.ProtoComputeResponse.FromString(base64.b64decode(wire, validate=True))
            if wire is not None
            else json_format.ParseDict(args["resp"], response_pb2.ProtoComputeResponse())
        )
    elif cls is Storage:
        args["event"] = _decode_storage(args["event"])
    elif cls is StreamOpen:
        envd, replica = args["epoch"]
        args["epoch"] = (int(envd), int(replica))
    return cls(**args)


def dumps(event: Event) -> str:
    return json.dumps(to_json(event), separators=(",", ":"))


def loads(line: str) -> Event:
    return from_json(json.loads(line))


# --- files ---------------------------------------------------------------------------------


class HistoryWriter:
    """Writes events to a JSON-lines file, one flushed line per event.

    A new writer starts a new file: one history is one run against one replica, and the
    offline check reads it from the beginning. `append=True` continues an existing history
    (the same replica handle, reopened).
    """

    def __init__(self, path: Path | str, *, append: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = self.path.open("a" if append else "w", encoding="utf-8")
        if self.path.stat().st_size == 0:
            self._file.write(json.dumps({"type": "format", "format": FORMAT}) + "\n")
            self._file.flush()

    def write(self, event: Event) -> None:
        if self._file is None:
            raise ValueError(f"history {self.path} is closed")
        self._file.write(dumps(event) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class History:
    """A history read back from disk; `torn` holds a last line that a crash cut short."""

    events: list[Event]
    torn: str = ""


class HistoryFile:
    """A history file read event by event, so that a check holds only the event it judges (a
    deep run's history can be large, and holding every event makes the garbage collector the
    largest cost of reading one). Once read through, `torn` holds a last line that a crash cut
    short. Raises ValueError, naming the line, for anything else that is not an event."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.torn = ""

    def __iter__(self) -> Iterator[Event]:
        path = self.path
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    raw = _skim(line) or json.loads(line)
                except json.JSONDecodeError as exc:
                    if next(f, None) is None:  # the last line: cut short by a crash
                        self.torn = line.rstrip("\r\n")
                        return
                    raise ValueError(f"{path}:{n}: not a JSON line: {exc}") from None
                if raw.get("type") == "format":
                    if raw.get("format") not in READABLE_FORMATS:
                        raise ValueError(f"{path}:{n}: unsupported history format {raw.get('format')!r}")
                    continue
                try:
                    event = from_json(raw)
                except (ValueError, KeyError, TypeError, json_format.ParseError, DecodeError) as exc:
                    raise ValueError(f"{path}:{n}: not a history event: {exc}") from None
                yield event


_BODIES: Final = ((',"cmd":', '{"type":"command",'), (',"resp":', '{"type":"response",'))


def _skim(line: str) -> dict[str, Any] | None:
    """A format-2 command or response line without its message's JSON, which the reader does
    not use (it decodes `wire`) and which is most of the line: parsing it was the largest cost
    of an offline check. The message's JSON is the line's last key (`to_json`), and `,"cmd":`
    cannot occur inside a JSON string (a quote there is escaped), so the line up to it is the
    event's other keys. Only a whole line (it ends with its newline) is skimmed, and only if
    what precedes holds `wire`; anything else (format 1, a torn line) is parsed whole."""
    if not line.endswith("}\n"):
        return None
    for key, start in _BODIES:
        if line.startswith(start):
            cut = line.find(key)
            if cut < 0:
                return None
            raw = json.loads(line[:cut] + "}")
            return raw if isinstance(raw, dict) and "wire" in raw else None
    return None


def read_history(path: Path | str) -> History:
    source = HistoryFile(path)
    events = list(source)
    return History(events, source.torn)


# --- the live pipeline ---------------------------------------------------------------------

Listener = Callable[[Event], None]


@dataclass
class Recorder:
    """Stamps events with a sequence number and the monotonic time, then hands them on.

    One lock orders everything: the stamp, the history line and every listener (the oracle) see
    events in one order, so the history replays exactly what the live oracle saw. Listeners run
    under the lock and must not block; `changed` is notified after every event so that bounded
    waits can re-check their condition.
    """

    writer: HistoryWriter | None = None
    clock: Callable[[], float] = time.monotonic
    listeners: list[Listener] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    keep: bool = True

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._seq = 0

    def record(self, event: Event) -> Event:
        with self.lock:
            self._seq += 1
            stamped = dataclasses.replace(event, seq=self._seq, time=self.clock())
            if self.writer is not None:
                self.writer.write(stamped)
            if self.keep:
                self.events.append(stamped)
            try:
                for listener in self.listeners:
                    listener(stamped)
            finally:
                self.changed.notify_all()
            return stamped


def stamped(events: Iterable[Event]) -> Iterator[Event]:
    """Events in sequence order, renumbered if they carry no sequence numbers (hand-built histories)."""
    for n, ev in enumerate(events, start=1):
        yield ev if ev.seq else dataclasses.replace(ev, seq=n)
