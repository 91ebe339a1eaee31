"""Reporting frontiers (spec section 6): monotone, never below as_of, `[]`, then silence.

For every index and materialized view the replica reports three frontiers: *write* (the
contents below it are final), *input* (the inputs have been read below it) and *output*
(processing below it is done). The reporter remembers what it last sent for each kind and
sends a `Frontiers` message carrying only the kinds that advanced (FRONT-4, FRONT-8). The
first report of a kind is at least the collection's as_of in the current iteration
(FRONT-3), so a reported value is `max(current, as_of)`. A kind reported as `[]` is never
mentioned again (FRONT-5); after a drop every kind goes to `[]` (FRONT-6) and then the
collection is forgotten (FRONT-7). On reconnect, carried-over collections start over
(RECON-3), and collections dropped by reconciliation are forgotten without a word (RECON-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference_replica import faults, responses, variants
from reference_replica.frontier import EMPTY
from reference_replica.responses import Responder

KINDS = 3  # write, input, output


@dataclass
class _Reported:
    as_of: int
    last: list[int | None] = field(default_factory=lambda: [None] * KINDS)
    muted: bool = False  # only under the fault untracked-init-dataflows


class FrontierReporter:
    def __init__(self, responder: Responder) -> None:
        self._responder = responder
        self._collections: dict[str, _Reported] = {}

    def track(self, collection: str, as_of: int) -> None:
        """Start (or restart) reporting `collection` from scratch."""
        old = self._collections.get(collection)
        if old is not None and faults.on("no-rereport-after-reconcile"):
            old.as_of = as_of  # FAULT: breaks RECON-3 (keeps what it reported before)
            return
        self._collections[collection] = _Reported(as_of)

    def forget(self, collection: str) -> None:
        """Stop reporting, silently (reconciliation drops)."""
        if faults.on("no-rereport-after-reconcile"):
            return  # FAULT: breaks RECON-3 (see track)
        self._collections.pop(collection, None)

    def mute(self, collection: str) -> None:
        """FAULT untracked-init-dataflows (STAGE-3): no progress reports for `collection`."""
        state = self._collections.get(collection)
        if state is not None:
            state.muted = True

    def report(
        self, collection: str, current: tuple[int, int, int], alias: str | None = None, held: tuple[int, ...] = ()
    ) -> None:
        """Report the kinds that advanced; `held` kinds are not reported now (a variant's)."""
        state = self._collections.get(collection)
        if state is None or state.muted:
            return
        values: list[int | None] = [None] * KINDS
        for kind, now in enumerate(current):
            if kind in held:
                continue
            value = max(now, state.as_of)
            last = state.last[kind]
            if last is None and value < EMPTY and faults.on("raw-initial-frontier"):
                value = 0  # FAULT: breaks FRONT-3 (the operator's initial frontier)
            if kind == 1 and last is not None and faults.on("stuck-input-frontier"):
                continue  # FAULT: breaks FRONT-9
            if last is None or value > last:
                values[kind] = value
        if all(v is None for v in values):
            return
        previous_write = state.last[0]
        for kind, reported in enumerate(values):
            if reported is not None:
                state.last[kind] = reported
        self._send(collection, values, state)
        if alias is not None:
            self._responder.send(responses.frontiers(alias, *values))  # FAULT: breaks FRONT-2
        new_write = values[0]
        if (
            faults.on("frontier-regression")
            and previous_write is not None
            and new_write is not None
            and new_write < EMPTY
        ):
            self._responder.send(responses.frontiers(collection, new_write - 1, None, None))  # FAULT: FRONT-4

    def drop(self, collection: str) -> None:
        """Report `[]` for every kind not yet `[]`, then forget the collection."""
        state = self._collections.pop(collection, None)
        if state is None or faults.on("silent-drop"):  # FAULT: silent-drop breaks FRONT-6
            return
        values = [None if last == EMPTY else EMPTY for last in state.last]
        if faults.on("partial-final-report"):
            values[1:] = [None, None]  # FAULT: breaks FRONT-6 (only the write frontier)
        if any(v is not None for v in values):
            state.last = [EMPTY if v == EMPTY else last for v, last in zip(values, state.last, strict=True)]
            self._send(collection, values, state)

    def _send(self, collection: str, values: list[int | None], state: _Reported) -> None:
        """Send one report whose values `state` already records."""
        newly_empty = [kind for kind, v in enumerate(values) if v == EMPTY]
        if len(newly_empty) > 1 and faults.on("repeat-empty-kind"):
            first: list[int | None] = [None] * KINDS
            first[newly_empty[0]] = EMPTY
            self._responder.send(responses.frontiers(collection, *first))  # FAULT: breaks FRONT-5
        if variants.on("frontier-kinds-together"):  # VARIANT: the kinds not yet [] ride along
            values = [
                v if v is not None else (last if last != EMPTY else None)
                for v, last in zip(values, state.last, strict=True)
            ]
        if variants.on("frontier-kinds-one-by-one"):  # VARIANT: one message per kind
            for kind, value in enumerate(values):
                if value is not None:
                    alone: list[int | None] = [None] * KINDS
                    alone[kind] = value
                    self._responder.send(responses.frontiers(collection, *alone))
        else:
            self._responder.send(responses.frontiers(collection, *values))
        if variants.on("repeat-frontier-reports"):  # VARIANT: FRONT-11, equal repeats of what is not []
            again = [last if last is not None and last != EMPTY else None for last in state.last]
            if any(v is not None for v in again):
                self._responder.send(responses.frontiers(collection, *again))
        if newly_empty and faults.on("frontiers-after-final") and all(v == EMPTY for v in state.last):
            self._responder.send(responses.frontiers(collection, *values))  # FAULT: breaks FRONT-7

    def last(self, collection: str, kind: int) -> int | None:
        """The value last reported for a kind (None: not yet, or not tracked)."""
        state = self._collections.get(collection)
        return None if state is None else state.last[kind]

    def all_empty(self, collection: str) -> bool:
        """Has every kind been reported `[]`? (Such a collection has *finished*, STATUS-1.)"""
        state = self._collections.get(collection)
        return state is None or all(last == EMPTY for last in state.last)
