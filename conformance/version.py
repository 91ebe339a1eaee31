"""The suite's version, printed in every report: verdicts are only comparable between runs of
the same suite version, so a CI gate should pin it."""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata
from pathlib import Path

DIST_NAME = "compute-conformance"


@cache
def suite_version() -> str:
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        pass
    # Running from a checkout without installing: read the version next to the package.
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        m = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.MULTILINE)
    except OSError:
        m = None
    return f"{m.group(1)}+checkout" if m else "unknown"
