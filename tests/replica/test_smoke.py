from __future__ import annotations

from tests.replica import plans as p
from tests.replica.controller import EMPTY, Controller


def test_constant_index_peek(ctl: Controller) -> None:
    desc = p.dataflow(
        as_of=0,
        objects=[(1, p.constant(2, [((1, "a"), 0, 1), ((2, "b"), 0, 2)]))],
        indexes=[p.index_export(2, 1, [0])],
    )
    ctl.start(p.create_dataflow(desc), p.schedule(2))
    assert ctl.wait_frontier(2, EMPTY) == EMPTY
    ctl.send(p.peek(7, 2, 0, 2))
    assert p.peek_rows(ctl.peek(7)) == p.keyed([((1, "a"), 1), ((2, "b"), 2)])
