"""The step vocabulary's schema: one table that both validates steps and documents them.

Every field type here can check a JSON value (raising `FieldError` with the field's path)
and describe itself as JSON Schema, so `scenarios/schema.json` is generated from the same
table the loader enforces and the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from conformance.steps.values import (
    FieldError,
    decode_column,
    decode_datum,
    decode_frontier,
    decode_row,
    decode_time,
    is_int,
)

Json = Any


class Field:
    """A field type: `check` raises FieldError on a bad value; `schema` is its JSON Schema."""

    def check(self, v: Json, path: str) -> None:
        raise NotImplementedError

    def schema(self) -> dict[str, Json]:
        raise NotImplementedError


class Name(Field):
    def __init__(self, what: str) -> None:
        self.what = what

    def check(self, v: Json, path: str) -> None:
        if not isinstance(v, str) or not v or len(v) > 64 or not all(c.isalnum() or c in "_-." for c in v):
            raise FieldError(path, f"expected the name of a {self.what} (letters, digits, _-.), got {v!r}")

    def schema(self) -> dict[str, Json]:
        return {
            "type": "string",
            "pattern": "^[A-Za-z0-9_.-]{1,64}$",
            "description": f"name of a {self.what}",
        }


class Time(Field):
    def check(self, v: Json, path: str) -> None:
        decode_time(v, path)

    def schema(self) -> dict[str, Json]:
        return {"type": "integer", "minimum": 0, "maximum": (1 << 64) - 1}


class Frontier(Field):
    def check(self, v: Json, path: str) -> None:
        decode_frontier(v, path)

    def schema(self) -> dict[str, Json]:
        return {"type": "array", "maxItems": 1, "items": Time().schema(), "description": "[t] or [] (empty)"}


class Int(Field):
    def __init__(self, lo: int | None = None, hi: int | None = None) -> None:
        self.lo, self.hi = lo, hi

    def check(self, v: Json, path: str) -> None:
        if not is_int(v) or (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise FieldError(path, f"expected an integer in [{self.lo}, {self.hi}], got {v!r}")

    def schema(self) -> dict[str, Json]:
        s: dict[str, Json] = {"type": "integer"}
        if self.lo is not None:
            s["minimum"] = self.lo
        if self.hi is not None:
            s["maximum"] = self.hi
        return s


class Number(Field):
    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def check(self, v: Json, path: str) -> None:
        if isinstance(v, bool) or not isinstance(v, int | float) or not self.lo <= v <= self.hi:
            raise FieldError(path, f"expected a number in [{self.lo}, {self.hi}], got {v!r}")

    def schema(self) -> dict[str, Json]:
        return {"type": "number", "minimum": self.lo, "maximum": self.hi}


class Str(Field):
    def check(self, v: Json, path: str) -> None:
        if not isinstance(v, str):
            raise FieldError(path, f"expected a string, got {v!r}")

    def schema(self) -> dict[str, Json]:
        return {"type": "string"}


class Bool(Field):
    def check(self, v: Json, path: str) -> None:
        if not isinstance(v, bool):
            raise FieldError(path, f"expected true or false, got {v!r}")

    def schema(self) -> dict[str, Json]:
        return {"type": "boolean"}


class Enum(Field):
    def __init__(self, *values: str) -> None:
        self.values = values

    def check(self, v: Json, path: str) -> None:
        if v not in self.values:
            raise FieldError(path, f"expected one of {', '.join(self.values)}, got {v!r}")

    def schema(self) -> dict[str, Json]:
        return {"enum": list(self.values)}


class Datum(Field):
    def check(self, v: Json, path: str) -> None:
        decode_datum(v, path)

    def schema(self) -> dict[str, Json]:
        tagged = {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "propertyNames": {"enum": ["null", "bool", "int64", "float64", "string", "bytes"]},
        }
        return {"anyOf": [{"type": ["null", "boolean", "integer", "number", "string"]}, tagged]}


class Row(Field):
    def check(self, v: Json, path: str) -> None:
        decode_row(v, path)

    def schema(self) -> dict[str, Json]:
        return {"type": "array", "items": {"$ref": "#/$defs/datum"}}


class Column(Field):
    def check(self, v: Json, path: str) -> None:
        decode_column(v, path)

    def schema(self) -> dict[str, Json]:
        return {"type": "string", "pattern": "^(bool|int64|float64|string|bytes)\\??$"}


class ListOf(Field):
    def __init__(self, item: Field, min_items: int = 0) -> None:
        self.item, self.min_items = item, min_items

    def check(self, v: Json, path: str) -> None:
        if not isinstance(v, list):
            raise FieldError(path, f"expected a list, got {v!r}")
        if len(v) < self.min_items:
            raise FieldError(path, f"expected at least {self.min_items} item(s)")
        for i, x in enumerate(v):
            self.item.check(x, f"{path}[{i}]")

    def schema(self) -> dict[str, Json]:
        return {"type": "array", "items": self.item.schema(), "minItems": self.min_items}


class Tuple(Field):
    """A fixed-length list such as an update `[row, time, diff]`."""

    def __init__(self, *items: tuple[str, Field]) -> None:
        self.items = items

    def check(self, v: Json, path: str) -> None:
        names = ", ".join(n for n, _ in self.items)
        if not isinstance(v, list) or len(v) != len(self.items):
            raise FieldError(path, f"expected [{names}], got {v!r}")
        for i, ((_, f), x) in enumerate(zip(self.items, v, strict=True)):
            f.check(x, f"{path}[{i}]")

    def schema(self) -> dict[str, Json]:
        return {
            "type": "array",
            "prefixItems": [f.schema() for _, f in self.items],
            "minItems": len(self.items),
            "maxItems": len(self.items),
            "description": "[" + ", ".join(n for n, _ in self.items) + "]",
        }


class StrMap(Field):
    def check(self, v: Json, path: str) -> None:
        if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
            raise FieldError(path, f"expected an object of string values, got {v!r}")

    def schema(self) -> dict[str, Json]:
        return {"type": "object", "additionalProperties": {"type": "string"}}


class Nullable(Field):
    def __init__(self, inner: Field) -> None:
        self.inner = inner

    def check(self, v: Json, path: str) -> None:
        if v is not None:
            self.inner.check(v, path)

    def schema(self) -> dict[str, Json]:
        return {"anyOf": [{"type": "null"}, self.inner.schema()]}


class Obj(Field):
    """An object with required and optional fields; unknown fields are errors (typos get caught)."""

    def __init__(
        self,
        required: Mapping[str, Field],
        optional: Mapping[str, Field] | None = None,
        description: str = "",
    ) -> None:
        self.required = dict(required)
        self.optional = dict(optional or {})
        self.description = description

    def check(self, v: Json, path: str) -> None:
        if not isinstance(v, dict):
            raise FieldError(path, f"expected an object, got {v!r}")
        for name in self.required:
            if name not in v:
                raise FieldError(_join(path, name), "is required but missing")
        known = self.required | self.optional
        for name, value in v.items():
            if name not in known:
                raise FieldError(_join(path, name), f"unknown field; expected one of {', '.join(sorted(known))}")
            known[name].check(value, _join(path, name))

    def schema(self) -> dict[str, Json]:
        s: dict[str, Json] = {
            "type": "object",
            "properties": {n: f.schema() for n, f in (self.required | self.optional).items()},
            "required": list(self.required),
            "additionalProperties": False,
        }
        if self.description:
            s["description"] = self.description
        return s


class OneKey(Field):
    """An object with exactly one of the given keys: plans and expressions (`{"get": "s"}`)."""

    def __init__(self, what: str, ref: str) -> None:
        self.what, self.ref = what, ref
        self.variants: dict[str, Field] = {}

    def check(self, v: Json, path: str) -> None:
        if not isinstance(v, dict) or len(v) != 1:
            raise FieldError(path, f"expected a {self.what}: an object with one key of {', '.join(self.variants)}")
        ((key, inner),) = v.items()
        if key not in self.variants:
            raise FieldError(_join(path, key), f"unknown {self.what}; expected one of {', '.join(self.variants)}")
        self.variants[key].check(inner, _join(path, key))

    def schema(self) -> dict[str, Json]:
        return {"$ref": f"#/$defs/{self.ref}"}

    def definition(self) -> dict[str, Json]:
        return {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {k: f.schema()},
                    "required": [k],
                    "additionalProperties": False,
                }
                for k, f in self.variants.items()
            ]
        }


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# ---- expressions and plans (spec 5.3) ----

EXPR: Final = OneKey("scalar expression", "expr")
EXPR.variants.update(
    {
        "column": Int(0, 1 << 32),
        "literal": Datum(),
        **{f: EXPR for f in ("not", "is_null", "neg")},
        **{
            f: Tuple(("left", EXPR), ("right", EXPR))
            for f in ("eq", "not_eq", "lt", "lte", "gt", "gte", "add", "sub", "mul", "div")
        },
        "and": ListOf(EXPR),
        "or": ListOf(EXPR),
    }
)
MFP_FIELDS: Final[dict[str, Field]] = {
    "expressions": ListOf(EXPR),
    "predicates": ListOf(EXPR),
    "projection": ListOf(Int(0, 1 << 32)),
}
PLAN: Final = OneKey("plan", "plan")
PLAN.variants.update(
    {
        "get": Name("collection"),
        "constant": Obj(
            {
                "columns": ListOf(Column()),
                "updates": ListOf(
                    Obj(
                        {"time": Time(), "diff": Int(-(1 << 63), (1 << 63) - 1)},
                        {"row": Row(), "error": Str()},
                    )
                ),
            }
        ),
        "mfp": Obj({"input": PLAN}, MFP_FIELDS),
        "union": ListOf(PLAN, min_items=1),
        "negate": PLAN,
        "threshold": PLAN,
        "join": Obj({"left": PLAN, "right": PLAN}, {"keys": ListOf(Tuple(("left", Int(0)), ("right", Int(0))))}),
        "reduce": Obj(
            {"input": PLAN},
            {
                "group_key": ListOf(Int(0)),
                "aggregates": ListOf(Obj({"func": Enum("count", "sum", "min", "max"), "column": Int(0)})),
            },
        ),
    }
)

UPDATE: Final = Tuple(("row", Row()), ("time", Time()), ("diff", Int(-(1 << 63), (1 << 63) - 1)))
SINK: Final = Obj(
    {
        "name": Name("sink export"),
        "kind": Enum("subscribe", "materialized_view", "copy_to"),
        "from": Name("object"),
    },
    {"with_snapshot": Bool(), "up_to": Frontier(), "shard": Name("shard")},
    "a sink export; a materialized_view needs `shard` (its target), a subscribe may set "
    "with_snapshot (default true) and up_to",
)
FINISHING: Final = Obj(
    {},
    {
        "order_by": ListOf(Obj({"column": Int(0)}, {"desc": Bool(), "nulls_last": Bool()})),
        "limit": Nullable(Int(0, (1 << 63) - 1)),
        "offset": Int(0, (1 << 64) - 1),
        "project": ListOf(Int(0)),
    },
)
PEEK_EXPECT: Final = Obj(
    {"answer": Enum("rows", "error", "canceled", "rows_or_error", "any")},
    {"rows": ListOf(Tuple(("row", Row()), ("count", Int(1))))},
)
COPY_EXPECT: Final = Obj({"answer": Enum("rows", "error", "dropped", "any")}, {"count": Int(0)})

# op -> (required fields, optional fields, one-line meaning). The order is the documentation order.
OPS: Final[dict[str, tuple[dict[str, Field], dict[str, Field], str]]] = {
    "connect": (
        {},
        {"pause": Number(0, 10)},
        "open a fresh protocol iteration: new stream, next epoch, CreateTimely, CreateInstance "
        "(with `pause` seconds between those two, as a slow controller)",
    ),
    "initialization_complete": ({}, {}, "send InitializationComplete"),
    "allow_writes": ({}, {}, "send AllowWrites (the replica becomes writable for good)"),
    "create_shard": (
        {"shard": Name("shard"), "columns": ListOf(Column())},
        {"upper": Frontier()},
        "create a storage shard (upper [0] unless given, since 0)",
    ),
    "append": (
        {"shard": Name("shard"), "upper": Frontier()},
        {"updates": ListOf(UPDATE)},
        "write updates (times in [current upper, new upper)) to a shard as the suite, and advance its upper",
    ),
    "advance_since": ({"shard": Name("shard"), "since": Time()}, {}, "advance a shard's since"),
    "create_dataflow": (
        {"dataflow": Name("dataflow"), "as_of": Time()},
        {
            "until": Frontier(),
            "sources": ListOf(Name("shard")),
            "imports": ListOf(Name("index")),
            "objects": ListOf(Obj({"name": Name("object"), "plan": PLAN})),
            "indexes": ListOf(Obj({"name": Name("index export"), "on": Name("object")}, {"key": ListOf(Int(0))})),
            "sinks": ListOf(SINK),
            "schedule": Bool(),
        },
        "send CreateDataflow (and Schedule for every export unless schedule is false)",
    ),
    "schedule": ({"id": Name("export")}, {}, "send Schedule for an export"),
    "peek": (
        {"peek": Name("peek"), "target": Name("index export or shard"), "time": Time()},
        {
            "target_kind": Enum("index", "persist"),
            "key": ListOf(Row()),
            "mfp": Obj({}, MFP_FIELDS),
            "finishing": FINISHING,
        },
        "send Peek; the target is an index export (default) or, with target_kind persist, a shard",
    ),
    "cancel_peek": ({"peek": Name("peek")}, {}, "send CancelPeek"),
    "allow_compaction": ({"id": Name("export"), "frontier": Frontier()}, {}, "send AllowCompaction"),
    "drop": ({"id": Name("export")}, {}, "send AllowCompaction(id, []): drop the export"),
    "update_configuration": (
        {},
        {"max_result_size": Int(0, (1 << 64) - 1), "dyncfg": StrMap(), "workload_class": Str()},
        "send UpdateConfiguration with the given fields set and the others unset",
    ),
    "reconnect": (
        {},
        {"peeks": ListOf(Name("peek"))},
        "end the stream, open a new one and replay the reduced history (spec 14), re-sending the listed peeks",
    ),
    "wait_peek": ({"peek": Name("peek")}, {"expect": PEEK_EXPECT}, "wait until the peek is answered"),
    "wait_frontier": (
        {"id": Name("export"), "at_least": Frontier()},
        {"kind": Enum("write", "input", "output", "all")},
        "wait until the reported frontier (default: all kinds) is at least the given one",
    ),
    "wait_subscribe": (
        {"id": Name("subscribe"), "at_least": Frontier()},
        {},
        "wait until the subscribe's batches reach the given upper",
    ),
    "wait_copy_to": ({"id": Name("copy-to")}, {"expect": COPY_EXPECT}, "wait until the copy-to is answered"),
    "wait_shard": (
        {"shard": Name("shard"), "at_least": Frontier()},
        {},
        "wait until the shard's upper (written by the replica) is at least the given one",
    ),
    "wait_quiet": ({"seconds": Number(0, 10)}, {}, "wait until no response arrived for this long"),
    "settle": ({}, {}, "wait until every open obligation of the oracle is discharged"),
}
COMMON_OPTIONAL: Final[dict[str, Field]] = {"comment": Str()}


def check_step(step: Json, path: str = "") -> None:
    """Raise FieldError (path relative to the step) if `step` is not a well-formed step."""
    if not isinstance(step, dict):
        raise FieldError(path or "step", f"expected an object with an 'op' field, got {step!r}")
    op = step.get("op")
    if op not in OPS:
        raise FieldError(_join(path, "op"), f"unknown op {op!r}; expected one of {', '.join(OPS)}")
    required, optional, _ = OPS[op]
    Obj(required, {"op": Str(), **optional, **COMMON_OPTIONAL}).check(step, path)


def json_schema() -> dict[str, Json]:
    """JSON Schema (2020-12) of a scenario file; `scenarios/schema.json` is this, pretty-printed."""
    step_variants = []
    for op, (required, optional, meaning) in OPS.items():
        props = {
            "op": {"const": op},
            **{n: f.schema() for n, f in (required | optional | COMMON_OPTIONAL).items()},
        }
        step_variants.append(
            {
                "type": "object",
                "description": meaning,
                "properties": props,
                "required": ["op", *required],
                "additionalProperties": False,
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://compute-conformance/scenario.schema.json",
        "title": "compute-protocol conformance scenario",
        "type": "object",
        "required": ["format", "name", "rules", "steps"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": "compute-conformance-scenario/1"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "rules": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"}},
            "fresh_replica": {"type": "boolean"},
            "replay": {"type": "object"},
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
        },
        "$defs": {
            "step": {"oneOf": step_variants},
            "expr": EXPR.definition(),
            "plan": PLAN.definition(),
            "datum": Datum().schema(),
        },
    }
