"""Fixtures of the plugin's tests: pytester for end-to-end runs of pytest itself."""

from __future__ import annotations

pytest_plugins = ["pytester"]
