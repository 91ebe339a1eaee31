"""The dataflow operators, driven batch by batch, against hand-computed contents (spec 5.2, 5.3)."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from compute_protocol.v1 import plan_pb2 as pb

from reference_replica.dataflow.batch import Batch
from reference_replica.dataflow.join import JoinNode
from reference_replica.dataflow.leaf import Leaf
from reference_replica.dataflow.map_filter_project import MfpNode
from reference_replica.dataflow.negate import NegateNode
from reference_replica.dataflow.node import Node
from reference_replica.dataflow.reduce import NEGATIVE_MULTIPLICITY, Aggregate, ReduceNode
from reference_replica.dataflow.threshold import ThresholdNode
from reference_replica.dataflow.union import UnionNode
from reference_replica.expr import OUT_OF_RANGE
from reference_replica.frontier import EMPTY
from reference_replica.mfp import Mfp
from tests.replica.plans import binary, col, lit, mfp, row_key

COUNT, SUM, MIN, MAX = (
    pb.PROTO_AGGREGATE_FUNC_COUNT,
    pb.PROTO_AGGREGATE_FUNC_SUM,
    pb.PROTO_AGGREGATE_FUNC_MIN,
    pb.PROTO_AGGREGATE_FUNC_MAX,
)


class Sink:
    """Collects a node's batches and checks they form a contiguous chain."""

    def __init__(self, node: Node) -> None:
        self.batches: list[Batch] = []
        self.node = node
        node.subscribe(self.batches.append)

    def contents(self, t: int) -> Counter[object]:
        out: Counter[object] = Counter()
        for batch in self.batches:
            for row, time, diff in batch.oks:
                if time <= t:
                    out[row_key(row)] += diff
        return Counter({k: v for k, v in out.items() if v})

    def errors(self, t: int) -> Counter[str]:
        out: Counter[str] = Counter()
        for batch in self.batches:
            for message, time, diff in batch.errs:
                if time <= t:
                    out[message] += diff
        return Counter({k: v for k, v in out.items() if v})

    def chain(self) -> list[tuple[int, int]]:
        intervals = [(b.lower, b.upper) for b in self.batches]
        for (_, upper), (lower, _) in pairwise(intervals):
            assert upper == lower, intervals
        return intervals


def rows(*values: tuple[object, ...]) -> Counter[object]:
    return Counter(row_key(v) for v in values)


def test_leaf_advances_times_to_as_of_and_drops_times_at_or_after_until() -> None:
    leaf = Leaf(as_of=5, until=9)
    sink = Sink(leaf)
    leaf.deliver(3, [((1,), 1, 1)], [])  # upper below as_of: held
    assert sink.batches == []
    leaf.deliver(8, [((2,), 4, 1), ((3,), 6, 1)], [("e", 2, 1)])
    leaf.deliver(12, [((4,), 8, 1), ((5,), 9, 1), ((6,), 11, 1)], [])
    assert sink.chain() == [(5, 8), (8, 12)]
    assert sink.batches[0].oks == [((1,), 5, 1), ((2,), 5, 1), ((3,), 6, 1)]
    assert sink.batches[0].errs == [("e", 5, 1)]
    assert sink.contents(100) == rows((1,), (2,), (3,), (4,))  # (5,) and (6,) are at/after until


def test_mfp_node_passes_errors_and_adds_its_own() -> None:
    leaf = Leaf(0, EMPTY)
    node = MfpNode(
        leaf, Mfp(mfp(1, projection=[1], expressions=[binary(pb.PROTO_BINARY_FUNC_DIV, lit(6), col(0))]))
    )
    sink = Sink(node)
    leaf.deliver(3, [((2,), 0, 1), ((0,), 1, 1)], [("upstream", 2, 1)])
    assert sink.contents(5) == rows((3,))
    assert sink.errors(5) == Counter({"division by zero": 1, "upstream": 1})


def test_negate() -> None:
    leaf = Leaf(0, EMPTY)
    sink = Sink(NegateNode(leaf))
    leaf.deliver(2, [((1,), 0, 2)], [("e", 1, 1)])
    assert sink.contents(2) == Counter({row_key((1,)): -2})
    assert sink.errors(2) == Counter({"e": 1})


def test_union_waits_for_the_slowest_input() -> None:
    a, b = Leaf(0, EMPTY), Leaf(0, EMPTY)
    sink = Sink(UnionNode(0, [a, b]))
    a.deliver(10, [((1,), 2, 1), ((2,), 7, 1)], [])
    assert sink.batches == []
    b.deliver(5, [((3,), 4, 1)], [])
    assert sink.chain() == [(0, 5)]
    assert sink.contents(9) == rows((1,), (3,))  # (2,) at 7 is not released yet
    b.deliver(EMPTY, [], [])
    assert sink.chain() == [(0, 5), (5, 10)]
    assert sink.contents(9) == rows((1,), (2,), (3,))


def test_threshold_keeps_positive_counts_over_time() -> None:
    leaf = Leaf(0, EMPTY)
    sink = Sink(ThresholdNode(leaf))
    leaf.deliver(3, [(("a",), 0, 2), (("b",), 0, -1), (("a",), 1, -3), (("b",), 2, 2)], [])
    assert sink.contents(0) == Counter({row_key(("a",)): 2})
    assert sink.contents(1) == Counter()
    assert sink.contents(2) == Counter({row_key(("b",)): 1})


def test_join_matches_keys_over_time_and_never_matches_null() -> None:
    left, right = Leaf(0, EMPTY), Leaf(0, EMPTY)
    sink = Sink(JoinNode(0, left, right, [(0, 0)]))
    left.deliver(2, [((1, "x"), 0, 1), ((None, "n"), 0, 1), ((2, "y"), 1, 2)], [])
    right.deliver(2, [((1, "r1"), 0, 1), ((2, "r2"), 0, 3), ((None, "rn"), 0, 1)], [("e", 1, 1)])
    assert sink.contents(0) == rows((1, "x", 1, "r1"))
    assert sink.contents(1) == Counter({row_key((1, "x", 1, "r1")): 1, row_key((2, "y", 2, "r2")): 6})
    assert sink.errors(1) == Counter({"e": 1})
    right.deliver(4, [((1, "r1"), 3, -1)], [])
    left.deliver(4, [], [])
    assert sink.contents(3) == Counter({row_key((2, "y", 2, "r2")): 6})


def test_join_without_keys_is_a_cross_product() -> None:
    left, right = Leaf(0, EMPTY), Leaf(0, EMPTY)
    sink = Sink(JoinNode(0, left, right, []))
    left.deliver(EMPTY, [((1,), 0, 1), ((2,), 0, 1)], [])
    right.deliver(EMPTY, [(("a",), 0, 2)], [])
    assert sink.contents(0) == Counter({row_key((1, "a")): 2, row_key((2, "a")): 2})


def test_reduce_aggregates_per_group_and_updates_incrementally() -> None:
    leaf = Leaf(0, EMPTY)
    sink = Sink(
        ReduceNode(leaf, [0], [Aggregate(COUNT, 0), Aggregate(SUM, 1), Aggregate(MIN, 1), Aggregate(MAX, 2)])
    )
    leaf.deliver(
        1,
        [(("a", 1, "x"), 0, 2), (("a", 5, "z"), 0, 1), (("a", None, None), 0, 1), (("b", None, "q"), 0, 1)],
        [],
    )
    assert sink.contents(0) == rows(("a", 4, 7, 1, "z"), ("b", 1, None, None, "q"))
    leaf.deliver(2, [(("a", 5, "z"), 1, -1)], [])
    assert sink.contents(1) == rows(("a", 3, 2, 1, "x"), ("b", 1, None, None, "q"))
    leaf.deliver(3, [(("b", None, "q"), 2, -1)], [])
    assert sink.contents(2) == rows(("a", 3, 2, 1, "x"))  # an empty group yields nothing


def test_reduce_negative_multiplicity_and_overflow_are_errors_with_multiplicity_one() -> None:
    leaf = Leaf(0, EMPTY)
    sink = Sink(ReduceNode(leaf, [], [Aggregate(SUM, 0)]))
    leaf.deliver(1, [((1,), 0, -2)], [("passes", 0, 1)])
    assert sink.contents(0) == Counter()
    assert sink.errors(0) == Counter({NEGATIVE_MULTIPLICITY: 1, "passes": 1})
    leaf.deliver(2, [((1,), 1, 2), (((1 << 62),), 1, 2)], [])
    assert sink.errors(1) == Counter({OUT_OF_RANGE: 1, "passes": 1})
    leaf.deliver(3, [(((1 << 62),), 2, -2)], [])
    assert sink.errors(2) == Counter({"passes": 1})
    assert sink.contents(2) == Counter()  # the group holds (1,) with count 0: absent


def test_reduce_with_an_empty_input_yields_no_rows_even_without_a_key() -> None:
    leaf = Leaf(0, EMPTY)
    sink = Sink(ReduceNode(leaf, [], [Aggregate(COUNT, 0)]))
    leaf.deliver(EMPTY, [], [])
    assert sink.contents(10) == Counter()


def test_reduce_distinguishes_datum_kinds_in_group_keys() -> None:
    leaf = Leaf(0, EMPTY)
    sink = Sink(ReduceNode(leaf, [0], [Aggregate(COUNT, 0)]))
    leaf.deliver(EMPTY, [((1,), 0, 1), ((True,), 0, 1), ((1.0,), 0, 1)], [])
    assert sink.contents(0) == rows((1, 1), (True, 1), (1.0, 1))
