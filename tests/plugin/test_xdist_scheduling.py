"""With `-n N` the suite hands tests to xdist workers one at a time: its few long state-machine
tests come first, and xdist's default chunks gave them all to one worker (`-n 2` took as long as
a serial run)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from conformance.session.plugin import _one_test_at_a_time


def _config(**option: Any) -> pytest.Config:
    return cast(pytest.Config, SimpleNamespace(option=SimpleNamespace(**option)))


def test_xdist_load_gets_one_test_at_a_time() -> None:
    config = _config(dist="load", maxschedchunk=None)
    _one_test_at_a_time(config)
    assert config.option.maxschedchunk == 1


@pytest.mark.parametrize(
    "option",
    [
        {"dist": "no", "maxschedchunk": None},
        {"dist": "load", "maxschedchunk": 4},
        {"dist": "worksteal", "maxschedchunk": None},
    ],
)
def test_other_choices_are_left_alone(option: dict[str, Any]) -> None:
    config = _config(**option)
    _one_test_at_a_time(config)
    assert config.option.maxschedchunk == option["maxschedchunk"]


def test_without_xdist_nothing_happens() -> None:
    config = _config()
    _one_test_at_a_time(config)
    assert not hasattr(config.option, "maxschedchunk")
