"""The hint for a run that collected nothing although the ini file configures the suite.

Options in the ini file never start the suite (the plugin stays inert next to other test
suites), so plain `pytest` in a project whose conformance options live only in pyproject.toml
runs no tests and exits 5. Such a run ends with one line saying what starts the suite.
"""

from __future__ import annotations

import pytest

from conformance.session.options import _FLAGS, _OPTIONS


def ini_settings(config: pytest.Config) -> list[str]:
    """The conformance settings the ini file gives a value."""
    names = [ini for _, ini, _ in (*_OPTIONS, *_FLAGS)]
    return [n for n in names if config.getini(n) not in ("", None, [], False)]


def start_hint(config: pytest.Config, exitstatus: int) -> str | None:
    if exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED:
        return None
    configured = ini_settings(config)
    if not configured:
        return None
    where = config.inipath.name if config.inipath is not None else "the ini file"
    return (
        f"compute-conformance: no tests ran; {where} sets {', '.join(configured)}, but only the command line "
        "starts the suite: `pytest --conformance` (or --replica-addr, --replica-cmd, --replica-pool, "
        "--conformance-profile)"
    )
