"""How many bytes of artifacts this process may still write (failure files, replica logs).

A replica that floods its log or fails in every example must not fill the CI machine's disk.
Each pytest process (each xdist worker) gets an equal share of `--conformance-max-artifact-bytes`;
writers ask for room before writing and write less (or a note saying what was left out) when
there is none.
"""

from __future__ import annotations

import threading


class ArtifactBudget:
    def __init__(self, total: int) -> None:
        self.total = total
        self._used = 0
        self._lock = threading.Lock()
        self.refused = 0  # bytes not written for want of room

    @property
    def used(self) -> int:
        return self._used

    def take(self, wanted: int) -> int:
        """Reserve up to `wanted` bytes; returns how many may be written (0 when the budget is spent)."""
        with self._lock:
            granted = max(0, min(wanted, self.total - self._used))
            self._used += granted
            self.refused += wanted - granted
            return granted

    def exhausted(self) -> bool:
        return self._used >= self.total
