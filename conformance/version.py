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


# The upstream commit docs/spec.md follows (its first paragraph names it too).
UPSTREAM_COMMIT = "63dc09f1c1"


def protocol_version() -> str:
    """The wire protocol the suite speaks, with the runtimes that encode it."""
    import grpc
    from google import protobuf

    return f"compute_protocol.v1 (protobuf {protobuf.__version__}, grpcio {grpc.__version__})"


def spec_version() -> str:
    """The rule registry the verdicts cite: its size and a digest of every rule, so two runs can
    tell at a glance whether they judged by the same rules (a reworded rule changes the digest)."""
    import hashlib

    from conformance.rules import RULES

    digest = hashlib.sha256(repr(sorted(RULES.items())).encode()).hexdigest()[:10]
    return f"docs/spec.md, {len(RULES)} rules (registry {digest}), after upstream {UPSTREAM_COMMIT}"


def version_text() -> str:
    return f"compute-conformance {suite_version()}\nprotocol {protocol_version()}\nspec {spec_version()}"
