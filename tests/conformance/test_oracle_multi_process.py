"""The merged view of a multi-process replica (spec 15): shares that add up pass, and wrong
merged contents fail the contents rule of their output, on the merge.

Each history is a replica of two processes (`c1.p0`, `c1.p1`); process 0 gets the commands.
A subscribe over shard `a` (R1 at 0, R2 at 2, upper 5) and a copy-to of it at as_of 3: each
process answers for one row. The same histories with one process's share doubled, or with
errors nobody reports, fail.
"""

from __future__ import annotations

import pytest

from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import Row
from tests.conformance.breakers import R1, R2, late
from tests.conformance.histories import History


def _replica(*, errors: bool = False) -> History:
    h = History()
    h.connect("c1", processes=2, init=False)
    if errors:
        return h
    h.shard("a").write("a", [(R1, 0, 1), (R2, 2, 1)], upper=5)
    return h


def _subscribed(*, constant: list[tuple[object, int, int]] | None = None) -> History:
    h = _replica(errors=constant is not None)
    if constant is None:
        h.subscribe("c1.p0", "u1", source="a")
    else:
        h.subscribe("c1.p0", "u1", constant=constant)
    return h.init("c1.p0")


def _rules(h: History) -> set[tuple[str, str]]:
    return {(v.rule, v.stream) for v in late(h).judged()}


def test_subscribe_shares_that_add_up_pass() -> None:
    h = _subscribed()
    h.batch("c1.p0", "u1", 0, 5, [(0, R1, 1)]).batch("c1.p1", "u1", 0, 3, [(2, R2, 1)])
    h.batch("c1.p1", "u1", 3, 5)
    assert _rules(h) == set()


@pytest.mark.parametrize("doubled", ["c1.p0", "c1.p1"])
def test_a_doubled_subscribe_share_fails_sub_6_on_the_merge(doubled: str) -> None:
    h = _subscribed()
    p0, p1 = (2, 1) if doubled == "c1.p0" else (1, 2)
    h.batch("c1.p0", "u1", 0, 5, [(0, R1, p0)]).batch("c1.p1", "u1", 0, 5, [(2, R2, p1)])
    judged = late(h).judged()
    assert {v.rule for v in judged} == {"SUB-6"}
    assert all("merged over 2 processes" in v.subject for v in judged)


def test_a_missing_subscribe_share_fails_sub_6_only_once_every_process_passed_the_time() -> None:
    h = _subscribed()
    h.batch("c1.p0", "u1", 0, 5, [(0, R1, 1)])
    silent = _rules(h)  # process 1 owes its batches (liveness, on its stream); nothing merged yet
    assert silent and {stream for _, stream in silent} == {"c1.p1"} and "SUB-6" not in {r for r, _ in silent}
    h = _subscribed()
    h.batch("c1.p0", "u1", 0, 5, [(0, R1, 1)]).batch("c1.p1", "u1", 0, 5)
    assert {rule for rule, _ in _rules(h)} == {"SUB-6"}


def test_errors_need_an_error_batch_from_some_process() -> None:
    constant: list[tuple[object, int, int]] = [(R1, 0, 1), ("oops", 0, 1)]
    h = _subscribed(constant=constant)
    h.batch("c1.p0", "u1", 0, EMPTY, [(0, R1, 1)]).batch("c1.p1", "u1", 0, EMPTY)
    assert {rule for rule, _ in _rules(h)} == {"SUB-7"}
    h = _subscribed(constant=constant)
    h.batch("c1.p0", "u1", 0, EMPTY, error="oops").batch("c1.p1", "u1", 0, EMPTY)
    assert _rules(h) == set()


def _copied(p0_rows: list[Row], p1_rows: list[Row], counts: tuple[int, int]) -> History:
    h = _replica()
    h.copy_to("c1.p0", "u1", source="a", blob_key="k", as_of=3).init("c1.p0").allow_writes("c1.p0")
    h.blob("k.part-0", p0_rows).copied("c1.p0", "u1", counts[0])
    h.blob("k.part-1", p1_rows).copied("c1.p1", "u1", counts[1])
    return h


def test_copy_to_parts_that_add_up_pass() -> None:
    assert _rules(_copied([R1], [R2], (1, 1))) == set()
    assert _rules(_copied([R1, R2], [], (2, 0))) == set()  # a process with no share writes an empty part


def test_a_doubled_copy_to_part_fails_copy_4_on_the_merge() -> None:
    judged = late(_copied([R1], [R2, R2], (1, 2))).judged()
    assert {v.rule for v in judged} == {"COPY-4"}
    assert all("merged over 2 processes" in v.subject for v in judged)


def test_a_count_other_than_the_part_fails_copy_4_on_its_stream() -> None:
    assert _rules(_copied([R1], [R2], (1, 2))) == {("COPY-4", "c1.p1")}


def test_a_part_under_the_plain_key_is_not_a_process_part() -> None:
    h = _replica()
    h.copy_to("c1.p0", "u1", source="a", blob_key="k", as_of=3).init("c1.p0").allow_writes("c1.p0")
    h.blob("k", [R1, R2]).copied("c1.p0", "u1", 2).copied("c1.p1", "u1", 0)
    assert {rule for rule, _ in _rules(h)} == {"COPY-4"}

