"""Accumulated rows grouped by a key: the state of Join and Reduce.

`groups[key][row] = (row, count)`, with keys and rows in their canonical encoding so that
datum kinds never collide; entries whose count reaches zero are removed.
"""

from __future__ import annotations

from reference_replica.rows import Row


class KeyedRows:
    def __init__(self) -> None:
        self.groups: dict[bytes, dict[bytes, tuple[Row, int]]] = {}

    def add(self, key: bytes, encoded_row: bytes, row: Row, diff: int) -> None:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = {}
        entry = group.get(encoded_row)
        count = diff if entry is None else entry[1] + diff
        if count:
            group[encoded_row] = (row, count)
        else:
            del group[encoded_row]
            if not group:
                del self.groups[key]

    def get(self, key: bytes) -> dict[bytes, tuple[Row, int]]:
        return self.groups.get(key, _EMPTY)


_EMPTY: dict[bytes, tuple[Row, int]] = {}
