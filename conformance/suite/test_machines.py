"""The state machines: generated command sequences over the whole protocol.

The read-only machine needs a replica that never received AllowWrites (RO-1, RO-3, copy-tos
waiting for writability), so it is marked to run first and, when the suite owns replicas,
gets a fresh one of its own. The protocol machine is split into a few independent tests so
that xdist workers share the load; each is its own Hypothesis search.
"""

from __future__ import annotations

import pytest

from conformance.machines.protocol import ProtocolMachine, ReadOnlyMachine
from conformance.session.harness import run_machine
from conformance.session.worker import WorkerContext

PARTS = 4


@pytest.mark.conformance_fresh_replica
def test_read_only_machine(request: pytest.FixtureRequest, conformance_worker: WorkerContext) -> None:
    run_machine(request, conformance_worker, ReadOnlyMachine, fresh=True)


@pytest.mark.parametrize("part", range(PARTS))
def test_protocol_machine(request: pytest.FixtureRequest, conformance_worker: WorkerContext, part: int) -> None:
    run_machine(request, conformance_worker, ProtocolMachine)
