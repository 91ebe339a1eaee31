"""Inputs of a dataflow, and where the time semantics of spec 5.2 are applied.

Every input (a source shard, an imported index, a constant) enters through a `Leaf`, which
does two things to each update before anything else sees it:

- a time below the dataflow's `as_of` is advanced to `as_of` ("read as if it happened at
  as_of"), so the contents at any `t >= as_of` are unchanged and nothing below is observable;
- an update at a time `>= until` is dropped. Plans are applied time by time, so dropping
  those input updates makes every output at `t >= until` equal the output at `until - 1`,
  which is exactly what `until` promises.

Frontiers are left alone (they may pass `until`). A delivery whose upper does not pass the
leaf's frontier (a first Listen batch ending at `as_of`, say) is kept until the next one.
"""

from __future__ import annotations

from reference_replica import faults, variants
from reference_replica.dataflow.batch import Batch, ErrUpdate, Update
from reference_replica.dataflow.node import Node
from reference_replica.frontier import EMPTY


class Leaf(Node):
    def __init__(self, as_of: int, until: int) -> None:
        super().__init__(as_of)
        self.until = until
        self._held_oks: list[Update] = []
        self._held_errs: list[ErrUpdate] = []

    def start(self) -> None:
        """Begin producing input; called once the whole dataflow is wired."""

    def stop(self) -> None:
        """Stop producing input (the dataflow is being torn down)."""

    def deliver(self, upper: int, oks: list[Update], errs: list[ErrUpdate]) -> None:
        if self.frontier == EMPTY:
            return  # done (only after the variant until-closes-dataflow: nothing more can count)
        as_of = self.as_of
        until = self.until
        if until < EMPTY and upper >= until and variants.on("until-closes-dataflow"):
            upper = EMPTY  # VARIANT: FRONT-13, nothing at or beyond until can change the contents
        if oks and min(u[1] for u in oks) < as_of:
            oks = [(row, time if time >= as_of else as_of, diff) for row, time, diff in oks]
        if errs:
            errs = [(msg, time if time >= as_of else as_of, diff) for msg, time, diff in errs]
        if until < EMPTY:  # after advancing, so that `until <= as_of` leaves nothing (spec 5.2)
            if faults.on("until-inclusive"):
                until += 1  # FAULT: t <= until instead of t < until
            oks = [u for u in oks if u[1] < until]
            errs = [e for e in errs if e[1] < until]
        if upper <= self.frontier:
            self._held_oks.extend(oks)
            self._held_errs.extend(errs)
            return
        if self._held_oks or self._held_errs:
            oks = self._held_oks + oks
            errs = self._held_errs + errs
            self._held_oks = []
            self._held_errs = []
        self.emit(Batch(self.frontier, upper, oks, errs))
