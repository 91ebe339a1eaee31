"""Reference replica performance, as ratios against baselines measured in the same run.

Run from the repository root:

    PYTHONPATH=$PWD:$PWD/protos python bench/replica_perf.py [--quick]

The replica runs as its own process (`python -m reference_replica`), fed by a storage service
in this process that serves pre-built Listen batches (so the storage side costs almost
nothing). Rows are `(int64 i, string "name-<10 digits>", int64 7*i)`.

Measurements and their baselines:

- **Ingest**: updates per second through `source -> Mfp (a filter that keeps every row,
  and a projection) -> index`, from sending CreateDataflow until the index reports the
  shard's final upper as its write frontier. Baseline *decode*: in this process,
  `ProtoListenBatch.ParseFromString` of the same serialized batches plus converting every
  update to Python values (`(tuple(datum values), time, diff)`). Ratio = ingest rate /
  decode rate; the target is >= 0.3.
- **Peek**: a full-scan peek of the index built above (identity MFP, no finishing), from
  sending Peek until the response has arrived and been parsed here. Baseline *build*: in
  this process, building the same rows into a `ProtoComputeResponse` (peek rows) and
  serializing it. Ratio = peek time / build time; the target is <= 3.
- **Memory**: bytes per indexed row, measured with `tracemalloc` around an `Arrangement`
  in this process (the replica's own code) that ingests the rows in the same batches and is
  compacted to its upper after each batch, as a controller's AllowCompaction would. Baseline:
  the rows' protobuf encoding (`ProtoRow.ByteSize()`). Ratio = bytes per row / encoded
  bytes per row; the target is <= 4. The replica process's RSS growth per row is printed
  too, for information (it includes allocator slack and transient buffers).
- **Cost growth**: ingest and peek time per row at 10^3 .. 10^6 rows (10^5 with --quick).
  Growth is linear when time per row stays flat: the script prints the log-log slope of
  time against rows between the two largest sizes (1.0 = linear).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from compute_protocol.v1 import (
    command_pb2,
    common_pb2,
    dataflow_pb2,
    plan_pb2,
    response_pb2,
    storage_pb2,
    storage_pb2_grpc,
)

from bench._report import Targets, add_arguments

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
BATCH = 10_000  # updates per Listen batch
TIMEOUT = 600.0

# --- data ------------------------------------------------------------------------------------


def make_batches(n: int) -> list[bytes]:
    """Serialized Listen batches for a shard holding n rows, BATCH per time, upper = batches."""
    out = []
    for b, start in enumerate(range(0, n, BATCH)):
        batch = storage_pb2.ProtoListenBatch()
        batch.lower.elements.append(b)
        batch.upper.elements.append(b + 1)
        for i in range(start, min(n, start + BATCH)):
            u = batch.updates.add(timestamp=b, diff=1)
            datums = u.row.datums
            datums.add().int64 = i
            datums.add().string = f"name-{i:010d}"
            datums.add().int64 = 7 * i
        if b == 0:
            batch.lower.elements[0] = 0
        out.append(batch.SerializeToString())
    return out


def decode_baseline(batches: list[bytes]) -> tuple[float, int]:
    t0 = time.perf_counter()
    count = 0
    for data in batches:
        batch = storage_pb2.ProtoListenBatch()
        batch.ParseFromString(data)
        values = [
            (tuple(getattr(d, d.WhichOneof("kind") or "null") for d in u.row.datums), u.timestamp, u.diff)
            for u in batch.updates
        ]
        count += len(values)
    return time.perf_counter() - t0, count


def rows_of(batches: list[bytes]) -> list[tuple[int, str, int]]:
    out = []
    for data in batches:
        batch = storage_pb2.ProtoListenBatch.FromString(data)
        out += [(u.row.datums[0].int64, u.row.datums[1].string, u.row.datums[2].int64) for u in batch.updates]
    return out


def build_baseline(rows: list[tuple[int, str, int]]) -> float:
    t0 = time.perf_counter()
    response = response_pb2.ProtoComputeResponse()
    response.peek_response.id.lo = 1
    out = response.peek_response.resp.rows.rows
    for a, b, c in rows:
        entry = out.add(count=1)
        datums = entry.row.datums
        datums.add().int64 = a
        datums.add().string = b
        datums.add().int64 = c
    response.SerializeToString()
    return time.perf_counter() - t0


# --- a storage service serving pre-built batches -----------------------------------------------


class BenchStorage(storage_pb2_grpc.ProtoStorageServicer):
    """Only Listen is served: the benchmark's dataflows write nothing."""

    def __init__(self) -> None:
        self.shards: dict[str, list[bytes]] = {}
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=8), options=[*OPTIONS, ("grpc.so_reuseport", 0)]
        )
        storage_pb2_grpc.add_ProtoStorageServicer_to_server(self, self._server)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def Listen(self, request: Any, context: Any) -> Iterator[storage_pb2.ProtoListenBatch]:
        for data in self.shards[request.shard_id]:
            yield storage_pb2.ProtoListenBatch.FromString(data)
        while context.is_active():  # keep the upper where it is (no final `[]`)
            time.sleep(0.05)

    def CompareAndAppend(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "the benchmark storage only serves Listen")

    def GetShard(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "the benchmark storage only serves Listen")

    def PutBlob(self, request: Any, context: Any) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "the benchmark storage only serves Listen")

    def stop(self) -> None:
        self._server.stop(0).wait(5)


# --- a minimal controller ----------------------------------------------------------------------


class Stream:
    def __init__(self, address: str) -> None:
        self._channel = grpc.insecure_channel(address, options=OPTIONS)
        method = self._channel.stream_stream(
            "/compute_protocol.v1.ProtoCompute/CommandResponseStream",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_pb2.ProtoComputeResponse.FromString,
        )
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._inbox: queue.SimpleQueue[response_pb2.ProtoComputeResponse] = queue.SimpleQueue()
        self._call = method(iter(self._outbox.get, None))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self._inbox.put(response)
        except grpc.RpcError:
            pass

    def send(self, *commands: command_pb2.ProtoComputeCommand) -> None:
        for cmd in commands:
            self._outbox.put(cmd)

    def wait(self, found: Callable[[response_pb2.ProtoComputeResponse], bool], what: str) -> float:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                response = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no {what} within {TIMEOUT}s") from None
            if found(response):
                return time.perf_counter()

    def close(self) -> None:
        self._call.cancel()
        self._outbox.put(None)
        self._channel.close()


def gid(n: int) -> common_pb2.ProtoGlobalId:
    return common_pb2.ProtoGlobalId(user=n)


def ingest_dataflow(n_id: int, storage: str, shard: str) -> command_pb2.ProtoComputeCommand:
    keep_all = plan_pb2.ProtoScalarExpr(
        call_binary=plan_pb2.ProtoCallBinary(
            func=plan_pb2.PROTO_BINARY_FUNC_GTE,
            expr1=plan_pb2.ProtoScalarExpr(column=0),
            expr2=plan_pb2.ProtoScalarExpr(literal=common_pb2.ProtoDatum(int64=0)),
        )
    )
    mfp = plan_pb2.ProtoMapFilterProject(predicates=[keep_all], projection=[0, 1, 2], input_arity=3)
    columns = [common_pb2.ProtoColumnType() for _ in range(3)]
    desc = dataflow_pb2.ProtoDataflowDescription(
        source_imports=[
            dataflow_pb2.ProtoSourceImport(
                id=gid(n_id),
                storage_metadata=common_pb2.ProtoCollectionMetadata(
                    storage_address=storage,
                    shard_id=shard,
                    relation_desc=common_pb2.ProtoRelationDesc(columns=columns),
                ),
            )
        ],
        objects_to_build=[
            dataflow_pb2.ProtoBuildDesc(
                id=gid(n_id + 1),
                plan=plan_pb2.ProtoPlan(
                    mfp=plan_pb2.ProtoPlanMfp(
                        input=plan_pb2.ProtoPlan(get=plan_pb2.ProtoPlanGet(id=gid(n_id))), mfp=mfp
                    )
                ),
            )
        ],
        index_exports=[dataflow_pb2.ProtoIndexExport(id=gid(n_id + 2), on_id=gid(n_id + 1), key_columns=[0])],
        as_of=common_pb2.ProtoU64Antichain(elements=[0]),
    )
    return command_pb2.ProtoComputeCommand(create_dataflow=desc)


def peek_command(uuid: int, index: int, t: int) -> command_pb2.ProtoComputeCommand:
    return command_pb2.ProtoComputeCommand(
        peek=command_pb2.ProtoPeek(
            uuid=common_pb2.ProtoU128(lo=uuid),
            timestamp=t,
            finishing=command_pb2.ProtoRowSetFinishing(),
            map_filter_project=plan_pb2.ProtoSafeMfpPlan(
                mfp=plan_pb2.ProtoMapFilterProject(projection=[0, 1, 2], input_arity=3)
            ),
            index=command_pb2.ProtoIndexTarget(id=gid(index)),
        )
    )


# --- the replica process -------------------------------------------------------------------------


class ReplicaProcess:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "protos"), env.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reference_replica", "--listen", "127.0.0.1:0", "--log-level", "WARNING"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            if not selector.select(30):
                self.stop()
                raise RuntimeError("the replica did not start")
        self.address = self.proc.stdout.readline().strip()

    def rss(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# --- measurements ------------------------------------------------------------------------------


@dataclass
class Result:
    rows: int
    ingest_s: float
    decode_s: float
    peek_s: float
    build_s: float
    rss_per_row: float


def measure(n: int, storage: BenchStorage) -> Result:
    batches = make_batches(n)
    shard = f"shard-{n}"
    storage.shards[shard] = batches
    replica = ReplicaProcess()
    stream = Stream(replica.address)
    try:
        epoch = common_pb2.ProtoClusterStartupEpoch(envd=1, replica=1)
        config = common_pb2.ProtoTimelyConfig(workers=1)
        init = command_pb2.ProtoComputeCommand()
        init.initialization_complete.SetInParent()
        stream.send(
            command_pb2.ProtoComputeCommand(
                create_timely=command_pb2.ProtoCreateTimely(config=config, epoch=epoch)
            ),
            command_pb2.ProtoComputeCommand(
                create_instance=command_pb2.ProtoInstanceConfig(logging=command_pb2.ProtoLoggingConfig())
            ),
            init,
        )
        gc.collect()
        rss_before = replica.rss()
        upper = len(batches)
        t0 = time.perf_counter()
        stream.send(ingest_dataflow(1, storage.address, shard))
        t1 = stream.wait(
            lambda r: (
                r.WhichOneof("kind") == "frontiers"
                and r.frontiers.resp.HasField("write_frontier")
                and list(r.frontiers.resp.write_frontier.elements) == [upper]
            ),
            f"write frontier [{upper}]",
        )
        ingest_s = t1 - t0
        rss_per_row = (replica.rss() - rss_before) / n
        t0 = time.perf_counter()
        stream.send(peek_command(7, 3, upper - 1))
        holder: list[response_pb2.ProtoComputeResponse] = []

        def answered(r: response_pb2.ProtoComputeResponse) -> bool:
            if r.WhichOneof("kind") == "peek_response":
                holder.append(r)
                return True
            return False

        t1 = stream.wait(answered, "the peek answer")
        peek_s = t1 - t0
        answer = holder[0].peek_response.resp
        assert answer.WhichOneof("kind") == "rows", answer
        assert sum(e.count for e in answer.rows.rows) == n, "the peek must return every row"
    finally:
        stream.close()
        replica.stop()
    decode_s, decoded = decode_baseline(batches)
    assert decoded == n
    build_s = build_baseline(rows_of(batches))
    del storage.shards[shard]
    return Result(n, ingest_s, decode_s, peek_s, build_s, rss_per_row)


def memory_per_row(n: int) -> tuple[float, float]:
    """(bytes per row retained by an Arrangement, protobuf bytes per row)."""
    from reference_replica import rows as replica_rows
    from reference_replica.arrangement import Arrangement
    from reference_replica.storage.listen import convert

    batches = [storage_pb2.ProtoListenBatch.FromString(b) for b in make_batches(n)]
    encoded = sum(u.row.ByteSize() for b in batches for u in b.updates) / n
    converted = [convert(b) for b in batches]
    del batches
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    arrangement = Arrangement([0], 3, workers=1, since=0)
    for upper, updates in enumerate(converted, start=1):
        arrangement.insert(updates, [])
        arrangement.compact(upper)
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert arrangement.update_count() == n and replica_rows is not None
    return retained / n, encoded


def slope(a: tuple[int, float], b: tuple[int, float]) -> float:
    return math.log(b[1] / a[1]) / math.log(b[0] / a[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)  # --quick: sizes up to 10^5 (well under 30 s)
    args = parser.parse_args()
    sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    storage = BenchStorage()
    results = []
    try:
        for n in sizes:
            results.append(measure(n, storage))
            print(f"  measured {n:>9,} rows", file=sys.stderr, flush=True)
    finally:
        storage.stop()
    mem_rows = 100_000
    mem_bytes, proto_bytes = memory_per_row(mem_rows)

    print("\nCost growth (time per row, microseconds)")
    print(f"{'rows':>10} {'ingest':>9} {'decode':>9} {'peek':>9} {'build':>9} {'RSS B/row':>10}")
    for r in results:
        print(
            f"{r.rows:>10,} {1e6 * r.ingest_s / r.rows:>9.2f} {1e6 * r.decode_s / r.rows:>9.2f} "
            f"{1e6 * r.peek_s / r.rows:>9.2f} {1e6 * r.build_s / r.rows:>9.2f} {r.rss_per_row:>10.0f}"
        )
    big, bigger = results[-2], results[-1]
    ingest_slope = slope((big.rows, big.ingest_s), (bigger.rows, bigger.ingest_s))
    peek_slope = slope((big.rows, big.peek_s), (bigger.rows, bigger.peek_s))
    print(f"log-log slope {big.rows:,} -> {bigger.rows:,}: ingest {ingest_slope:.2f}, peek {peek_slope:.2f}")

    at = next(r for r in results if r.rows == 100_000)
    ingest_ratio = at.decode_s / at.ingest_s
    peek_ratio = at.peek_s / at.build_s
    memory_ratio = mem_bytes / proto_bytes
    print("\nRatios (at 100,000 rows), each against its baseline of the same run")
    targets = Targets(strict=args.strict)
    targets.row(
        "ingest rate / decode rate",
        ingest_ratio,
        ">=",
        0.3,
        f"{at.rows / at.ingest_s:,.0f} updates/s ingested vs {at.rows / at.decode_s:,.0f} decoded",
    )
    targets.row(
        "peek time / build time",
        peek_ratio,
        "<=",
        3,
        f"{at.peek_s * 1e3:.1f} ms peek vs {at.build_s * 1e3:.1f} ms build",
    )
    targets.row(
        "memory per row / proto row",
        memory_ratio,
        "<=",
        4,
        f"{mem_bytes:.0f} B per indexed row vs {proto_bytes:.0f} B encoded",
    )
    targets.row(
        "cost growth (largest log-log slope)",
        max(ingest_slope, peek_slope),
        "<=",
        1.2,
        "1.0 = linear: time per row stays flat as rows grow",
    )
    return targets.exit_status()


if __name__ == "__main__":
    sys.exit(main())
