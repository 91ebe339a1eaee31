"""What a peek must be answered with (spec 8), as pure functions of the model.

`expected_peek` gives the full answer before finishing and says whether an `Error` is
required or merely permitted; `check_finishing` decides whether returned `Rows` are an
acceptable thinning of the full answer (PEEK-7, PEEK-8); `result_size` is spec 1.5.

Literal key constraints (spec 8.1, A11): for an index target each literal holds one datum
per key column and a row matches when its key columns equal some literal (a repeated literal
counts once); for a persist target the single literal must be a prefix of the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from compute_protocol.v1 import command_pb2

from conformance.model.catalog import Model
from conformance.model.contents import Contents
from conformance.model.expressions import Mfp, compile_mfp
from conformance.model.ordering import ColumnOrder, column_orders, compare_rows, sort_rows
from conformance.wire.frontiers import EMPTY, fmt
from conformance.wire.ids import gid_str
from conformance.wire.rows import Row, encoded_size, fmt_row, row_from_proto


@dataclass(frozen=True)
class PeekExpectation:
    target: str                        # an index export id, or "shard <id>" for a persist peek
    time: int
    rows: dict[Row, int]               # MFP outputs of the matching rows, consolidated, non-zero
    errors: dict[str, int]             # the target's errors at t plus the MFP's, non-zero
    must_error: tuple[str, ...] = ()   # why Error is the only acceptable answer
    known_may_error: tuple[str, ...] = ()  # conditions under which Error is acceptable too
    # More such conditions, costly to find, so looked for only when an Error needs explaining.
    later_may_error: Callable[[], tuple[str, ...]] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def may_error(self) -> tuple[str, ...]:
        later = self.later_may_error() if self.later_may_error is not None and not self.must_error else ()
        return self.known_may_error + later

    @property
    def error_required(self) -> bool:
        return bool(self.must_error)

    @property
    def error_permitted(self) -> bool:
        return bool(self.must_error or self.may_error)

    def size(self) -> int:
        """Spec 1.5 size of the full answer (compare with max_result_size for PEEK-12)."""
        return result_size({r: m for r, m in self.rows.items() if m > 0})


def result_size(rows: dict[Row, int]) -> int:
    """Spec 1.5: over the (row, count) entries, the encoded ProtoRow length plus 8."""
    return sum(map(encoded_size, rows)) + 8 * len(rows)


def expected_peek(model: Model, peek: command_pb2.ProtoPeek, since: int) -> PeekExpectation:
    """The answer to `peek` given the since in effect when it arrived (spec 8.2).

    For an index target the since is never below the dataflow's as_of: the index holds
    nothing readable before it. Raises ValueError for a peek the controller must not send
    (no target, literals of the wrong arity, more than one literal for a persist target).
    """
    t = peek.timestamp
    literals = [row_from_proto(r) for r in peek.key]
    kind = peek.WhichOneof("target")
    if kind == "index":
        index_id = gid_str(peek.index.id)
        target = index_id
        since = max(since, model.as_of(index_id))
        if t < since:
            return _below_since(target, t, since)
        contents = model.contents(index_id, t)
        rows = _match_key(contents.rows, model.export(index_id).key_columns, literals)
    elif kind == "persist":
        shard_id = peek.persist.metadata.shard_id
        target = f"shard {shard_id}"
        if t < since:
            return _below_since(target, t, since)
        contents = model.shard_contents(shard_id, t)
        if len(literals) > 1:
            raise ValueError(f"persist peek with {len(literals)} literals; it takes at most one (spec 8.1)")
        rows = _match_prefix(contents.rows, literals[0]) if literals else contents.rows
    else:
        raise ValueError("peek with no target")

    mfp = compile_mfp(peek.map_filter_project.mfp)
    output = mfp.apply_to(Contents(rows))
    errors = dict(contents.errors)
    for error, m in output.errors.items():
        errors[error] = errors.get(error, 0) + m
    errors = {e: m for e, m in errors.items() if m != 0}
    must: list[str] = []
    may: list[str] = []
    if contents.errors:
        must.append(f"{target} holds errors at {t}: {sorted(contents.errors)}")
    row_errors: list[str] = []
    if output.errors:
        row_errors.append(f"the peek's MFP errors at {t}: {sorted(output.errors)}")
    # min() runs in C: the common answer has no negative multiplicity, and is not walked in Python.
    negative = [r for r, m in output.rows.items() if m < 0] if min(output.rows.values(), default=0) < 0 else []
    if negative:
        row_errors.append(f"row {fmt_row(negative[0])} has multiplicity {output.rows[negative[0]]} at {t}")
    elif min(rows.values(), default=0) < 0:
        # Spec 8.2 looks for negatives after key and MFP; a replica that checks the matching
        # rows before its MFP consolidates them is not wrong either (upstream checks each
        # arrangement entry, or each row of a persist snapshot, on its own).
        may.append(f"a matching row of {target} has a negative multiplicity at {t} before the MFP")
    if row_errors and kind == "persist" and _stops_early(peek, output.rows):
        # PEEK-15: a persist peek with a limit may stop reading after offset + limit output rows,
        # before it reaches the row that errs.
        may.extend(f"{why} (a replica may stop reading before that row: offset + limit)" for why in row_errors)
    else:
        must.extend(row_errors)
    later = None
    if kind == "index" and not mfp.is_identity():
        key_columns = model.export(index_id).key_columns
        later = _history_mfp_errors(model, index_id, t, key_columns, literals, mfp)
    return PeekExpectation(target, t, output.rows, errors, tuple(must), tuple(may), later)


def _stops_early(peek: command_pb2.ProtoPeek, rows: dict[Row, int]) -> bool:
    """Does a persist peek's limit let a replica stop reading before it has seen every row?"""
    finishing = peek.finishing
    if not finishing.HasField("limit") or finishing.limit < 0:
        return False
    good = sum(m for m in rows.values() if m > 0)
    return good >= finishing.offset + finishing.limit


def _history_mfp_errors(
    model: Model, index_id: str, t: int, key_columns: tuple[int, ...], literals: list[Row], mfp: Mfp
) -> Callable[[], tuple[str, ...]]:
    """PEEK-14: an index peek may evaluate its MFP on every row the index holds at any time,
    before it weighs the row's multiplicity at the peek time (upstream's peek_result_iterator
    does), so an MFP error on a row that exists only at another time may answer Error."""

    def find() -> tuple[str, ...]:
        seen: dict[Row, int] = {}
        for when in model.change_times(index_id, model.as_of(index_id), EMPTY):
            for r in _match_key(model.contents(index_id, when).rows, key_columns, literals):
                seen.setdefault(r, 1)
        erring = mfp.apply_to(Contents(seen)).errors
        if not erring:
            return ()
        return (f"the peek's MFP errors on a row {index_id} holds at another time than {t}: {sorted(erring)}",)

    return find


def _below_since(target: str, t: int, since: int) -> PeekExpectation:
    return PeekExpectation(target, t, {}, {}, must_error=(f"time {t} is below the since {fmt(since)}",))


def _match_key(rows: dict[Row, int], key_columns: tuple[int, ...], literals: list[Row]) -> dict[Row, int]:
    if not literals:
        return rows
    for literal in literals:
        if len(literal) != len(key_columns):
            raise ValueError(f"literal {fmt_row(literal)} for key columns {list(key_columns)}: "
                             "arity must match the key (spec 8.1)")
    wanted = set(literals)
    return {row: m for row, m in rows.items() if tuple(row[c] for c in key_columns) in wanted}


def _match_prefix(rows: dict[Row, int], literal: Row) -> dict[Row, int]:
    n = len(literal)
    return {row: m for row, m in rows.items() if row[:n] == literal}


def check_finishing(returned: dict[Row, int], full: dict[Row, int],
                    finishing: command_pb2.ProtoRowSetFinishing) -> str | None:
    """None when `returned` is an acceptable answer for `full`, else a one-line reason.

    Without a limit the rows must equal the full answer exactly (PEEK-7). With a limit
    (PEEK-8) they must be a sub-multiset of it that still yields the finishing: with n =
    offset + limit and the n-th row of the sorted full answer as the boundary, every row
    sorting strictly before the boundary is returned with its full count, and at least n
    returned rows sort at or before it (ties at the boundary are interchangeable).
    """
    if returned == full and not finishing.HasField("limit") and min(full.values(), default=1) > 0:
        return None  # the common case, decided in C: exactly the full answer, every count positive
    for row, count in returned.items():
        if count <= 0:
            return f"row {fmt_row(row)} returned with count {count}; counts must be positive"
        if count > full.get(row, 0):
            have = full.get(row, 0)
            where = f"holds it {have} times" if have > 0 else "does not hold it"
            return f"row {fmt_row(row)} returned {count} times, but the full answer {where}"
    if not finishing.HasField("limit"):
        for row, count in full.items():
            if returned.get(row, 0) != count:
                return f"row {fmt_row(row)} returned {returned.get(row, 0)} times, expected {count}"
        return None
    n = finishing.offset + max(finishing.limit, 0)
    total = sum(full.values())
    if n >= total:
        # Every row is among the first n: nothing may be thinned away.
        return check_finishing(returned, full, command_pb2.ProtoRowSetFinishing())
    if n == 0:
        return None
    order = column_orders(finishing)
    boundary = _nth_row(full, order, n)
    for row, count in full.items():
        if compare_rows(row, boundary, order) < 0 and returned.get(row, 0) != count:
            return (f"row {fmt_row(row)} sorts before row #{n} of the full answer but was returned "
                    f"{returned.get(row, 0)} of {count} times")
    kept = sum(c for r, c in returned.items() if compare_rows(r, boundary, order) <= 0)
    if kept < n:
        return (f"only {kept} returned rows sort at or before row #{n} {fmt_row(boundary)} of the full "
                f"answer; offset + limit = {n} needed")
    return None


def _nth_row(full: dict[Row, int], order: tuple[ColumnOrder, ...], n: int) -> Row:
    """The row holding position n (1-based, counting multiplicities) in finishing order."""
    seen = 0
    for row in sort_rows(full, order):
        seen += full[row]
        if seen >= n:
            return row
    raise ValueError(f"the full answer has {seen} rows, fewer than {n}")


def apply_finishing(rows: dict[Row, int], finishing: command_pb2.ProtoRowSetFinishing) -> list[Row]:
    """What the controller makes of an answer: sort, skip offset, keep limit, project (8.1).

    Ties keep no particular order, so two acceptable answers may finish differently within a
    tie; for reports and scenario output, not for checks.
    """
    order = column_orders(finishing)
    expanded: Iterable[Row] = (r for r in sort_rows(rows, order) for _ in range(rows[r]))
    out = list(expanded)[finishing.offset:]
    if finishing.HasField("limit"):
        out = out[: max(finishing.limit, 0)]
    if finishing.project:
        out = [tuple(r[c] for c in finishing.project) for r in out]
    return out
