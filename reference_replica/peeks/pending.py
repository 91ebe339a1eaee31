"""Peeks waiting for their answer (spec 8.1, 8.2, PEEK-2).

An index peek captures its since when it arrives: the index's latest compaction frontier
(PEEK-13). Below it the answer is `Error` at once (PEEK-9). Otherwise the peek holds the
index's arrangement at its time (so later compaction cannot take the data away) and waits
until the index's contents at that time are final (PEEK-6); then it reads them.

A persist peek reads the shard with `Listen(shard, as_of=t)`: the storage service sends the
first batch once the shard's upper passes `t`, holding exactly the contents at `t`, and
refuses the Listen if `t` is below the shard's since (then the answer is `Error`, A24).
"""

from __future__ import annotations

from compute_protocol.v1 import command_pb2

from reference_replica import faults, rows, variants
from reference_replica.config import ComputeParameters
from reference_replica.dataflow.batch import Update
from reference_replica.exports.index import IndexExport
from reference_replica.expr import ILL_TYPED_ERRORS, EvalError
from reference_replica.mfp import Mfp
from reference_replica.peeks.answer import answer, answer_first_rows
from reference_replica.responses import Response, peek_canceled, peek_error
from reference_replica.rows import Row
from reference_replica.services import Services
from reference_replica.storage.listen import ListenReader


class PendingPeek:
    def __init__(self, uuid: int, peek: command_pb2.ProtoPeek, services: Services) -> None:
        self.uuid = uuid
        self.timestamp = peek.timestamp
        self.otel_ctx = dict(peek.otel_ctx)
        self.mfp = Mfp(peek.map_filter_project.mfp)
        self.finishing = peek.finishing
        self.keys = [rows.from_proto(k) for k in peek.key] or None
        self._services = services
        self._limit_at_arrival = services.params.max_result_size  # only pending-peek-keeps-limit

    def poll(self) -> Response | None:
        """The answer, if the peek can be answered now."""
        raise NotImplementedError

    def release(self) -> None:
        """The peek is finished (answered, cancelled or forgotten): let go of its resources."""

    def _answer(self, contents: list[tuple[Row, int]]) -> Response:
        params = self._services.params
        if faults.on("pending-peek-keeps-limit"):
            params = ComputeParameters(max_result_size=self._limit_at_arrival)  # FAULT: breaks CONFIG-1
        return answer(self.uuid, self.otel_ctx, contents, self.mfp, self.finishing, params)


class IndexPeek(PendingPeek):
    def __init__(
        self, uuid: int, peek: command_pb2.ProtoPeek, index: IndexExport, services: Services
    ) -> None:
        super().__init__(uuid, peek, services)
        self.index = index
        self.since = index.since  # the since in effect when the Peek arrived (PEEK-13)
        self._holding = self.timestamp >= self.since or faults.on("peek-ignores-since")
        if self._holding:
            index.hold(self.timestamp)

    def poll(self) -> Response | None:
        t = self.timestamp
        since = self.index.since if faults.on("peek-no-read-hold") else self.since  # FAULT: PEEK-13
        if t < since and not faults.on("peek-ignores-since"):  # FAULT: peek-ignores-since, PEEK-9
            return peek_error(self.uuid, f"peek at time {t} is below the index's since {since}", self.otel_ctx)
        if t == since and faults.on("error-at-since"):
            return peek_error(self.uuid, f"peek at time {t} is not beyond the since", self.otel_ctx)  # FAULT
        if not self.index.final_at(t):
            if faults.on("spurious-canceled"):
                return peek_canceled(self.uuid, self.otel_ctx)  # FAULT: breaks PEEK-4
            if not (faults.on("peek-before-final") and t >= self.index.node.frontier + 2):
                return None  # (the fault peek-before-final answers far-future peeks: breaks PEEK-6)
        arrangement = self.index.arrangement
        if arrangement.has_errors_at(t) and not faults.on("peek-ignores-errors"):  # FAULT: PEEK-10
            return peek_error(
                self.uuid, "the indexed collection holds errors at the peek time", self.otel_ctx
            )
        if t > 0 and faults.on("peek-reads-before-t"):
            t -= 1  # FAULT: breaks PEEK-7
        contents = arrangement.contents_at(t, self.keys)
        if variants.on("mfp-over-whole-arrangement"):
            refused = self._whole_arrangement(contents)
            if refused is not None:
                return refused
        return self._answer(contents)

    def _whole_arrangement(self, contents: list[tuple[Row, int]]) -> Response | None:
        """VARIANT mfp-over-whole-arrangement (PEEK-14, as upstream's peek_result_iterator): the
        MFP runs on every row the index holds at some time, before its multiplicity at the peek
        time is weighed; and a negative multiplicity is checked per row that the MFP keeps."""
        if not self.mfp.is_identity:
            for row in self._held_rows():
                try:
                    self.mfp.evaluate(row)
                except EvalError as error:
                    return peek_error(self.uuid, f"evaluation error: {error.message}", self.otel_ctx)
                except ILL_TYPED_ERRORS:
                    return peek_error(self.uuid, "evaluation error: ill-typed expression", self.otel_ctx)
        for row, count in contents:
            if count < 0 and self.mfp.evaluate(row) is not None:
                return peek_error(self.uuid, f"negative multiplicity {count} for {rows.fmt(row)}", self.otel_ctx)
        return None

    def _held_rows(self) -> list[Row]:
        """The rows matching the peek's key whose multiplicity is not zero at some time."""
        oks, _ = self.index.arrangement.updates()
        key_columns = self.index.key_columns
        wanted = None if self.keys is None else {rows.encode(k) for k in self.keys}
        by_row: dict[bytes, tuple[Row, dict[int, int]]] = {}
        for row, time, diff in oks:
            if wanted is not None and rows.encode(tuple(row[c] for c in key_columns)) not in wanted:
                continue
            entry = by_row.setdefault(rows.encode(row), (row, {}))
            entry[1][time] = entry[1].get(time, 0) + diff
        held = []
        for row, diffs in by_row.values():
            total = 0
            for time in sorted(diffs):
                total += diffs[time]
                if total:
                    held.append(row)
                    break
        return held

    def release(self) -> None:
        if self._holding:
            self._holding = False
            self.index.release(self.timestamp)


class PersistPeek(PendingPeek):
    def __init__(self, uuid: int, peek: command_pb2.ProtoPeek, services: Services) -> None:
        super().__init__(uuid, peek, services)
        meta = peek.persist.metadata
        self._contents: list[tuple[Row, int]] | None = None
        self._failure: str | None = None
        self._prefixes = None if self.keys is None else {rows.encode(k) for k in self.keys}
        self._reader = ListenReader(
            services.storage,
            meta.storage_address,
            meta.shard_id,
            self.timestamp,
            services.post,
            self._on_batch,
            self._on_failure,
        )
        self._reader.start()

    def _on_batch(self, upper: int, updates: list[Update]) -> None:
        if self._contents is not None:
            return
        self._reader.stop()
        t = self.timestamp
        sums: dict[bytes, int] = {}
        originals: dict[bytes, Row] = {}
        for row, time, diff in updates:
            if time > t or not self._matches(row):
                continue
            key = rows.encode(row)
            sums[key] = sums.get(key, 0) + diff
            originals[key] = row
        self._contents = [(originals[k], count) for k, count in sums.items() if count]

    def _matches(self, row: Row) -> bool:
        """A literal key of a persist peek is matched as a prefix of the row (spec 8.1)."""
        if self._prefixes is None or self.keys is None:
            return True
        return any(rows.encode(row[: len(key)]) in self._prefixes for key in self.keys)

    def _on_failure(self, message: str) -> None:
        self._failure = message

    def poll(self) -> Response | None:
        if self._failure is not None:
            return peek_error(
                self.uuid, f"cannot read the shard at the peek time: {self._failure}", self.otel_ctx
            )
        if self._contents is None:
            return None
        finishing = self.finishing
        if variants.on("persist-peek-stops-at-limit") and finishing.HasField("limit") and finishing.limit >= 0:
            wanted = finishing.offset + finishing.limit  # VARIANT: PEEK-15, as upstream's persist peek
            return answer_first_rows(
                self.uuid, self.otel_ctx, self._contents, self.mfp, wanted, self._services.params
            )
        return self._answer(self._contents)

    def release(self) -> None:
        self._reader.stop()
