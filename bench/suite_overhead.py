"""What judging costs: the suite's driver and oracle against a bare gRPC controller, same run.

Run from the repository root:

    PYTHONPATH=$PWD:$PWD/protos python bench/suite_overhead.py [--quick] [--strict]

One reference replica process serves both controllers in turn. The workload is what the
state machines do most: peeks answered from an index, one at a time, so every round trip
includes the replica's answer. Two indexes hold constant rows, so no storage is involved:
`u1` holds `ROWS` rows, `u2` none (an empty answer: the round trip with the least to judge).

- **Round trip**: seconds per peek through the suite's driver (`Replica.connect`, `send`,
  `wait_peek`: every command and response is recorded, kept for the failure artifacts the
  way the suite keeps an example's events, and judged by the oracle as it arrives).
  Baseline *bare*: the same commands over the generated gRPC stub, reading each answer off
  the response iterator on a reader thread, in the same process. Ratio = driver time per
  peek / bare time per peek: what the suite adds to every exchange. Targets: at most 2 for
  `ROWS` rows, at most 1.5 for an empty answer.
- **Offline re-judging**: `python -m conformance check` on the driver's history (read the
  file line by line, decode every event, judge it with a fresh oracle) against the baseline
  of only parsing the same file (each JSON line into a dict, dropped). Ratio = judge time / parse time; target at
  most 2 (a replay or a check of a run's history must not take longer than the run).

Bare and driver runs alternate, `--rounds` times each, and the medians compare; the
machine is shared, so only ratios within one run are comparable.
"""

from __future__ import annotations

import argparse
import json
import queue
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from compute_protocol.v1 import command_pb2, response_pb2, service_pb2_grpc

from bench._report import Targets, add_arguments, median
from conformance.driver import CHANNEL_OPTIONS, Replica
from conformance.history import HistoryFile, HistoryWriter
from conformance.oracle import Oracle
from conformance.wire import commands as cmd
from conformance.wire.rows import row

ROWS = 200
FULL, EMPTY = "u1", "u2"
TIMEOUT = 30.0


def start_replica() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_replica", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    address = proc.stdout.readline().strip() if ready else ""
    if not address:
        proc.kill()
        raise SystemExit("the reference replica printed no address on its first line within 30 s")
    return proc, address


def dataflows() -> list[command_pb2.ProtoComputeCommand]:
    full = cmd.dataflow(
        as_of=0,
        objects=[cmd.build("t1", cmd.constant(2, [(row(i, i * 7), 0, 1) for i in range(ROWS)]))],
        indexes=[cmd.index_export(FULL, "t1", [0])],
    )
    empty = cmd.dataflow(
        as_of=0,
        objects=[cmd.build("t2", cmd.constant(2, []))],
        indexes=[cmd.index_export(EMPTY, "t2", [0])],
    )
    return [cmd.create_dataflow(full), cmd.schedule(FULL), cmd.create_dataflow(empty), cmd.schedule(EMPTY)]


def setup(epoch: int) -> list[command_pb2.ProtoComputeCommand]:
    return [
        cmd.create_timely((0, epoch)),  # below the driver's (which starts at the clock in ms)
        cmd.create_instance(),
        *dataflows(),
        cmd.initialization_complete(),
    ]


def bare(address: str, index: str, peeks: int, epoch: int) -> float:
    """Seconds per peek over the bare stub: send, then wait for this peek's answer."""
    outbox: queue.SimpleQueue[command_pb2.ProtoComputeCommand | None] = queue.SimpleQueue()
    for c in setup(epoch):
        outbox.put(c)

    def requests() -> Iterator[command_pb2.ProtoComputeCommand]:
        while (c := outbox.get()) is not None:
            yield c

    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        responses = service_pb2_grpc.ProtoComputeStub(channel).CommandResponseStream(requests())
        answers: queue.SimpleQueue[response_pb2.ProtoComputeResponse] = queue.SimpleQueue()

        def read() -> None:  # `next()` on the iterator has no timeout: read on a thread
            try:
                for r in responses:
                    if r.WhichOneof("kind") == "peek_response":
                        answers.put(r)
            except grpc.RpcError:
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        started = time.perf_counter()
        for uuid in range(1, peeks + 1):
            outbox.put(cmd.peek(uuid, index, 0, arity=2))
            try:
                answer = answers.get(timeout=TIMEOUT)
            except queue.Empty:
                raise SystemExit(f"bare controller: no answer to peek {uuid} within {TIMEOUT:g} s") from None
            assert answer.peek_response.resp.WhichOneof("kind") == "rows", answer
        elapsed = time.perf_counter() - started
        outbox.put(None)
        responses.cancel()
    return elapsed / peeks


def driven(replica: Replica, index: str, peeks: int, first_uuid: int) -> float:
    """Seconds per peek through the suite's driver, recorder and oracle."""
    stream = replica.connect()
    stream.send_all(dataflows())
    stream.initialization_complete()
    started = time.perf_counter()
    for uuid in range(first_uuid, first_uuid + peeks):
        stream.send(cmd.peek(uuid, index, 0, arity=2))
        answer = stream.wait_peek(uuid)
        assert answer.kind == "rows", answer
    elapsed = time.perf_counter() - started
    stream.close()
    return elapsed / peeks


def rejudge(history: Path) -> tuple[float, float, int]:
    """(judge seconds, parse seconds, events) for one history file, the better of three tries each."""
    parse = judge = float("inf")
    events = 0
    for _ in range(3):
        started = time.perf_counter()
        events = -1  # the format line is no event
        with history.open(encoding="utf-8") as f:
            for line in f:  # parsed and dropped: holding every dict would make the GC the baseline
                json.loads(line)
                events += 1
        parse = min(parse, time.perf_counter() - started)
        started = time.perf_counter()
        oracle = Oracle()  # what `python -m conformance check` does
        for event in HistoryFile(history):
            oracle.consume(event)
        judge = min(judge, time.perf_counter() - started)
        if oracle.violations:
            raise SystemExit(f"the offline oracle reported violations: {oracle.violations}")
    return judge, parse, events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 5; 2 quick)")
    args = parser.parse_args()
    peeks = 100 if args.quick else 300
    rounds = args.rounds or (2 if args.quick else 5)
    times: dict[tuple[str, str], list[float]] = {(w, i): [] for w in ("bare", "driver") for i in (FULL, EMPTY)}
    proc, address = start_replica()
    epochs = iter(range(1, 1000))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            history = Path(tmp) / "history.jsonl"
            replica = Replica(address, patience=TIMEOUT)
            try:
                uuids = iter(range(1, 1_000_000, peeks))
                bare(address, FULL, 20, next(epochs))  # warm both paths up
                driven(replica, FULL, 20, next(uuids))
                for _ in range(rounds):
                    for index in (FULL, EMPTY):
                        times[("bare", index)].append(bare(address, index, peeks, next(epochs)))
                        times[("driver", index)].append(driven(replica, index, peeks, next(uuids)))
                violations = list(replica.violations)
                with HistoryWriter(history) as writer:  # what a failing example's artifact holds
                    for event in replica.events:
                        writer.write(event)
            finally:
                replica.close()
            judge, parse, events = rejudge(history)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if violations:
        print(f"the oracle reported violations on the reference replica: {violations}")
        return 1
    t = {k: median(v) for k, v in times.items()}
    print(f"peek round trip, {peeks} peeks one at a time, median of {rounds} alternating rounds")
    for index, what in ((FULL, f"{ROWS} rows"), (EMPTY, "empty answer")):
        print(f"  {what:<14} bare gRPC stub {t[('bare', index)] * 1e3:7.3f} ms/peek, "
              f"suite driver+oracle {t[('driver', index)] * 1e3:7.3f} ms/peek")
    print(f"offline re-judging of the driver's history ({events} events)")
    print(f"  parse only {events / parse:10.0f} events/s, judge (read, decode, oracle) {events / judge:10.0f} events/s")
    targets = Targets(strict=args.strict)
    targets.row(f"round trip {ROWS} rows: driver / bare", t[("driver", FULL)] / t[("bare", FULL)], "<=", 2)
    targets.row("round trip empty answer: driver / bare", t[("driver", EMPTY)] / t[("bare", EMPTY)], "<=", 1.5)
    targets.row("offline judging: judge / parse", judge / parse, "<=", 2)
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
