"""Invariant checks over everything a controller received, each citing its spec rule.

Integration tests call these after their scenario; `test_faults` shows each of them failing
on a replica with the matching deliberate bug.
"""

from __future__ import annotations

from collections import Counter

from tests.replica.controller import EMPTY, Controller, frontier_value
from tests.replica.plans import gid, values_of

KINDS = ("write_frontier", "input_frontier", "output_frontier")


def check_frontiers(ctl: Controller, collection: int, as_of: int) -> None:
    last: dict[str, int | None] = dict.fromkeys(KINDS)
    for i, report in enumerate(ctl.frontier_reports(collection)):
        assert all(v == EMPTY for v in last.values()) is False, f"FRONT-7: report {i} after all kinds were []"
        assert any(report.HasField(k) for k in KINDS), f"FRONT-8: report {i} carries no kind"  # type: ignore[arg-type]
        for kind in KINDS:
            if not report.HasField(kind):  # type: ignore[arg-type]
                continue
            value = frontier_value(getattr(report, kind))
            previous = last[kind]
            if previous is None:
                assert value >= as_of, f"FRONT-3: first {kind} of u{collection} is {value} < as_of {as_of}"
            else:
                assert previous != EMPTY, f"FRONT-5: {kind} of u{collection} reported after []"
                assert value >= previous, f"FRONT-4: {kind} of u{collection} went from {previous} to {value}"
            last[kind] = value


def check_peek_answers(ctl: Controller) -> None:
    counts = Counter((r.peek_response.id.hi, r.peek_response.id.lo) for r in ctl.of_kind("peek_response"))
    repeated = {k: c for k, c in counts.items() if c > 1}
    assert not repeated, f"PEEK-1: peeks answered more than once: {repeated}"


def check_subscribe(ctl: Controller, collection: int, as_of: int) -> None:
    previous_upper: int | None = None
    ended = False
    for i, response in enumerate(ctl.subscribe_responses(collection)):
        assert not ended, f"SUB-11/SUB-12: response {i} for u{collection} after its end"
        if response.WhichOneof("kind") == "dropped_at":
            at = frontier_value(response.dropped_at)
            assert at == (previous_upper if previous_upper is not None else 0), f"SUB-12: DroppedAt({at})"
            ended = True
            continue
        batch = response.batch
        lower, upper = frontier_value(batch.lower), frontier_value(batch.upper)
        expected_lower = 0 if previous_upper is None else previous_upper
        assert lower == expected_lower, f"SUB-1: batch {i} lower {lower}, expected {expected_lower}"
        assert lower < upper, f"SUB-2: empty interval [{lower}, {upper})"
        if previous_upper is None:
            assert upper >= as_of, f"SUB-3: first upper {upper} < as_of {as_of}"
        if batch.updates.WhichOneof("kind") == "updates":
            seen = set()
            for u in batch.updates.updates.updates:
                assert lower <= u.timestamp < upper and u.timestamp >= as_of, (
                    f"SUB-4: update at {u.timestamp}"
                )
                key = (u.timestamp, tuple(values_of(u.row)))
                assert u.diff != 0 and key not in seen, f"SUB-5: not consolidated: {key}"
                seen.add(key)
        previous_upper = upper
        ended = upper == EMPTY


def subscribe_contents(ctl: Controller, collection: int, t: int) -> Counter[tuple[tuple[str, object], ...]]:
    from tests.replica.plans import keyed

    updates = []
    for response in ctl.subscribe_responses(collection):
        if response.WhichOneof("kind") == "batch" and response.batch.updates.WhichOneof("kind") == "updates":
            updates += [
                (values_of(u.row), u.diff) for u in response.batch.updates.updates.updates if u.timestamp <= t
            ]
    return keyed(updates)


def check_silent(ctl: Controller, *collections: int) -> None:
    """RECON-1: nothing at all about these ids on this stream."""
    for collection in collections:
        assert not ctl.about(collection), f"RECON-1: responses about u{collection}: {ctl.about(collection)}"


__all__ = ["check_frontiers", "check_peek_answers", "check_silent", "check_subscribe", "gid"]
