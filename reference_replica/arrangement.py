"""Index arrangements: a collection's updates, kept by key, readable at any time >= since.

An index export (spec 5.1) keeps its collection *arranged* so that peeks can read the
contents at a time `t` (the sum of all updates at times `<= t`), optionally only for some
literal keys (spec 8.1). `AllowCompaction(id, f)` (spec 7) says nobody will read below `f`;
the arrangement then may *compact*: advance every time below `f` to `f` and sum updates that
become equal. That is what keeps an index's memory proportional to its contents rather than
to its history.

Layout. Memory matters (the benchmark holds it to a few times the rows' protobuf size), so
rows are not Python objects here. An arrangement is a list of immutable *runs*; a run packs
its consolidated updates, sorted by row, into one `bytes` blob (the rows' canonical encodings
laid end to end) plus flat arrays of offsets, times and diffs. Each row is stored with its key
columns first, and because the encoding of a datum is self-delimiting, sorting the stored
bytes groups rows by key: a literal-key lookup is a binary search for the key's byte prefix.

Maintenance. New updates become a new run. Whenever the newest `FAN_IN` runs are of about
the same size they are merged into one (size-tiered merging, as in an LSM tree), and every
merge applies the compaction frontier. So each update is merged O(log n) times, a read looks
at O(log n) runs, and compaction happens as a side effect of merging.

Workers. With `--workers N` the arrangement is split into N partitions by a hash of the key,
as N timely workers would hold it; reads merge the partitions.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterable, Sequence
from itertools import accumulate, pairwise
from typing import Final

from reference_replica import faults
from reference_replica.dataflow.batch import ErrUpdate, Update
from reference_replica.mfp import projector
from reference_replica.rows import Row, decode, encode, encode_value, tuple_header

FAN_IN: Final = 8


def _int_array(values: list[int]) -> Sequence[int]:
    """A compact array of int64; a plain list in the (absurd) case of an overflow."""
    try:
        return array("q", values)
    except OverflowError:
        return values


class Run:
    """Consolidated updates sorted by (stored row, time), packed into flat buffers."""

    __slots__ = ("blob", "diffs", "distinct_rows", "max_time", "offsets", "times")

    def __init__(self, rows: list[bytes], times: list[int], diffs: list[int], distinct_rows: bool) -> None:
        self.blob = b"".join(rows)
        self.offsets = array("q", accumulate(map(len, rows), initial=0))
        self.times = array("Q", times)
        self.diffs = _int_array(diffs)
        self.max_time = max(times) if times else 0
        self.distinct_rows = distinct_rows

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.offsets[i] : self.offsets[i + 1]]

    def rows(self) -> list[bytes]:
        blob = self.blob
        offsets = self.offsets
        return [blob[a:b] for a, b in pairwise(offsets)]

    def prefix_range(self, prefix: bytes) -> range:
        """Positions of the rows whose stored bytes start with `prefix`."""
        start = bisect.bisect_left(self, prefix)
        end = start
        n = len(self)
        while end < n and self[end].startswith(prefix):
            end += 1
        return range(start, end)

    def nbytes(self) -> int:
        diffs = self.diffs
        diff_bytes = diffs.itemsize * len(diffs) if isinstance(diffs, array) else 8 * len(diffs)
        return len(self.blob) + self.offsets.itemsize * len(self.offsets) + 8 * len(self.times) + diff_bytes


def build_run(rows: list[bytes], times: list[int], diffs: list[int], since: int) -> Run | None:
    """Advance times to `since`, consolidate, sort, pack. None if nothing is left."""
    if since > 0:
        times = [t if t >= since else since for t in times]
    n = len(rows)
    if len(set(rows)) == n:
        # Every row occurs once, so no two updates share (row, time): only sort.
        order = sorted(range(n), key=rows.__getitem__)
        rows = [rows[i] for i in order]
        times = [times[i] for i in order]
        diffs = [diffs[i] for i in order]
        if 0 in diffs:
            keep = [i for i, d in enumerate(diffs) if d != 0]
            rows = [rows[i] for i in keep]
            times = [times[i] for i in keep]
            diffs = [diffs[i] for i in keep]
        distinct = True
    else:
        sums: dict[tuple[bytes, int], int] = {}
        for key, diff in zip(zip(rows, times, strict=True), diffs, strict=True):
            sums[key] = sums.get(key, 0) + diff
        entries = sorted(item for item in sums.items() if item[1] != 0)
        rows = [row for (row, _), _ in entries]
        times = [time for (_, time), _ in entries]
        diffs = [diff for _, diff in entries]
        distinct = len(set(rows)) == len(rows)
    if not rows:
        return None
    return Run(rows, times, diffs, distinct)


def _tier(run: Run) -> int:
    return int(math.log(max(len(run), 1), FAN_IN))


class Spine:
    """The runs of one partition, oldest first."""

    def __init__(self) -> None:
        self.runs: list[Run] = []

    def insert(self, run: Run, since: int) -> None:
        runs = self.runs
        runs.append(run)
        while len(runs) >= FAN_IN and _tier(runs[-FAN_IN]) <= _tier(runs[-1]):
            merging = runs[-FAN_IN:]
            del runs[-FAN_IN:]
            merged = _merge(merging, since)
            if merged is not None:
                runs.append(merged)

    def compact_all(self, since: int) -> None:
        if len(self.runs) > 1 or (self.runs and self.runs[0].max_time < since):
            merged = _merge(self.runs, since)
            self.runs = [] if merged is None else [merged]


def _merge(runs: list[Run], since: int) -> Run | None:
    rows: list[bytes] = []
    times: list[int] = []
    diffs: list[int] = []
    for run in runs:
        rows.extend(run.rows())
        times.extend(run.times)
        diffs.extend(run.diffs)
    return build_run(rows, times, diffs, since)


class Arrangement:
    def __init__(self, key_columns: Sequence[int], arity: int | None, workers: int, since: int) -> None:
        self.key_columns = list(key_columns)
        self.key_arity = len(self.key_columns)
        self._key_of = projector(self.key_columns)
        self.parts = [Spine() for _ in range(max(1, workers))]
        self.errors: dict[tuple[str, int], int] = {}
        self.since = since
        self.arity: int | None = None
        if arity is not None:
            self._set_arity(arity)

    def _set_arity(self, arity: int) -> None:
        """Fix the stored layout: key columns first, then the others in order."""
        key = self.key_columns
        layout = key + [c for c in range(arity) if c not in key]
        self.arity = arity
        self._identity_layout = layout == list(range(arity))
        self._to_stored = projector(layout)
        self._from_stored = projector([layout.index(c) for c in range(arity)])
        self._header = tuple_header(len(layout))

    # --- writing ---------------------------------------------------------------------

    def insert(self, oks: list[Update], errs: list[ErrUpdate]) -> None:
        if oks and self.arity is None:
            self._set_arity(len(oks[0][0]))  # no relation_desc was given: learn it from the data
        if oks:
            if self._identity_layout:
                stored = [encode(row) for row, _, _ in oks]
            else:
                to_stored = self._to_stored
                stored = [encode(to_stored(row)) for row, _, _ in oks]
            times = [time for _, time, _ in oks]
            diffs = [diff for _, _, diff in oks]
            if len(self.parts) == 1:
                self._insert_part(0, stored, times, diffs)
            else:
                self._insert_partitioned(oks, stored, times, diffs)
        for message, time, diff in errs:
            key = (message, max(time, self.since))
            total = self.errors.get(key, 0) + diff
            if total:
                self.errors[key] = total
            else:
                self.errors.pop(key, None)

    def _insert_part(self, part: int, stored: list[bytes], times: list[int], diffs: list[int]) -> None:
        run = build_run(stored, times, diffs, self.since)
        if run is not None:
            self.parts[part].insert(run, self.since)

    def _insert_partitioned(
        self, oks: list[Update], stored: list[bytes], times: list[int], diffs: list[int]
    ) -> None:
        n = len(self.parts)
        routed: list[tuple[list[bytes], list[int], list[int]]] = [([], [], []) for _ in range(n)]
        key_of = self._key_of
        for (row, _, _), s, t, d in zip(oks, stored, times, diffs, strict=True):
            target = routed[self.partition_of(key_of(row))]
            target[0].append(s)
            target[1].append(t)
            target[2].append(d)
        for part, (s_part, t_part, d_part) in enumerate(routed):
            if s_part:
                self._insert_part(part, s_part, t_part, d_part)

    def partition_of(self, key: Row) -> int:
        return hash(encode(key)) % len(self.parts)

    def compact(self, since: int) -> None:
        """Allow times below `since` to be advanced (physical compaction)."""
        if since <= self.since:
            return
        self.since = since
        errors: dict[tuple[str, int], int] = {}
        for (message, time), diff in self.errors.items():
            key = (message, max(time, since))
            errors[key] = errors.get(key, 0) + diff
        self.errors = {k: d for k, d in errors.items() if d}

    def compact_all(self) -> None:
        """Merge every partition into one run at the current since (used to measure memory)."""
        for spine in self.parts:
            spine.compact_all(self.since)

    # --- reading ---------------------------------------------------------------------

    def has_errors_at(self, time: int) -> bool:
        totals: dict[str, int] = {}
        for (message, t), diff in self.errors.items():
            if t <= time:
                totals[message] = totals.get(message, 0) + diff
        return any(totals.values())

    def contents_at(self, time: int, keys: Sequence[Row] | None = None) -> list[tuple[Row, int]]:
        """The rows of the collection at `time` with their non-zero multiplicities.

        With `keys`, only rows whose key columns equal one of the literal key rows (each
        literal counted once). The caller makes sure `time >= since`.
        """
        sums: dict[bytes, int] = {}
        if self.arity is None:
            return []
        if keys is not None and faults.on("literal-matches-row-prefix"):
            wanted = {encode(tuple(k)) for k in keys}  # FAULT: the row's first columns, not the key's
            return [(row, diff) for row, diff in self.contents_at(time) if encode(row[: len(keys[0])]) in wanted]
        if keys is None:
            fast = self._distinct_scan(time)
            if fast is not None:
                return fast
            for spine in self.parts:
                for run in spine.runs:
                    _accumulate(run, range(len(run)), time, sums)
        else:
            for prefix, part in self._prefixes(keys):
                for run in self.parts[part].runs:
                    _accumulate(run, run.prefix_range(prefix), time, sums)
        return self._decode_all((row, diff) for row, diff in sums.items() if diff)

    def _distinct_scan(self, time: int) -> list[tuple[Row, int]] | None:
        """The common case of a full scan without summing: every update is at or below
        `time` and no row occurs twice (an insert-only history). None if that is not so."""
        runs = [run for spine in self.parts for run in spine.runs]
        if not all(run.distinct_rows and run.max_time <= time for run in runs):
            return None
        rows: list[bytes] = []
        diffs: list[int] = []
        for run in runs:
            rows.extend(run.rows())
            diffs.extend(run.diffs)
        if len(runs) > 1 and len(set(rows)) != len(rows):
            return None
        return self._decode_all(zip(rows, diffs, strict=True))

    def _prefixes(self, keys: Sequence[Row]) -> list[tuple[bytes, int]]:
        out: dict[bytes, int] = {}
        repeated: list[tuple[bytes, int]] = []  # only under the fault repeated-literal-counts-twice
        for key in keys:
            prefix = self._header + b"".join(encode_value(v) for v in key)
            out[prefix] = self.partition_of(key) if len(self.parts) > 1 else 0
            if faults.on("repeated-literal-counts-twice"):
                repeated.append((prefix, out[prefix]))  # FAULT: looked up once per occurrence
        return repeated or list(out.items())  # a repeated literal counts once (spec 8.1)

    def _decode_all(self, entries: Iterable[tuple[bytes, int]]) -> list[tuple[Row, int]]:
        if self._identity_layout:
            return [(decode(row), diff) for row, diff in entries]
        from_stored = self._from_stored
        return [(from_stored(decode(row)), diff) for row, diff in entries]

    def updates(self) -> tuple[list[Update], list[ErrUpdate]]:
        """Every stored update, decoded (what a dataflow importing this index starts from)."""
        oks: list[Update] = []
        for spine in self.parts:
            for run in spine.runs:
                for row, time, diff in zip(run.rows(), run.times, run.diffs, strict=True):
                    oks.append((self._decode(row), time, diff))
        errs = [(message, time, diff) for (message, time), diff in self.errors.items()]
        return oks, errs

    def _decode(self, stored: bytes) -> Row:
        row = decode(stored)
        return row if self._identity_layout else self._from_stored(row)

    # --- accounting ------------------------------------------------------------------

    def update_count(self) -> int:
        return sum(len(run) for spine in self.parts for run in spine.runs)

    def nbytes(self) -> int:
        return sum(run.nbytes() for spine in self.parts for run in spine.runs)


def _accumulate(run: Run, positions: range, time: int, sums: dict[bytes, int]) -> None:
    if not positions:
        return
    if positions.start == 0 and positions.stop == len(run):
        rows = run.rows()
        times: Sequence[int] = run.times
        diffs: Sequence[int] = run.diffs
    else:
        rows = [run[i] for i in positions]
        times = run.times[positions.start : positions.stop]
        diffs = run.diffs[positions.start : positions.stop]
    get = sums.get
    if run.max_time <= time:
        for row, diff in zip(rows, diffs, strict=True):
            sums[row] = get(row, 0) + diff
    else:
        for row, t, diff in zip(rows, times, diffs, strict=True):
            if t <= time:
                sums[row] = get(row, 0) + diff
