"""What judging costs: the suite's driver and oracle against a bare gRPC controller, same run.

Run from the repository root:

    PYTHONPATH=$PWD:$PWD/protos python bench/suite_overhead.py [--quick]

One reference replica process serves both controllers in turn. The workload is what the
state machines do most: peeks answered from an index, one at a time, so every round trip
includes the replica's answer. The index holds `ROWS` constant rows, so no storage is
involved.

- **Round trip**: peeks per second through the suite's driver (`Replica.connect`, `send`,
  `wait_peek`: every command and response is recorded to a history file and judged by the
  oracle as it arrives). Baseline *bare*: the same commands over the generated gRPC stub,
  reading each answer straight off the response iterator, in the same process. Ratio =
  driver time per peek / bare time per peek; it is what the suite adds to every exchange.
- **Offline re-judging**: events per second of `python -m conformance check` logic (read
  the driver's history file and run the oracle over it) against the baseline of only
  parsing the same file (JSON lines into dicts). Ratio = judge time / parse time.

Both ratios are printed with the absolute numbers; the machine is shared, so only ratios
within one run are comparable.
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

from conformance.driver import CHANNEL_OPTIONS, Replica
from conformance.history import read_history
from conformance.oracle import Oracle
from conformance.wire import commands as cmd
from conformance.wire.rows import row

ROWS = 200
INDEX = "u1"


def start_replica() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_replica", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    address = proc.stdout.readline().strip() if ready else ""
    if not address:
        proc.kill()
        raise SystemExit("the reference replica printed no address on its first line within 30 s")
    return proc, address


def dataflow() -> command_pb2.ProtoComputeCommand:
    desc = cmd.dataflow(
        as_of=0,
        objects=[cmd.build("t1", cmd.constant(2, [(row(i, i * 7), 0, 1) for i in range(ROWS)]))],
        indexes=[cmd.index_export(INDEX, "t1", [0])],
    )
    return cmd.create_dataflow(desc)


def setup(epoch: int) -> list[command_pb2.ProtoComputeCommand]:
    return [
        cmd.create_timely((0, epoch)),  # below the driver's (which starts at the clock in ms)
        cmd.create_instance(),
        dataflow(),
        cmd.schedule(INDEX),
        cmd.initialization_complete(),
    ]


def bare(address: str, peeks: int, epoch: int) -> float:
    """Seconds per peek over the bare stub: send, then read until this peek's answer."""
    outbox: queue.Queue[command_pb2.ProtoComputeCommand | None] = queue.Queue()
    for c in setup(epoch):
        outbox.put(c)

    def requests() -> Iterator[command_pb2.ProtoComputeCommand]:
        while (c := outbox.get()) is not None:
            yield c

    with grpc.insecure_channel(address, options=CHANNEL_OPTIONS) as channel:
        responses = service_pb2_grpc.ProtoComputeStub(channel).CommandResponseStream(requests())
        answers: queue.Queue[response_pb2.ProtoComputeResponse] = queue.Queue()

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
            outbox.put(cmd.peek(uuid, INDEX, 0, arity=2))
            try:
                answer = answers.get(timeout=30)
            except queue.Empty:
                raise SystemExit(f"bare controller: no answer to peek {uuid} within 30 s") from None
            assert answer.peek_response.resp.WhichOneof("kind") == "rows", answer
        elapsed = time.perf_counter() - started
        outbox.put(None)
        responses.cancel()
    return elapsed / peeks


def driven(replica: Replica, peeks: int) -> float:
    """Seconds per peek through the suite's driver, recorder and oracle."""
    stream = replica.connect()
    for c in setup(0)[2:]:
        stream.send(c)
    started = time.perf_counter()
    for uuid in range(1, peeks + 1):
        stream.send(cmd.peek(uuid, INDEX, 0, arity=2))
        answer = stream.wait_peek(uuid)
        assert answer.kind == "rows", answer
    elapsed = time.perf_counter() - started
    stream.close()
    return elapsed / peeks


def rejudge(history: Path) -> tuple[float, float, int]:
    """(judge seconds, parse seconds, events) for one history file."""
    started = time.perf_counter()
    with history.open() as f:
        parsed = [json.loads(line) for line in f]
    parse = time.perf_counter() - started
    started = time.perf_counter()
    Oracle().consume_all(read_history(history).events)
    judge = time.perf_counter() - started
    return judge, parse, len(parsed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer peeks (a smoke run)")
    args = parser.parse_args()
    peeks = 100 if args.quick else 1000
    proc, address = start_replica()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            history = Path(tmp) / "history.jsonl"
            bare(address, 20, epoch=1)  # warm both paths up
            bare_s = bare(address, peeks, epoch=2)
            replica = Replica(address, history=history, patience=30.0)
            try:
                driven_s = driven(replica, peeks)
                violations = list(replica.violations)
            finally:
                replica.close()
            judge, parse, events = rejudge(history)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"peek round trip, {ROWS} rows, {peeks} peeks one at a time")
    print(f"  bare gRPC stub      {bare_s * 1e3:8.3f} ms/peek")
    print(f"  suite driver+oracle {driven_s * 1e3:8.3f} ms/peek")
    print(f"  ratio driver/bare   {driven_s / bare_s:8.2f}")
    print(f"offline re-judging of the driver's history ({events} events)")
    print(f"  parse only          {events / parse:10.0f} events/s")
    print(f"  oracle              {events / judge:10.0f} events/s")
    print(f"  ratio judge/parse   {judge / parse:8.2f}")
    if violations:
        print(f"the oracle reported violations on the reference replica: {violations}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
