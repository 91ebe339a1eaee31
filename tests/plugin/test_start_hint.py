"""Plain `pytest` in a project whose conformance options live only in pyproject.toml runs no
tests (the ini file never starts the suite) and says, in one line, what does."""

from __future__ import annotations

from pathlib import Path

from tests.plugin.subrun import run_pytest, write

HINT = "compute-conformance: no tests ran; pyproject.toml sets "


def test_options_only_in_pyproject_get_a_one_line_hint(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        """
        [tool.pytest.ini_options]
        replica_addr = "127.0.0.1:6876"
        conformance_profile = "quick"
        """,
    )
    result = run_pytest(tmp_path)
    assert result.ret == 5, result.stdout
    hints = [line for line in result.stdout.splitlines() if line.startswith(HINT)]
    assert len(hints) == 1, result.stdout
    assert "replica_addr, conformance_profile" in hints[0] and "`pytest --conformance`" in hints[0]
    assert not (tmp_path / "conformance-artifacts").exists(), "the plugin stayed inert"


def test_no_hint_without_conformance_settings_or_when_tests_ran(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.pytest.ini_options]\nmarkers = ['x']\n")
    empty = run_pytest(tmp_path)
    assert empty.ret == 5 and "compute-conformance:" not in empty.stdout
    write(tmp_path, "pyproject.toml", '[tool.pytest.ini_options]\nreplica_addr = "127.0.0.1:6876"\n')
    write(tmp_path, "test_own.py", "def test_own() -> None:\n    pass\n")
    own = run_pytest(tmp_path)
    assert own.ret == 0 and "compute-conformance:" not in own.stdout
