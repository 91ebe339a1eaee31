"""`Join(left, right, keys)`: the equi-join of two collections (spec 5.3).

Incremental, per time: with `L` and `R` the accumulated inputs, the changes `dL` and `dR`
at time `t` change the output by `dL x R + (L + dL) x dR`, all at `t`. A row with a null in
a key column never matches, so it is not even stored. With no key pairs every pair matches
(all rows share the empty key).
"""

from __future__ import annotations

from reference_replica import faults
from reference_replica.dataflow.aligner import Aligner
from reference_replica.dataflow.batch import Batch, Update, by_time
from reference_replica.dataflow.keyed_rows import KeyedRows
from reference_replica.dataflow.node import Node
from reference_replica.mfp import projector
from reference_replica.rows import Row, consolidate, encode


class JoinNode(Node):
    def __init__(self, as_of: int, left: Node, right: Node, keys: list[tuple[int, int]]) -> None:
        super().__init__(as_of)
        self._key_of = (projector([k[0] for k in keys]), projector([k[1] for k in keys]))
        self._state = (KeyedRows(), KeyedRows())
        self._aligner = Aligner(2, as_of)
        left.subscribe(lambda batch: self.on_batch(0, batch))
        right.subscribe(lambda batch: self.on_batch(1, batch))

    def on_batch(self, port: int, batch: Batch) -> None:
        aligned = self._aligner.push(port, batch)
        if aligned is None:
            return
        left_part, right_part = aligned.parts
        tagged = [((0, row), t, d) for row, t, d in left_part.oks]
        tagged += [((1, row), t, d) for row, t, d in right_part.oks]
        out: list[Update] = []
        for time, changes in by_time(tagged):
            # All left changes of this time first (against R before t), then the right ones
            # (against L including this time's left changes).
            changes.sort(key=lambda change: change[0][0])
            for (side, row), diff in changes:
                self._apply(side, row, time, diff, out)
        errs = left_part.errs + right_part.errs
        self.emit(Batch(aligned.lower, aligned.upper, consolidate(out), errs))

    def _apply(self, side: int, row: Row, time: int, diff: int, out: list[Update]) -> None:
        key = self._key_of[side](row)
        if None in key and not faults.on("join-matches-null-keys"):  # FAULT: null = null
            return  # NULL never matches
        encoded_key = encode(key)
        for other, count in self._state[1 - side].get(encoded_key).values():
            joined = row + other if side == 0 else other + row
            out.append((joined, time, diff * count))
        self._state[side].add(encoded_key, encode(row), row, diff)
