"""One normative rule of docs/spec.md, as the suite cites it in every verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["MUST", "SHOULD", "MAY", "CTRL"]
Kind = Literal["safety", "liveness", "robustness", "permission", "controller"]

LEVELS: tuple[Level, ...] = ("MUST", "SHOULD", "MAY", "CTRL")
KINDS: tuple[Kind, ...] = ("safety", "liveness", "robustness", "permission", "controller")


@dataclass(frozen=True)
class Rule:
    """A rule as the spec states it.

    `section` is the spec section number (the module the rule lives in), `upstream` names the
    upstream rules (R1..R99), ambiguities (A1..A24), behaviours of upstream's replica (U1..,
    docs/upstream.md) or bugs (B1..) it derives from, and
    `observed_by` says how a controller sees a violation, so that a verdict can explain itself.
    """

    id: str
    level: Level
    kind: Kind
    section: int
    summary: str
    upstream: tuple[str, ...]
    observed_by: str

    @property
    def checked_by_oracle(self) -> bool:
        """MUST/SHOULD safety and liveness rules are what the oracle verifies on every stream."""
        return self.level in ("MUST", "SHOULD") and self.kind in ("safety", "liveness")
