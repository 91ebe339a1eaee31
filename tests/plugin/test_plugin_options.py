"""The plugin end to end through pytest itself (pytester, in subprocesses): options and ini
settings, arguments injection, usage errors, and inertness for runs that are not the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ("-p", "conformance.plugin")


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [str(ROOT), str(ROOT / "protos"), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))


def test_inert_without_conformance_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "compute-protocol conformance" not in result.stdout.str()
    assert not (pytester.path / "conformance-artifacts").exists(), "no report, no replica log"
    assert "conformance/suite" not in result.stdout.str()


def test_inert_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    result = pytester.runpytest_subprocess(*PLUGIN, "-n", "2")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert not (pytester.path / "conformance-artifacts").exists()


def test_replica_addr_alone_collects_the_suite(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--replica-addr", "127.0.0.1:9", "--co", "-q")
    out = result.stdout.str()
    assert "test_machines.py::test_protocol_machine[0]" in out
    assert "test_scenarios.py::test_scenario[peek-index-basic]" in out
    assert "test_replay" not in out, "the replay test exists only with --replay"
    first = next(line for line in out.splitlines() if "::" in line)
    assert "read_only" in first or "read-only" in first, "read-only tests are ordered first"


def test_explicit_paths_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    result = pytester.runpytest_subprocess(*PLUGIN, "--replica-addr", "127.0.0.1:9", "test_mine.py")
    result.assert_outcomes(passed=1)
    assert "compute-protocol conformance" not in result.stdout.str()


def test_pyargs_collects_the_suite(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--pyargs", "conformance.suite", "--co", "-q")
    assert "test_scenario[peek-index-basic]" in result.stdout.str()


def test_replay_selects_only_the_replay_test(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--replay", "x.replay.json", "--co", "-q")
    lines = [line for line in result.stdout.str().splitlines() if "::" in line]
    assert len(lines) == 1 and lines[0].endswith("test_replay.py::test_replay")


def test_one_replica_addr_for_two_workers_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--replica-addr", "127.0.0.1:9", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replica-addr names one replica*2 xdist workers*--replica-pool*"])


def test_a_pool_too_small_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--replica-pool", "127.0.0.1:9", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replica-pool has 1 address(es) for 2 worker(s)*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--conformance-profile", "huge"), "*unknown conformance profile 'huge'*quick, ci, deep*"),
        (("--conformance-patience", "-1"), "*--conformance-patience must be a positive*"),
        (("--capabilities", "nope.json"), "*nope.json: cannot read capabilities file*"),
        (("--known-failing", "nope.txt"), "*nope.txt: cannot read known-failing file*"),
        (("--replica-tls-cert", "c.pem"), "*--replica-tls-cert and --replica-tls-key go together*"),
    ],
)
def test_bad_option_values_are_usage_errors(
    pytester: pytest.Pytester, args: tuple[str, ...], message: str
) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--replica-addr", "127.0.0.1:9", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_ini_settings_and_command_line_precedence(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nconformance_profile = quick\nconformance_patience = 7.5\n"
        "conformance_artifacts = out\nreplica_cmd = my-replica --port {port}\n"
    )
    pytester.makepyfile(
        test_settings="""
        def test_settings(conformance_settings):
            s = conformance_settings
            print("PROFILE", s.profile.name, s.profile.patience, s.artifacts.name, s.command)
    """
    )
    result = pytester.runpytest_subprocess(*PLUGIN, "-s", "test_settings.py")
    result.stdout.fnmatch_lines(["*PROFILE quick 7.5 out my-replica --port {port}*"])
    result = pytester.runpytest_subprocess(*PLUGIN, "-s", "--conformance-profile", "deep", "test_settings.py")
    result.stdout.fnmatch_lines(["*PROFILE deep 7.5 out*"])
