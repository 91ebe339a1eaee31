"""What a replica declares it supports, and which rules only unsupported features can exercise.

A replica author may implement the protocol in stages. `--capabilities FILE` (JSON) says
which plan operators, sink kinds and peek targets the replica supports; the state machines
generate only those, scenarios that need anything else are skipped, and rules that only the
missing features can exercise are reported "not applicable" instead of "not exercised".

File format (every key optional; a missing key means "all of them"):

    {"plan_operators": ["get", "constant", "mfp", "union", "negate", "threshold", "join", "reduce"],
     "sink_kinds": ["subscribe", "materialized_view", "copy_to"],
     "peek_targets": ["index", "persist"]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PLAN_OPERATORS: Final = ("get", "constant", "mfp", "union", "negate", "threshold", "join", "reduce")
SINK_KINDS: Final = ("subscribe", "materialized_view", "copy_to")
PEEK_TARGETS: Final = ("index", "persist")

_FIELDS: Final = {"plan_operators": PLAN_OPERATORS, "sink_kinds": SINK_KINDS, "peek_targets": PEEK_TARGETS}
_PREFIX: Final = {"plan_operators": "op", "sink_kinds": "sink", "peek_targets": "peek"}

# Rules that need particular features to be exercised at all. Each entry is a conjunction of
# alternatives: every group must have at least one supported feature. Features are spelled
# "op:NAME", "sink:NAME", "peek:NAME". Rules not listed need nothing beyond an index export.
_ERRORS: Final = frozenset({"op:constant", "op:mfp"})
_NEGATIVE: Final = frozenset({"op:negate", "op:constant"})
RULE_NEEDS: Final[dict[str, tuple[frozenset[str], ...]]] = {
    **{f"SUB-{i}": (frozenset({"sink:subscribe"}),) for i in range(1, 15)},
    **{f"COPY-{i}": (frozenset({"sink:copy_to"}),) for i in range(1, 5)},
    "SUB-7": (frozenset({"sink:subscribe"}), _ERRORS),
    "SUB-8": (frozenset({"sink:subscribe"}), _ERRORS),
    "DF-4": (frozenset({"sink:materialized_view"}),),
    "RO-1": (frozenset({"sink:materialized_view", "sink:copy_to"}),),
    "RO-2": (frozenset({"sink:materialized_view"}),),
    "RO-3": (frozenset({"sink:materialized_view"}),),
    **{f"PEEK-{i}": (frozenset({"peek:index", "peek:persist"}),) for i in range(1, 14)},
    "PEEK-10": (frozenset({"peek:index", "peek:persist"}), _ERRORS | _NEGATIVE),
    "RECON-2": (frozenset({"peek:index", "peek:persist"}),),
}


class CapabilitiesError(ValueError):
    """A capabilities file that cannot be read; the message names the file and the field."""


@dataclass(frozen=True)
class Capabilities:
    plan_operators: frozenset[str] = frozenset(PLAN_OPERATORS)
    sink_kinds: frozenset[str] = frozenset(SINK_KINDS)
    peek_targets: frozenset[str] = frozenset(PEEK_TARGETS)

    @property
    def features(self) -> frozenset[str]:
        return frozenset(
            {f"op:{o}" for o in self.plan_operators}
            | {f"sink:{s}" for s in self.sink_kinds}
            | {f"peek:{p}" for p in self.peek_targets}
        )

    def is_full(self) -> bool:
        return self == Capabilities()

    def supports(self, feature: str) -> bool:
        return feature in self.features

    def missing(self, needed: set[str] | frozenset[str]) -> list[str]:
        return sorted(f for f in needed if f not in self.features)

    def applicable(self, rule_id: str) -> bool:
        return all(group & self.features for group in RULE_NEEDS.get(rule_id, ()))

    def to_json(self) -> dict[str, list[str]]:
        return {
            "plan_operators": sorted(self.plan_operators),
            "sink_kinds": sorted(self.sink_kinds),
            "peek_targets": sorted(self.peek_targets),
        }


def parse_capabilities(data: object, source: str = "<capabilities>") -> Capabilities:
    if not isinstance(data, dict):
        raise CapabilitiesError(f"{source}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise CapabilitiesError(f"{source}: unknown field {unknown[0]!r}; known fields: {', '.join(_FIELDS)}")
    values: dict[str, frozenset[str]] = {}
    for name, allowed in _FIELDS.items():
        if name not in data:
            continue
        raw = data[name]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise CapabilitiesError(f"{source}: field {name!r} must be a list of strings")
        bad = sorted(set(raw) - set(allowed))
        if bad:
            raise CapabilitiesError(
                f"{source}: field {name!r}: unknown value {bad[0]!r}; allowed: {', '.join(allowed)}"
            )
        values[name] = frozenset(raw)
    caps = Capabilities(**values)
    if "get" not in caps.plan_operators:
        raise CapabilitiesError(f"{source}: field 'plan_operators' must include 'get' (every dataflow reads an input)")
    return caps


def load_capabilities(path: str | Path) -> Capabilities:
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except OSError as e:
        raise CapabilitiesError(f"{p}: cannot read capabilities file: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise CapabilitiesError(f"{p}: not valid JSON: {e}") from None
    except RecursionError:
        raise CapabilitiesError(f"{p}: not a capabilities file: JSON nested too deeply") from None
    except UnicodeDecodeError as e:
        raise CapabilitiesError(f"{p}: not a text file: {e.reason} at byte {e.start}") from None
    return parse_capabilities(data, str(p))
