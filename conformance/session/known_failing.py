"""`--known-failing FILE`: rules a replica is known to break, listed so that CI stays green
while the bug is open, and strict so that the list cannot go stale.

One rule id per line; `#` starts a comment (say why, and link the bug). A listed rule that
fails makes its tests xfail; a listed rule that passes fails the run, so the entry gets
removed the day the bug is fixed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

_RULE_ID: Final = re.compile(r"^[A-Z]+-\d+$")


class KnownFailingError(ValueError):
    """A bad known-failing file; the message names the file and the line."""


def parse_known_failing(text: str, source: str = "<known-failing>", known_ids: set[str] | None = None) -> set[str]:
    ids: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not _RULE_ID.match(line):
            raise KnownFailingError(f"{source}:{lineno}: expected one rule id such as PEEK-1, got {line!r}")
        if known_ids is not None and line not in known_ids:
            raise KnownFailingError(f"{source}:{lineno}: {line} is not a rule of the registry")
        ids.add(line)
    return ids


def load_known_failing(path: str | Path, known_ids: set[str] | None = None) -> set[str]:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise KnownFailingError(f"{p}: cannot read known-failing file: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise KnownFailingError(f"{p}: not a text file: {e.reason} at byte {e.start}") from None
    return parse_known_failing(text, str(p), known_ids)
