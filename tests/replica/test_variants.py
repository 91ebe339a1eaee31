"""Each legal variant really changes what the replica does (`reference_replica.variants`).

The legal-variant matrix (`tests/variants`) proves that the suite passes every variant; that
proof is worth something only if the variant is not a no-op. Each test here runs the same
situation with and without the variant and shows the difference, on the wire where it shows
there, else in the replica's state.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator

import pytest
from compute_protocol.v1 import command_pb2, plan_pb2

from reference_replica import variants
from reference_replica.compute_state import ComputeState
from reference_replica.config import ComputeParameters
from reference_replica.connection import Connection
from reference_replica.exports.index import IndexExport
from reference_replica.responses import Responder, Response
from reference_replica.services import Services
from reference_replica.storage.client import StorageClient
from reference_replica.storage.writes import StorageWriter
from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller, StreamEnded, frontier_value
from tests.replica.storage_server import StorageServer

DIV_12 = p.mfp(1, expressions=[p.binary(plan_pb2.PROTO_BINARY_FUNC_DIV, p.lit(12), p.col(0))], projection=[0, 1])


@pytest.fixture(autouse=True)
def no_variant() -> Iterator[None]:
    variants.enable([])
    yield
    variants.enable([])


def both(run: Callable[[], object], name: str) -> tuple[object, object]:
    """`run()` without the variant, then with it."""
    variants.enable([])
    plain = run()
    variants.enable([name])
    return plain, run()


def constant_index(n: int, rows: list[tuple[tuple[int, ...], int, int]]) -> command_pb2.ProtoComputeCommand:
    desc = p.dataflow(0, objects=[(n, p.constant(1, rows))], indexes=[p.index_export(n + 1, n, [0])])
    return p.create_dataflow(desc)


def shard_index(
    n: int, storage: StorageServer, shard: str, *, as_of: int = 0, until: int | None = None
) -> command_pb2.ProtoComputeCommand:
    desc = p.dataflow(
        as_of, sources=[p.source(n, storage.address, shard, 1)], indexes=[p.index_export(n + 1, n, [0])], until=until
    )
    return p.create_dataflow(desc)


# --- an engine-less compute state, for what no wire shows (or shows only by racing) ----------


class Captured(Connection):
    def __init__(self) -> None:
        super().__init__(1, "test")
        self.sent: list[Response] = []

    def send(self, response: Response) -> None:
        self.sent.append(response)


@pytest.fixture
def state() -> Iterator[tuple[ComputeState, Captured]]:
    storage = StorageClient()
    responder = Responder()
    captured = Captured()
    responder.attach(captured)
    services = Services(responder, ComputeParameters(), storage, StorageWriter(storage, lambda f: f()), lambda f: f())
    yield ComputeState(services), captured
    storage.close()


def peek_kinds(sent: list[Response]) -> list[str]:
    return [r.peek_response.resp.WhichOneof("kind") or "" for r in sent if r.WhichOneof("kind") == "peek_response"]


def test_cancel_answers_if_ready(state: tuple[ComputeState, Captured]) -> None:
    compute, captured = state

    def run() -> list[str]:
        captured.sent.clear()
        n = 10 + len(compute.dataflows) * 10
        compute.apply(constant_index(n, [((1,), 0, 1)]))
        compute.apply(p.peek(n, n + 1, 0, 1))  # answerable, but no step ran yet
        compute.apply(p.cancel_peek(n))
        compute.step()
        return peek_kinds(captured.sent)

    assert both(run, "cancel-answers-if-ready") == (["canceled"], ["rows"])


def test_slow_cancel_answers_what_became_answerable(state: tuple[ComputeState, Captured]) -> None:
    compute, captured = state

    def run() -> list[str]:
        captured.sent.clear()
        n = 10 + len(compute.dataflows) * 10
        compute.apply(constant_index(n, [((1,), 0, 1)]))
        compute.apply(p.peek(n, n + 1, 0, 1))
        compute.apply(p.cancel_peek(n))
        before = peek_kinds(captured.sent)
        compute.step()
        return [*before, "|", *peek_kinds(captured.sent)]

    assert both(run, "slow-cancel") == (["canceled", "|", "canceled"], ["|", "rows"])


def test_lazy_compaction_keeps_the_history(state: tuple[ComputeState, Captured]) -> None:
    compute, _ = state

    def run() -> int:
        n = 10 + len(compute.dataflows) * 10
        compute.apply(constant_index(n, [((1,), 0, 1), ((1,), 2, -1), ((2,), 3, 1)]))
        compute.apply(p.allow_compaction(n + 1, 5))
        index = compute.exports[f"u{n + 1}"]
        assert isinstance(index, IndexExport) and index.since == 5
        index.arrangement.compact_all()  # merge the runs at the arrangement's own since
        return index.arrangement.update_count()

    compacted, lazy = both(run, "lazy-compaction")
    assert lazy == 3 and compacted == 1  # (1) came and went; only (2) is left at the since


def test_timing_variants_hold_responses_until_flushed() -> None:
    for name in ("delayed-responses", "bunched-responses"):
        variants.enable([name])
        responder, captured = Responder(), Captured()
        responder.attach(captured)
        responder.send(Response())
        responder.flush()
        assert captured.sent == [], name  # not yet due: at least 5 ms away, or the next 50 ms bunch
        variants.enable([])
        responder.send(Response())
        assert len(captured.sent) == 1


def test_rebuild_on_reconnect_reuses_nothing(
    connect: Callable[[], Controller], caplog: pytest.LogCaptureFixture
) -> None:
    def run(epoch: int) -> bool:
        caplog.clear()
        desc = constant_index(10, [((1,), 0, 1)])
        first = connect().start(desc, epoch=epoch)
        first.wait_frontier(11, EMPTY)
        second = connect().start(desc, epoch=epoch + 1)
        second.wait_frontier(11, EMPTY)
        return any("1 dataflow(s) reused" in r.message for r in caplog.records)

    with caplog.at_level(logging.INFO, logger="reference_replica.engine"):
        variants.enable([])
        assert run(1)
        variants.enable(["rebuild-on-reconnect"])
        assert not run(3)


# --- on the wire -----------------------------------------------------------------------------


def test_answer_during_initialization(connect: Callable[[], Controller]) -> None:
    def run(epoch: int, *, early: bool) -> None:
        ctl = connect()
        ctl.handshake(epoch=epoch).send(constant_index(10 * epoch, [((1,), 0, 1)]), p.peek(1, 10 * epoch + 1, 0, 1))
        if early:
            ctl.peek(1)  # answered before InitializationComplete was sent
        else:
            with pytest.raises(StreamEnded):
                ctl.peek(1, timeout=0.5)
        ctl.send(p.initialization_complete()).peek(1)

    variants.enable(["answer-during-initialization"])
    run(1, early=True)  # a fresh replica: nothing to reconcile
    run(2, early=False)  # the first connection's dataflow still runs: reconcile first
    variants.enable([])
    run(3, early=False)


def test_fence_stale_epochs(connect: Callable[[], Controller]) -> None:
    variants.enable(["fence-stale-epochs"])
    connect().start(epoch=5).sync()
    stale = connect().start(epoch=4)
    code, details = stale.wait_ended()
    assert code.name == "FAILED_PRECONDITION" and "epoch" in details
    connect().start(epoch=6).sync()  # a newer epoch is served


def test_refuse_other_config(connect: Callable[[], Controller]) -> None:
    def other_config_stream(epoch: int) -> tuple[bool, str]:
        connect().start(epoch=epoch).sync()
        other = connect().send(p.create_timely(epoch + 1, workers=3), p.create_instance(), p.initialization_complete())
        with contextlib.suppress(StreamEnded):
            other.sync()
        if not other.ended:
            return False, ""
        code, _ = other.wait_ended()
        return True, code.name

    variants.enable(["refuse-other-config"])
    assert other_config_stream(1) == (True, "FAILED_PRECONDITION")
    variants.enable([])
    assert other_config_stream(3) == (False, "")  # the default starts afresh and serves it

def test_suspend_until_scheduled(ctl: Controller) -> None:
    variants.enable(["suspend-until-scheduled"])
    ctl.start(constant_index(10, [((1,), 0, 1)]), p.peek(1, 11, 0, 1))
    with pytest.raises(StreamEnded):
        ctl.peek(1, timeout=0.5)  # not scheduled: the dataflow has not started
    ctl.send(p.schedule(11))
    assert ctl.peek(1).WhichOneof("kind") == "rows"


def test_repeat_frontier_reports(ctl: Controller, storage: StorageServer) -> None:
    variants.enable(["repeat-frontier-reports"])
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 3)
    ctl.start(shard_index(10, storage, "s"))
    ctl.wait_frontier(11, 3)
    writes = [frontier_value(r.write_frontier) for r in ctl.frontier_reports(11) if r.HasField("write_frontier")]
    assert any(a == b for a, b in itertools.pairwise(writes)), writes


def test_frontier_kinds_one_by_one_and_together(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 3)
    shapes = {}
    for epoch, name in enumerate(("frontier-kinds-one-by-one", "frontier-kinds-together"), start=1):
        variants.enable([name])
        ctl = connect().start(shard_index(10, storage, "s"), epoch=epoch)
        ctl.wait_frontier(11, 3)
        ctl.wait_frontier(11, 3, "output_frontier")
        shapes[name] = {
            sum(r.HasField(k) for k in ("write_frontier", "input_frontier", "output_frontier"))
            for r in ctl.frontier_reports(11)
        }
    assert shapes == {"frontier-kinds-one-by-one": {1}, "frontier-kinds-together": {3}}


def test_output_frontier_lags(ctl: Controller, storage: StorageServer) -> None:
    variants.enable(["output-frontier-lags"])
    storage.create_shard("s")
    ctl.start(shard_index(10, storage, "s"))
    storage.append("s", [((1,), 0, 1)], 3)
    ctl.wait_frontier(11, 3, "output_frontier")
    reports = ctl.frontier_reports(11)
    first_write = next(
        i for i, r in enumerate(reports) if r.HasField("write_frontier") and frontier_value(r.write_frontier) == 3
    )
    first_output = next(
        i for i, r in enumerate(reports) if r.HasField("output_frontier") and frontier_value(r.output_frontier) == 3
    )
    assert first_output > first_write


def test_no_status_and_status_hello(connect: Callable[[], Controller]) -> None:
    seen = {}
    for epoch, name in enumerate(("no-status", "status-hello", ""), start=1):
        variants.enable([name] if name else [])
        ctl = connect().start(constant_index(10 * epoch, [((1,), 0, 1)]), epoch=epoch)
        ctl.wait_frontier(10 * epoch + 1, EMPTY)
        ctl.settle()
        statuses = ctl.of_kind("status")
        seen[name] = (len(statuses), bool(statuses) and not statuses[0].status.HasField("operator_hydration"))
    assert seen["no-status"] == (0, False)
    assert seen["status-hello"][1] and not seen[""][1] and seen[""][0] > 0


def test_suppress_early_progress(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 5)

    def run() -> bool:
        ctl = connect().start(shard_index(10, storage, "s", as_of=5), epoch=len(variants.enabled()) + 1)
        ctl.sync()
        ctl.settle()
        return bool(ctl.frontier_reports(11))

    assert both(run, "suppress-early-progress") == (True, False)
    ctl = connect().start(shard_index(20, storage, "s", as_of=5), epoch=3)
    storage.append("s", [], 7)
    ctl.wait_frontier(21, 7)  # once the inputs pass as_of the reports come


def test_mfp_over_whole_arrangement(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((2,), 0, 1), ((0,), 4, 1)], 6)

    def run() -> str:
        ctl = connect().start(
            shard_index(10, storage, "s"),
            p.peek(1, 11, 1, 1, map_filter_project=DIV_12),
            epoch=len(variants.enabled()) + 1,
        )
        return ctl.peek(1).WhichOneof("kind") or ""

    assert both(run, "mfp-over-whole-arrangement") == ("rows", "error")


def test_no_snapshot_skips_errors(connect: Callable[[], Controller]) -> None:
    def run() -> list[str]:
        plan = p.constant(1, [((1,), 0, 1), ("oops", 0, 1), ((2,), 2, 1)])
        desc = p.dataflow(0, objects=[(10, plan)], sinks=[p.subscribe(11, 10, with_snapshot=False)])
        ctl = connect().start(p.create_dataflow(desc), epoch=len(variants.enabled()) + 1)
        batches = ctl.wait_subscribe_upper(11, EMPTY)
        return [b.batch.updates.WhichOneof("kind") or "" for b in batches]

    assert both(run, "no-snapshot-skips-errors") == (["error"], ["updates"])


def test_until_closes_dataflow(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1)], 6)

    def run() -> int:
        n = 10 * (len(variants.enabled()) + 1)  # not the same dataflow: it would be reused
        ctl = connect().start(shard_index(n, storage, "s", until=4), epoch=n)
        return ctl.wait_frontier(n + 1, 6)

    assert both(run, "until-closes-dataflow") == (6, EMPTY)


def test_config_survives_reconnect(connect: Callable[[], Controller]) -> None:
    def run() -> str:
        base = 10 * (len(variants.enabled()) + 1)
        connect().start(p.update_configuration(max_result_size=1), epoch=base).sync()
        ctl = connect().start(constant_index(base, [((1,), 0, 1)]), p.peek(1, base + 1, 0, 1), epoch=base + 1)
        return ctl.peek(1).WhichOneof("kind") or ""

    assert both(run, "config-survives-reconnect") == ("rows", "error")


def test_persist_peek_stops_at_limit(connect: Callable[[], Controller], storage: StorageServer) -> None:
    storage.create_shard("s")
    storage.append("s", [((1,), 0, 1), ((2,), 0, 1), ((9,), 0, 1)], 2)
    minus_9 = p.binary(plan_pb2.PROTO_BINARY_FUNC_SUB, p.col(0), p.lit(9))
    divide = p.mfp(1, expressions=[p.binary(plan_pb2.PROTO_BINARY_FUNC_DIV, p.lit(12), minus_9)], projection=[0, 1])

    def run() -> str:
        peek = p.persist_peek(1, 10, storage.address, "s", 1, 1, map_filter_project=divide)
        peek.peek.finishing.limit = 1
        ctl = connect().start(peek, epoch=len(variants.enabled()) + 1)
        return ctl.peek(1).WhichOneof("kind") or ""

    assert both(run, "persist-peek-stops-at-limit") == ("error", "rows")  # (9) divides by zero


def test_copy_to_ignores_read_only(connect: Callable[[], Controller], storage: StorageServer) -> None:
    def run() -> bool:
        n = 10 * (len(variants.enabled()) + 1)
        desc = p.dataflow(
            0, objects=[(n, p.constant(1, [((1,), 0, 1)]))], sinks=[p.copy_to(n + 1, n, storage.address, f"k{n}")]
        )
        ctl = connect().start(p.create_dataflow(desc), epoch=n)
        try:
            ctl.copy_to(n + 1) if variants.enabled() else ctl.wait(
                lambda: ctl.copy_to_responses(n + 1) or None, "", 0.5
            )
            return True
        except StreamEnded:
            return False

    assert both(run, "copy-to-ignores-read-only") == (False, True)


def test_reverse_peek_order(connect: Callable[[], Controller], storage: StorageServer) -> None:
    def run() -> list[int]:
        shard = f"s{len(variants.enabled())}"
        storage.create_shard(shard)
        ctl = connect().start(
            shard_index(10, storage, shard), p.peek(1, 11, 3, 1), p.peek(2, 11, 4, 1), epoch=len(variants.enabled()) + 1
        )
        ctl.sync()
        storage.append(shard, [((1,), 0, 1)], 6)  # both become answerable together
        ctl.peek(1)
        ctl.peek(2)
        return [r.peek_response.id.lo for r in ctl.of_kind("peek_response") if r.peek_response.id.lo in (1, 2)]

    assert both(run, "reverse-peek-order") == ([1, 2], [2, 1])


def test_split_subscribe_batches(connect: Callable[[], Controller]) -> None:
    def run() -> int:
        plan = p.constant(1, [((1,), 0, 1), ((2,), 2, 1), ((3,), 4, 1)])
        desc = p.dataflow(0, objects=[(10, plan)], sinks=[p.subscribe(11, 10)])
        return len(
            connect().start(p.create_dataflow(desc), epoch=len(variants.enabled()) + 1).wait_subscribe_upper(11, EMPTY)
        )

    assert both(run, "split-subscribe-batches") == (1, 4)


def test_merge_subscribe_batches(connect: Callable[[], Controller], storage: StorageServer) -> None:
    variants.enable(["merge-subscribe-batches"])
    storage.create_shard("s")
    desc = p.dataflow(0, sources=[p.source(10, storage.address, "s", 1)], sinks=[p.subscribe(11, 10)])
    ctl = connect().start(p.create_dataflow(desc))
    ctl.sync()
    for upper in range(1, 9):
        storage.append("s", [((upper,), upper - 1, 1)], upper)
    batches = ctl.wait_subscribe_upper(11, 8)
    assert len(batches) < 8  # eight advances, fewer batches


def test_no_thinning_and_split_peek_rows(connect: Callable[[], Controller]) -> None:
    limit = command_pb2.ProtoRowSetFinishing(limit=1)
    shapes = {}
    for epoch, name in enumerate(("", "no-thinning", "split-peek-rows"), start=1):
        variants.enable([name] if name else [])
        ctl = connect().start(
            constant_index(10 * epoch, [((1,), 0, 3), ((2,), 0, 1)]),
            p.peek(1, 10 * epoch + 1, 0, 1, finishing=limit),
            p.peek(2, 10 * epoch + 1, 0, 1),
            epoch=epoch,
        )
        shapes[name] = (len(ctl.peek(1).rows.rows), len(ctl.peek(2).rows.rows))
    assert shapes[""] == (1, 2)
    assert shapes["no-thinning"] == (2, 2)
    assert shapes["split-peek-rows"] == (3, 4)  # (1) x3 as three entries, (2) as one


def test_four_workers_on_the_command_line() -> None:
    from reference_replica.__main__ import parse_args

    assert parse_args(["--variant", "four-workers"]).workers == 4
    assert parse_args(["--variant", "four-workers", "--workers", "2"]).workers == 2
    assert parse_args([]).workers == 1
