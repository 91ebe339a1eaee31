"""Peeks and cancels (spec section 8) and configuration (section 12)."""

from __future__ import annotations

from collections.abc import Callable

from compute_protocol.v1 import command_pb2
from compute_protocol.v1 import plan_pb2 as pb

from tests.replica import plans as p
from tests.replica.checks import check_peek_answers
from tests.replica.controller import Controller
from tests.replica.storage_server import StorageServer

ROWS = [((1, "a", 10), 1), ((2, "b", 20), 2), ((3, None, 30), 1)]


def indexed_source(storage: StorageServer, key: list[int] | None = None, as_of: int = 0) -> p.Cmd:
    return p.create_dataflow(
        p.dataflow(
            as_of,
            sources=[p.source(1, storage.address, "s", 3)],
            indexes=[p.index_export(2, 1, key or [0])],
        )
    )


def start(ctl: Controller, storage: StorageServer, upper: int = 3, key: list[int] | None = None) -> None:
    storage.create_shard("s")
    storage.append("s", [(r, 0, c) for r, c in ROWS] + [((4, "d", 40), 2, 1)], upper)
    ctl.start(indexed_source(storage, key), p.schedule(2))
    ctl.wait_frontier(2, upper)


def test_contents_at_the_peek_time(ctl: Controller, storage: StorageServer) -> None:
    start(ctl, storage)
    ctl.send(p.peek(1, 2, 1, 3), p.peek(2, 2, 2, 3))
    assert p.peek_rows(ctl.peek(1)) == p.keyed(ROWS)  # PEEK-7
    assert p.peek_rows(ctl.peek(2)) == p.keyed([*ROWS, ((4, "d", 40), 1)])
    check_peek_answers(ctl)


def test_a_peek_waits_until_its_time_is_final(ctl: Controller, storage: StorageServer) -> None:
    start(ctl, storage)
    ctl.send(p.peek(1, 2, 5, 3))
    ctl.settle(0.2)
    assert ctl.peek_responses(1) == []  # PEEK-6
    storage.append("s", [((9, "z", 90), 5, 1)], 6)
    assert p.peek_rows(ctl.peek(1)) == p.keyed([*ROWS, ((4, "d", 40), 1), ((9, "z", 90), 1)])


def test_literal_keys_and_mfp(ctl: Controller, storage: StorageServer) -> None:
    start(ctl, storage, key=[1])
    project = p.mfp(
        3,
        projection=[3, 1],
        expressions=[p.binary(pb.PROTO_BINARY_FUNC_MUL, p.col(2), p.lit(2))],
        predicates=[p.binary(pb.PROTO_BINARY_FUNC_LT, p.col(0), p.lit(4))],
    )
    ctl.send(p.peek(1, 2, 2, 3, keys=[("b",), ("d",), ("b",)], map_filter_project=project))
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((40, "b"), 2)])
    ctl.send(p.peek(2, 2, 2, 3, keys=[(None,)]))
    assert p.peek_rows(ctl.peek(2)) == p.keyed([((3, None, 30), 1)])


def test_peek_below_since_is_an_error_and_later_compaction_does_not_matter(
    ctl: Controller, storage: StorageServer
) -> None:
    start(ctl, storage)
    ctl.send(p.peek(1, 2, 10, 3))  # pending: upper is 3
    ctl.send(p.allow_compaction(2, 2), p.peek(2, 2, 1, 3))
    assert ctl.peek(2).WhichOneof("kind") == "error"  # PEEK-9
    ctl.send(p.allow_compaction(2, 50))  # beyond the pending peek's time
    ctl.sync()
    storage.append("s", [((5, "e", 50), 3, 1)], 11)
    assert p.peek_rows(ctl.peek(1)) == p.keyed([*ROWS, ((4, "d", 40), 1), ((5, "e", 50), 1)])  # PEEK-13


def test_a_dropped_index_still_answers_its_pending_peek(ctl: Controller, storage: StorageServer) -> None:
    start(ctl, storage)
    ctl.send(p.peek(1, 2, 4, 3), p.allow_compaction(2, None))
    ctl.sync()
    storage.append("s", [], 5)
    assert p.peek_rows(ctl.peek(1)) == p.keyed([*ROWS, ((4, "d", 40), 1)])


def test_errors_and_negative_multiplicities(ctl: Controller) -> None:
    desc = p.dataflow(
        0,
        objects=[
            (1, p.constant(1, [((1,), 0, 1), ("boom", 1, 1), ("boom", 2, -1), ((2,), 3, -1)])),
        ],
        indexes=[p.index_export(2, 1, [0])],
    )
    ctl.start(p.create_dataflow(desc))
    ctl.send(*(p.peek(t, 2, t, 1) for t in range(4)))
    assert p.peek_rows(ctl.peek(0)) == p.keyed([((1,), 1)])
    assert ctl.peek(1).WhichOneof("kind") == "error"  # PEEK-10: holds errors
    assert p.peek_rows(ctl.peek(2)) == p.keyed([((1,), 1)])  # PEEK-11: the error was retracted
    assert ctl.peek(3).WhichOneof("kind") == "error"  # PEEK-10: a negative multiplicity
    only_one = p.mfp(1, predicates=[p.binary(pb.PROTO_BINARY_FUNC_EQ, p.col(0), p.lit(1))])
    ctl.send(p.peek(9, 2, 3, 1, map_filter_project=only_one))
    assert p.peek_rows(ctl.peek(9)) == p.keyed([((1,), 1)])  # negative row filtered out first
    failing = p.mfp(1, projection=[1], expressions=[p.binary(pb.PROTO_BINARY_FUNC_DIV, p.col(0), p.lit(0))])
    ctl.send(p.peek(10, 2, 0, 1, map_filter_project=failing))
    assert ctl.peek(10).WhichOneof("kind") == "error"


def test_finishing_is_advisory_and_huge_limits_are_fine(ctl: Controller, storage: StorageServer) -> None:
    start(ctl, storage)
    big = (1 << 63) - 1
    huge = command_pb2.ProtoRowSetFinishing(
        order_by=[command_pb2.ProtoColumnOrder(column=0, desc=True)], limit=big, offset=big, project=[2]
    )
    ctl.send(p.peek(1, 2, 1, 3, finishing=huge))
    assert p.peek_rows(ctl.peek(1)) == p.keyed(ROWS)  # unprojected, nothing dropped
    small = command_pb2.ProtoRowSetFinishing(
        order_by=[command_pb2.ProtoColumnOrder(column=0)], limit=1, offset=1
    )
    ctl.send(p.peek(2, 2, 1, 3, finishing=small))
    rows = p.peek_rows(ctl.peek(2))
    assert rows == p.keyed(ROWS[:2])  # PEEK-8: the first offset+limit rows by order_by
    assert not ctl.ended


def test_max_result_size_applies_to_pending_peeks_and_unset_keeps_it(
    ctl: Controller, storage: StorageServer
) -> None:
    start(ctl, storage)
    ctl.send(p.peek(1, 2, 5, 3))  # pending
    ctl.send(p.update_configuration(max_result_size=1))
    ctl.send(p.update_configuration(dyncfg={"x": "y"}))  # leaves max_result_size alone (CONFIG-2)
    ctl.sync()
    storage.append("s", [], 6)
    assert ctl.peek(1).WhichOneof("kind") == "error"  # PEEK-12, CONFIG-1
    ctl.send(p.update_configuration(max_result_size=1 << 40), p.peek(2, 2, 5, 3))
    assert ctl.peek(2).WhichOneof("kind") == "rows"


def test_cancel_pending_answered_and_unknown(ctl: Controller, storage: StorageServer) -> None:
    start(ctl, storage)
    ctl.send(p.peek(1, 2, 50, 3), p.cancel_peek(1))
    assert ctl.peek(1).WhichOneof("kind") == "canceled"  # PEEK-5
    ctl.send(p.peek(2, 2, 0, 3))
    ctl.peek(2)
    ctl.send(p.cancel_peek(2), p.cancel_peek(1), p.cancel_peek(12345))  # PEEK-1, TRANS-5: all ignored
    storage.append("s", [], 60)
    ctl.wait_frontier(2, 60)
    ctl.settle(0.1)
    assert len(ctl.peek_responses(1)) == 1 and len(ctl.peek_responses(2)) == 1
    assert ctl.peek_responses(12345) == [] and not ctl.ended
    check_peek_answers(ctl)


def test_otel_context_is_echoed(ctl: Controller, storage: StorageServer) -> None:
    start(ctl, storage)
    ctl.send(p.peek(1, 2, 0, 3, otel={"trace": "abc"}))
    ctl.peek(1)
    response = next(r for r in ctl.of_kind("peek_response"))
    assert dict(response.peek_response.otel_ctx) == {"trace": "abc"}


def test_persist_peeks_wait_for_the_upper_and_match_a_key_prefix(
    ctl: Controller, storage: StorageServer
) -> None:
    storage.create_shard("t")
    storage.append("t", [((1, "a"), 0, 1), ((1, "b"), 1, 2), ((2, "c"), 1, 1)], 2)
    ctl.start()
    ctl.send(p.persist_peek(1, 9, storage.address, "t", 1, 2))
    assert p.peek_rows(ctl.peek(1)) == p.keyed([((1, "a"), 1), ((1, "b"), 2), ((2, "c"), 1)])
    ctl.send(p.persist_peek(2, 9, storage.address, "t", 3, 2, keys=[(1,)]))
    ctl.settle(0.2)
    assert ctl.peek_responses(2) == []
    storage.append("t", [((1, "z"), 3, 1), ((1, "a"), 2, -1)], 4)
    assert p.peek_rows(ctl.peek(2)) == p.keyed([((1, "b"), 2), ((1, "z"), 1)])


def test_persist_peek_below_the_shard_since_is_an_error(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("t")
    storage.append("t", [((1, "a"), 0, 1)], 5)
    storage.set_since("t", 3)
    ctl.start(
        p.persist_peek(1, 9, storage.address, "t", 2, 2), p.persist_peek(2, 9, storage.address, "t", 3, 2)
    )
    assert ctl.peek(1).WhichOneof("kind") == "error"  # A24
    assert ctl.peek(2).WhichOneof("kind") == "rows"


def test_persist_peek_size_limit_and_cancel(ctl: Controller, storage: StorageServer) -> None:
    storage.create_shard("t")
    ctl.start(
        p.persist_peek(1, 9, storage.address, "t", 0, 2), p.persist_peek(2, 9, storage.address, "t", 0, 2)
    )
    ctl.send(p.cancel_peek(2), p.update_configuration(max_result_size=1))
    assert ctl.peek(2).WhichOneof("kind") == "canceled"
    ctl.sync()
    storage.append("t", [((1, "a"), 0, 1)], 1)
    assert ctl.peek(1).WhichOneof("kind") == "error"  # CONFIG-1 for pending persist peeks too


def test_parameters_do_not_outlive_their_connection(
    connect: Callable[[], Controller], storage: StorageServer
) -> None:
    """A new iteration starts from the default parameters (section 12): a limit set on an earlier
    connection and not replayed no longer applies."""
    storage.create_shard("s")
    storage.append("s", [(r, 0, c) for r, c in ROWS], 3)
    first = connect().start(indexed_source(storage), p.schedule(2), p.update_configuration(max_result_size=1))
    first.send(p.peek(1, 2, 0, 3))
    assert first.peek(1).WhichOneof("kind") == "error"  # PEEK-12 under the 1-byte limit
    second = connect().start(indexed_source(storage), p.schedule(2), epoch=2)
    second.send(p.peek(1, 2, 0, 3))
    assert p.peek_rows(second.peek(1)) == p.keyed(ROWS)
