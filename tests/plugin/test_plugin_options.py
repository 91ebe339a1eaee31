"""The plugin end to end through pytest itself (in subprocesses): options and ini settings,
arguments injection, usage errors, and inertness for runs that are not the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.subrun import ROOT, run_pytest, write

PLAIN = "def test_one():\n    assert True\n\ndef test_two():\n    pass\n"


def test_inert_without_conformance_options(tmp_path: Path) -> None:
    write(tmp_path, "test_plain.py", PLAIN)
    result = run_pytest(tmp_path)
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert "compute-protocol conformance" not in result.stdout
    assert not (tmp_path / "conformance-artifacts").exists(), "no report, no replica log"
    assert "conformance/suite" not in result.stdout


def test_inert_under_xdist(tmp_path: Path) -> None:
    write(tmp_path, "test_plain.py", PLAIN)
    result = run_pytest(tmp_path, "-n", "2")
    result.assert_outcomes(passed=2)
    assert result.ret == 0 and not (tmp_path / "conformance-artifacts").exists()


def test_replica_addr_alone_collects_the_suite(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--replica-addr", "127.0.0.1:9", "--co", "-q")
    out = result.stdout
    assert "test_machines.py::test_protocol_machine[0]" in out
    assert "test_scenarios.py::test_scenario[peek-index-basic]" in out
    assert "test_replay" not in out, "the replay test exists only with --replay"
    first = next(line for line in out.splitlines() if "::" in line)
    assert "read_only" in first or "read-only" in first, "read-only tests are ordered first"


def test_explicit_paths_are_left_alone(tmp_path: Path) -> None:
    write(tmp_path, "test_mine.py", PLAIN)
    result = run_pytest(tmp_path, "--replica-addr", "127.0.0.1:9", "test_mine.py")
    result.assert_outcomes(passed=2)
    assert "compute-protocol conformance" not in result.stdout


def test_pyargs_collects_the_suite(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--pyargs", "conformance.suite", "--co", "-q")
    assert "test_scenario[peek-index-basic]" in result.stdout


def test_replay_selects_only_the_replay_test(tmp_path: Path) -> None:
    (tmp_path / "x.replay.json").write_text((ROOT / "scenarios" / "peek-index-basic.json").read_text())
    result = run_pytest(tmp_path, "--replay", "x.replay.json", "--co", "-q")
    lines = [line for line in result.stdout.splitlines() if "::" in line]
    assert len(lines) == 1 and lines[0].endswith("test_replay.py::test_replay")


def test_one_replica_addr_for_two_workers_is_a_usage_error(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--replica-addr", "127.0.0.1:9", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--replica-addr names one replica, but 2 xdist workers" in result.stderr
    assert "--replica-pool" in result.stderr


def test_a_pool_too_small_is_a_usage_error(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--replica-pool", "127.0.0.1:9", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--replica-pool has 1 address(es) for 2 worker(s)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--conformance-profile", "huge"),
            "unknown conformance profile 'huge'; choose one of quick, ci, deep",
        ),
        (("--conformance-patience", "-1"), "--conformance-patience must be a positive"),
        (("--capabilities", "nope.json"), "nope.json: cannot read capabilities file"),
        (("--known-failing", "nope.txt"), "nope.txt: cannot read known-failing file"),
        (("--replica-tls-cert", "c.pem"), "--replica-tls-cert and --replica-tls-key go together"),
    ],
)
def test_bad_option_values_are_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_pytest(tmp_path, "--replica-addr", "127.0.0.1:9", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr


def test_ini_settings_and_command_line_precedence(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pytest.ini",
        """
        [pytest]
        conformance_profile = quick
        conformance_patience = 7.5
        conformance_artifacts = out
        replica_cmd = my-replica --port {port}
    """,
    )
    write(
        tmp_path,
        "test_settings.py",
        """
        def test_settings(conformance_settings):
            s = conformance_settings
            print("PROFILE", s.profile.name, s.profile.patience, s.artifacts.name, s.command)
    """,
    )
    result = run_pytest(tmp_path, "-s", "test_settings.py")
    assert "PROFILE quick 7.5 out my-replica --port {port}" in result.stdout
    result = run_pytest(tmp_path, "-s", "--conformance-profile", "deep", "test_settings.py")
    assert "PROFILE deep 7.5 out" in result.stdout
