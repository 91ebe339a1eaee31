"""History files: lossless round trip, crash tolerance, and identical offline verdicts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from conformance.history import (
    Command,
    HistoryWriter,
    Recorder,
    Response,
    Storage,
    StreamOpen,
    dumps,
    loads,
    read_history,
)
from conformance.oracle import Oracle
from conformance.storage import StorageEvent
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import row
from tests.conformance.breakers import CASES
from tests.conformance.histories import History


def _write(path: Path, h: History) -> None:
    with HistoryWriter(path) as w:
        for ev in h.events:
            w.write(ev)


def test_every_event_round_trips(tmp_path: Path) -> None:
    h = History()
    h.connect("c1").shard("a").write("a", [(row(1, None, "x", b"\x00\xff", 2.5, True), 3, -2)], upper=EMPTY)
    h.blob("k", [row(float("nan"), float("-inf"))]).frontiers("c1", "u1", write=EMPTY, input=3)
    h.end("c1", "UNAVAILABLE", "gone").wait("peek 0x1", "timeout").note("hello").writable()
    path = tmp_path / "h.jsonl"
    _write(path, h)
    back = read_history(path).events
    assert len(back) == len(h.events)
    for a, b in zip(h.events, back, strict=True):
        assert type(a) is type(b) and a.seq == b.seq and a.time == b.time
        if isinstance(a, Command | Response):
            assert dumps(a) == dumps(b)
        elif isinstance(a, Storage):
            assert isinstance(b, Storage)
            assert repr(a.event.rows) == repr(b.event.rows) and a.event.updates == b.event.updates
        else:
            assert a == b


def test_frontier_presence_survives(tmp_path: Path) -> None:
    h = History().connect("c1").frontiers("c1", "u1", write=EMPTY)
    resp = loads(dumps(h.events[-1]))
    assert isinstance(resp, Response)
    f = resp.resp.frontiers.resp
    assert f.HasField("write_frontier") and not f.HasField("input_frontier")


def test_nan_round_trips_as_the_canonical_nan() -> None:
    ev = Storage(event=StorageEvent(kind="blob_put", seq=1, time=0.0, key="k", rows=(row(float("nan")),)))
    back = loads(dumps(ev))
    assert isinstance(back, Storage)
    assert math.isnan(back.event.rows[0][0][1])


def test_a_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    _write(path, History().connect("c1"))
    with path.open("a") as f:
        f.write('{"type": "response", "seq": 9, "ti')
    hist = read_history(path)
    assert len(hist.events) == 3 and hist.torn.startswith('{"type": "response"')


def test_a_command_or_response_is_read_from_its_wire_without_its_json(tmp_path: Path) -> None:
    """The reader skims a whole line up to the message's JSON (the line's last key) and decodes
    `wire`; a message's JSON that names `"cmd"` itself, a torn line cut inside the JSON, and a
    format-1 line (no `wire`) are all still read right."""
    h = History().connect("c1").frontiers("c1", "u1", write=EMPTY)
    path = tmp_path / "h.jsonl"
    _write(path, h)
    lines = path.read_text().splitlines()
    commands = [line for line in lines if line.startswith('{"type":"command"')]
    assert commands and all(line.index('"wire"') < line.index(',"cmd":') for line in commands)
    assert read_history(path).events[-1] == h.events[-1]
    # the JSON after the cut is not read: a line whose JSON is broken after `wire` still decodes
    broken = [line.replace(',"resp":{', ',"resp":{not JSON', 1) for line in lines]
    assert broken != lines
    path.write_text("\n".join(broken) + "\n")
    assert dumps(read_history(path).events[-1]) == dumps(h.events[-1])
    # format 1: no wire, the JSON is parsed
    old = [json.dumps({k: v for k, v in json.loads(line).items() if k != "wire"}) for line in lines[1:]]
    header = json.dumps({"type": "format", "format": "compute-conformance-history/1"})
    path.write_text(header + "\n" + "\n".join(old) + "\n")
    assert [dumps(e) for e in read_history(path).events] == [dumps(e) for e in h.events]
    # a torn last line (cut inside the message's JSON) is reported torn, not read
    path.write_text("\n".join(lines) + "\n" + lines[-1][:-3])
    hist = read_history(path)
    assert len(hist.events) == len(h.events) and hist.torn == lines[-1][:-3]


def test_a_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    _write(path, History().connect("c1"))
    lines = path.read_text().splitlines()
    lines.insert(2, "not json")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"h.jsonl:3"):
        read_history(path)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps({"type": "format", "format": "something-else/9"}) + "\n")
    with pytest.raises(ValueError, match="unsupported history format"):
        read_history(path)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_offline_verdicts_equal_live_ones(tmp_path: Path, rule_id: str) -> None:
    for case in CASES[rule_id]:
        h = case(True)
        live = h.oracle()
        path = tmp_path / f"{case.__name__}.jsonl"
        _write(path, h)
        offline = Oracle()
        offline.consume_all(read_history(path).events)
        assert [v.key() for v in offline.violations] == [v.key() for v in live.violations]
        assert [v.key() for v in offline.warnings] == [v.key() for v in live.warnings]
        assert offline.violations or offline.warnings


def test_recorder_stamps_orders_and_feeds_listeners(tmp_path: Path) -> None:
    seen: list[int] = []
    ticks = iter([1.0, 2.0, 3.0])
    writer = HistoryWriter(tmp_path / "r.jsonl")
    rec = Recorder(writer=writer, clock=lambda: next(ticks), listeners=[lambda ev: seen.append(ev.seq)])
    first = rec.record(StreamOpen(stream="c1", epoch=(1, 1), address="x"))
    rec.record(StreamOpen(stream="c2", epoch=(1, 2), address="x"))
    writer.close()
    assert (first.seq, first.time) == (1, 1.0) and seen == [1, 2]
    assert [e.seq for e in read_history(tmp_path / "r.jsonl").events] == [1, 2]


def test_a_new_writer_starts_a_new_history_unless_appending(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    _write(path, History().connect("c1"))
    _write(path, History().connect("c9"))
    assert getattr(read_history(path).events[0], "stream", "") == "c9"
    with HistoryWriter(path, append=True) as w:
        w.write(History().connect("c10").events[0])
    events = read_history(path).events
    assert len(events) == 4 and getattr(events[-1], "stream", "") == "c10"
