"""Open obligations: the "eventually" rules, each with a patience budget.

An obligation becomes due at some moment (the event that made the answer owed) and is violated
if nothing discharges it within `patience` seconds. Obligations in one `group` (for instance
every milestone of one frontier kind of one collection on one stream) are discharged together
by a value that reaches their `target`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

from conformance.wire.frontiers import EMPTY


@dataclass
class Obligation:
    """Something the replica owes on `stream`.

    `subject` names the thing awaited ("peek 0x1", "u3 write frontier"), `awaited` what would
    discharge it ("an answer", "a report >= [7]"), `due` when it became owed, and `progress`
    (evaluated when the obligation is described) what arrived instead so far.
    """

    key: Hashable
    rule: str
    stream: str
    subject: str
    awaited: str
    due: float
    patience: float
    group: Hashable = None
    target: int = EMPTY
    progress: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    baseline: Counter[str] | None = field(default=None, repr=False, compare=False)  # responses by kind when due

    @property
    def deadline(self) -> float:
        return self.due + self.patience

    def arrived(self, received: Counter[str] | None = None) -> str:
        """What arrived towards it; with `received` (the stream's responses by kind so far), also
        what else arrived on the stream since it became due, summarized."""
        text = self.progress() if self.progress is not None else "nothing"
        if received is None or self.baseline is None:
            return text
        since = received - self.baseline
        if not since:
            return f"{text} (no response at all on {self.stream} since it was due)"
        kinds = ", ".join(f"{n} {k}" for k, n in since.most_common())
        return f"{text} (on {self.stream} since it was due: {sum(since.values())} other response(s): {kinds})"

    def describe(self, now: float | None = None) -> str:
        waited = f", owed for {now - self.due:.2f} s" if now is not None else ""
        return (
            f"{self.rule} on {self.stream}: {self.subject} awaits {self.awaited}"
            f" (due since t={self.due:.3f}{waited}, patience {self.patience:g} s); "
            f"arrived instead: {self.arrived()}"
        )


class ObligationBook:
    """The open obligations of one oracle, keyed so that reopening one is a no-op."""

    def __init__(self) -> None:
        self._open: dict[Hashable, Obligation] = {}
        self._spent: set[Hashable] = set()
        self._earliest = math.inf  # at most the earliest deadline of the open ones (expire runs per event)

    def __iter__(self) -> Iterator[Obligation]:
        return iter(list(self._open.values()))

    def seen(self, key: Hashable) -> bool:
        """Open now, or opened before and expired (a verdict was given)."""
        return key in self._open or key in self._spent

    def open(self, ob: Obligation) -> bool:
        """Open `ob` unless its key is open (the earlier one counts) or already expired (judged once)."""
        if ob.key in self._open or ob.key in self._spent:
            return False
        self._open[ob.key] = ob
        self._earliest = min(self._earliest, ob.deadline)
        return True

    def discharge(self, key: Hashable) -> Obligation | None:
        return self._open.pop(key, None)

    def discharge_group(self, group: Hashable, reached: int = EMPTY) -> list[Obligation]:
        """Discharge every obligation of `group` whose target is `<= reached`."""
        done = [ob for ob in self._open.values() if ob.group == group and ob.target <= reached]
        for ob in done:
            del self._open[ob.key]
        return done

    def cancel_where(self, pred: Callable[[Obligation], bool]) -> list[Obligation]:
        """Withdraw obligations that no longer apply (stream gone, collection dropped ...)."""
        gone = [ob for ob in self._open.values() if pred(ob)]
        for ob in gone:
            del self._open[ob.key]
        return gone

    def expire(self, now: float) -> list[Obligation]:
        """Remove and return the obligations whose deadline passed before `now`, oldest first."""
        if now <= self._earliest:
            return []
        late = sorted((ob for ob in self._open.values() if ob.deadline < now), key=lambda ob: ob.deadline)
        for ob in late:
            del self._open[ob.key]
            self._spent.add(ob.key)
        self._earliest = min((ob.deadline for ob in self._open.values()), default=math.inf)
        return late
