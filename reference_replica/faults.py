"""Deliberate bugs, for proving that the suite catches them (the mutant zoo).

`python -m reference_replica --inject-fault NAME` (repeatable) turns a fault on. Each fault
breaks exactly one rule of docs/spec.md, named in its entry, and hooks into the replica at
one of its central emission points with a line like

    if faults.on("duplicate-peek-response"):
        ...

The emission points are `responses.Responder` (every response), `frontier_reports`
(frontier values), the sinks' storage writes (`storage.writes`), and the subscribe and
peek code. `on()` is a set lookup, so the checks cost nothing measurable when no fault is set.
To add a fault: register it below with its rule id, then add its check at the right point.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Fault:
    name: str
    rule: str  # the docs/spec.md rule id it breaks
    description: str


REGISTRY: Final[dict[str, Fault]] = {
    fault.name: fault
    for fault in [
        Fault("duplicate-peek-response", "PEEK-1", "answer every peek twice"),
        Fault(
            "frontier-regression",
            "FRONT-4",
            "after a write frontier advances, report it once more one time lower",
        ),
        Fault("no-droppedat", "SUB-13", "drop subscribes silently, without DroppedAt"),
    ]
}

_enabled: set[str] = set()


class UnknownFault(ValueError):
    pass


def enable(names: Iterable[str]) -> None:
    """Turn faults on (replacing the current set); raises UnknownFault for a bad name."""
    wanted = set(names)
    unknown = sorted(wanted - REGISTRY.keys())
    if unknown:
        raise UnknownFault(f"unknown fault(s) {', '.join(unknown)}; valid faults:\n{describe()}")
    _enabled.clear()
    _enabled.update(wanted)


def on(name: str) -> bool:
    if name not in REGISTRY:
        raise KeyError(f"fault {name!r} is not registered in reference_replica.faults")
    return name in _enabled


def enabled() -> list[str]:
    return sorted(_enabled)


def describe() -> str:
    return "\n".join(f"  {f.name:28} breaks {f.rule:9} {f.description}" for f in REGISTRY.values())
