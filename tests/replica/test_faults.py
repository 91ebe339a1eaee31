"""Each deliberate fault breaks its rule, and the checks used by these tests notice it.

This is how the checks in `checks.py` are shown to fail on bad input: the same scenario
passes on the correct replica (the other test modules) and fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_replica import faults
from tests.replica import plans as p
from tests.replica.checks import check_frontiers, check_peek_answers, check_subscribe
from tests.replica.controller import Controller
from tests.replica.process import replica_process
from tests.replica.storage_server import StorageServer


@pytest.fixture
def fault() -> Iterator[None]:
    yield
    faults.enable([])


def test_registry_names_a_rule_for_every_fault() -> None:
    spec = (Path(__file__).parents[2] / "docs" / "spec.md").read_text()
    must_rules = set(re.findall(r"^\| ([A-Z]+-\d+) \| MUST \|", spec, re.MULTILINE))
    robustness = set(re.findall(r"^\| ([A-Z]+-\d+) \| SHOULD \| robustness \|", spec, re.MULTILINE))
    assert robustness == {"TRANS-4", "TRANS-5"}
    for name, fault in faults.REGISTRY.items():
        assert fault.rule in must_rules | robustness and fault.name == name
    with pytest.raises(faults.UnknownFault):
        faults.enable(["nope"])
    with pytest.raises(KeyError):
        faults.on("not-registered")


def test_duplicate_peek_response_breaks_peek_1(fault: None, ctl: Controller) -> None:
    faults.enable(["duplicate-peek-response"])
    desc = p.dataflow(0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], indexes=[p.index_export(2, 1, [0])])
    ctl.start(p.create_dataflow(desc), p.peek(1, 2, 0, 1))
    ctl.wait(lambda: len(ctl.peek_responses(1)) == 2 or None, "the duplicate answer")
    with pytest.raises(AssertionError, match="PEEK-1"):
        check_peek_answers(ctl)


def test_frontier_regression_breaks_front_4(fault: None, ctl: Controller, storage: StorageServer) -> None:
    faults.enable(["frontier-regression"])
    storage.create_shard("s")
    desc = p.dataflow(0, sources=[p.source(1, storage.address, "s", 1)], indexes=[p.index_export(2, 1, [0])])
    ctl.start(p.create_dataflow(desc))
    ctl.wait_frontier(2, 0)
    storage.append("s", [((1,), 0, 1)], 3)
    ctl.wait(lambda: len(ctl.frontier_reports(2)) >= 3 or None, "the regressed report")
    with pytest.raises(AssertionError, match="FRONT-4"):
        check_frontiers(ctl, 2, as_of=0)


def test_no_droppedat_breaks_sub_13(fault: None, ctl: Controller, storage: StorageServer) -> None:
    faults.enable(["no-droppedat"])
    storage.create_shard("s")
    desc = p.dataflow(0, sources=[p.source(1, storage.address, "s", 1)], sinks=[p.subscribe(2, 1)])
    ctl.start(p.create_dataflow(desc))
    storage.append("s", [((1,), 0, 1)], 1)
    ctl.wait_subscribe_upper(2, 1)
    ctl.send(p.allow_compaction(2, None))
    with pytest.raises(AssertionError, match="DroppedAt"):
        ctl.wait(
            lambda: any(r.WhichOneof("kind") == "dropped_at" for r in ctl.subscribe_responses(2)) or None,
            "DroppedAt",
            timeout=0.5,
        )
    check_subscribe(ctl, 2, as_of=0)  # everything else is still in order


def test_the_switch_works_in_a_real_process() -> None:
    with replica_process("--inject-fault", "duplicate-peek-response") as (_, address):
        ctl = Controller(address)
        try:
            desc = p.dataflow(
                0, objects=[(1, p.constant(1, [((1,), 0, 1)]))], indexes=[p.index_export(2, 1, [0])]
            )
            ctl.start(p.create_dataflow(desc), p.peek(1, 2, 0, 1))
            ctl.wait(lambda: len(ctl.peek_responses(1)) == 2 or None, "the duplicate answer")
        finally:
            ctl.close()
