"""`Constant(arity, updates)`: a literal collection (spec 5.3).

All of it is known at once, so its single batch runs from `as_of` to `[]`: a constant has no
storage inputs and its input upper is `[]` (spec section 0).
"""

from __future__ import annotations

from reference_replica.dataflow.batch import ErrUpdate, Update
from reference_replica.dataflow.leaf import Leaf
from reference_replica.frontier import EMPTY


class ConstantNode(Leaf):
    def __init__(self, as_of: int, until: int, oks: list[Update], errs: list[ErrUpdate]) -> None:
        super().__init__(as_of, until)
        self._oks = oks
        self._errs = errs

    def start(self) -> None:
        self.deliver(EMPTY, self._oks, self._errs)
        self._oks = []
        self._errs = []
