"""Issue 10's table, row by row: what a broken or hostile replica (or a user's mistake) gets.

Each test runs the suite as a user would (`pytest` in a scratch directory, a subprocess) against
a replica from `hostile_replica.py` or the reference replica, with small bounds so that it takes
seconds, and checks the verdict and its words, that the JSON report agrees with the exit status,
that the run ended within a generous bound, the suite's peak memory where memory is the point,
and that nothing is left behind: no replica process, nothing outside the artifacts directory.
The longer runs (a few seconds each) are marked slow: `make test` runs them, the fast tier not.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.conformance.fake_servers import FakeReplica, silent
from tests.pki import Pki, make_pki
from tests.plugin.subrun import PLUGIN, ROOT, Result, run_pytest

HOSTILE = Path(__file__).with_name("hostile_replica.py")
REFERENCE = "{python} -m reference_replica --listen 127.0.0.1:{port}"
QUICK = ("--conformance-profile", "quick")
BOUND = 90.0  # seconds any of these runs may take, at most, on a loaded machine (they take a few)


def hostile(mode: str, arg: int = 0, tag: str = "") -> str:
    """A --replica-cmd for a hostile replica; `tag` marks its processes, to find leftovers."""
    return f"{{python}} {HOSTILE} {mode} {{port}} {arg} {tag}".rstrip()


def report(directory: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / "conformance-artifacts" / "conformance-report.json").read_text())
    return data


def status(data: dict[str, Any], rule_id: str) -> str:
    return str(next(r["status"] for r in data["rules"] if r["id"] == rule_id))


def processes_with(tag: str) -> list[str]:
    """Command lines of live processes that carry `tag` (a replica the suite failed to stop)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if tag in cmdline and "pytest" not in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def outside_artifacts(directory: Path, allowed: set[str]) -> list[str]:
    """Files the run left in `directory` other than its artifacts (and the test's own `allowed`)."""
    return sorted(
        str(p.relative_to(directory))
        for p in directory.rglob("*")
        if p.is_file() and p.relative_to(directory).parts[0] not in {"conformance-artifacts", *allowed}
    )


def assert_nothing_left(directory: Path, tag: str = "", allowed: set[str] | None = None) -> None:
    """No replica process, no port its replica listened on, no file outside the artifacts."""
    if tag:
        deadline = time.monotonic() + 5  # a SIGKILLed process takes a moment to disappear
        while processes_with(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not processes_with(tag), f"replica processes left running: {processes_with(tag)}"
    report_file = directory / "conformance-artifacts" / "conformance-report.json"
    if report_file.exists():
        for port in re.findall(r"127\.0\.0\.1:(\d+)", json.loads(report_file.read_text())["target"]):
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", int(port))) != 0, f"port {port} still accepts connections"
    assert outside_artifacts(directory, allowed or set()) == []


def assert_agrees(result: Result, directory: Path, word: str, code: int) -> dict[str, Any]:
    """Exit status, terminal, JSON and Markdown show the same verdict."""
    assert result.ret == code, f"exit {result.ret}, wanted {code}\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    data = report(directory)
    assert data["verdict"] == word.lower() and data["exit_code"] == code
    headline = f"{word} - " + "; ".join(data["exit_reasons"]) if data["exit_reasons"] else word
    assert f"verdict: {headline} (exit status {code})" in result.stdout
    md = (directory / "conformance-artifacts" / "conformance-report.md").read_text()
    assert f"- verdict: **{word}** (exit status {code})" in md
    assert result.seconds < BOUND, f"took {result.seconds:.0f} s"
    return data


def suite(directory: Path, *args: str, **kw: Any) -> Result:
    return run_pytest(directory, *QUICK, *args, timeout=BOUND + 60, **kw)


# --- rows: the replica process ------------------------------------------------------------------


def test_a_replica_command_that_exits_at_once_fails_the_run(tmp_path: Path) -> None:
    result = suite(tmp_path, "--replica-cmd", "false {port}", "--junitxml", "junit.xml")
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    reason = data["reasons"][0]
    assert reason["kind"] == "replica"
    assert reason["text"].startswith("replica could not be started: it exited with code 1")
    assert data["tests"]["failed"] == 1 and data["tests"]["run"] == 1, "it stopped after the first test"
    (verdict_case,) = [c for c in ET.parse(tmp_path / "junit.xml").iter("testcase") if c.get("name") == "verdict"]
    failure = verdict_case.find("failure")
    assert failure is not None and "replica could not be started" in (failure.get("message") or "")
    assert_nothing_left(tmp_path, allowed={"junit.xml"})


@pytest.mark.slow
def test_a_replica_that_dies_mid_run_is_replica_died_with_its_status_and_log(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    result = suite(tmp_path, "--replica-cmd", hostile("die-after", 60, tag), "--conformance-patience", "5")
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    (died,) = [r["text"] for r in data["reasons"] if r["kind"] == "replica"]
    assert died.startswith("replica died: process") and "exited with code 9" in died
    assert "dying on command 60" in died, "the last lines of its log"
    assert status(data, "TRANS-3") != "failed", "a dead process is not the replica ending its stream"
    assert data["tests"]["run"] < data["tests"]["selected"], "the run stopped once the replica was gone"
    assert data["replica_deaths"] == [died]
    assert_nothing_left(tmp_path, tag)


def test_a_server_without_the_compute_service_gets_a_verdict_not_a_traceback(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    probes = str(ROOT / "conformance" / "suite" / "test_robustness.py")
    result = suite(tmp_path, probes, "--replica-cmd", hostile("unimplemented", 0, tag))
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    assert "UnboundLocalError" not in result.stdout + result.stderr
    assert data["tests"]["suite_errors"] == []
    assert any("does not serve the compute protocol" in r for r in data["exit_reasons"]), data["exit_reasons"]
    assert_nothing_left(tmp_path, tag)


def test_robustness_probes_against_a_replica_that_dies_give_a_verdict(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    probes = str(ROOT / "conformance" / "suite" / "test_robustness.py")
    result = suite(tmp_path, probes, "--replica-cmd", hostile("die-after", 4, tag), "--conformance-strict")
    assert "UnboundLocalError" not in result.stdout + result.stderr
    data = report(tmp_path)
    assert data["tests"]["suite_errors"] == [] and data["verdict"] == "fail" and result.ret == 1
    assert_nothing_left(tmp_path, tag)


def test_a_silent_replica_gets_a_verdict_within_the_patience_and_the_run_stops(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    result = suite(tmp_path, "--replica-cmd", hostile("silent", 0, tag), "--conformance-patience", "1")
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    reason = data["reasons"][0]
    assert reason["kind"] == "replica"
    assert reason["text"].startswith("replica silent: ") and "sent no response at all" in reason["text"]
    assert data["tests"]["run"] == 1, "fail-fast: no other test waits in vain"
    assert_nothing_left(tmp_path, tag)


@pytest.mark.slow
def test_the_whole_run_deadline_stops_the_run_with_a_verdict_and_a_report(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    args = ("--replica-cmd", hostile("silent", 0, tag), "--conformance-patience", "60", "--conformance-deadline", "4")
    result = suite(tmp_path, *args)
    data = assert_agrees(result, tmp_path, "ERROR", 2)
    assert data["reasons"] == [
        {
            "kind": "interrupted",
            "text": "the whole-run deadline (4 s, --conformance-deadline) passed before the run finished",
        }
    ]
    assert result.seconds < 30, f"a 4 s deadline took {result.seconds:.0f} s"
    assert [s for s in data["tests"]["skipped"] if "not finished: the whole-run deadline" in s], data["tests"]
    assert_nothing_left(tmp_path, tag)


# --- rows: what the replica sends -----------------------------------------------------------------


def test_undecodable_bytes_are_one_trans_6_violation_then_the_run_stops(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    result = suite(tmp_path, "--replica-cmd", hostile("garbage", 0, tag))
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    assert data["exit_reasons"] == ["MUST rule(s) violated: TRANS-6"]
    first = next(r for r in data["rules"] if r["id"] == "TRANS-6")["first_violation"]
    assert "a response the controller cannot decode (4 bytes, sha256 " in first and "0a7f0102" in first
    assert status(data, "TRANS-3") != "failed", "the suite's decode failure is not the replica ending the stream"
    assert data["tests"]["run"] == 1 and data["stopped"].endswith("(TRANS-6)")
    assert_nothing_left(tmp_path, tag)


def test_a_flood_of_responses_is_bounded_and_judged(tmp_path: Path) -> None:
    """100,000 legal but pointless responses on a stream: the controller holds at most a bounded
    number (5,000 here, to keep the test short; the default is 20,000), then refuses the rest."""
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    args = ("--replica-cmd", hostile("flood", 100_000, tag), "--conformance-patience", "60", "-k", "peek-index-basic")
    result = suite(tmp_path, *args, "--conformance-max-stream-responses", "5000", peak_rss=True)
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    assert data["exit_reasons"] == ["MUST rule(s) violated: TRANS-6"]
    first = next(r for r in data["rules"] if r["id"] == "TRANS-6")["first_violation"]
    assert "more responses on one stream than the controller holds" in first
    assert "before it: 5000 responses (5000 frontiers)" in first, "what arrived, summarized"
    assert result.peak_rss_mib is not None and result.peak_rss_mib < 500, f"peak RSS {result.peak_rss_mib:.0f} MiB"
    artifacts = sum(p.stat().st_size for p in (tmp_path / "conformance-artifacts").rglob("*") if p.is_file())
    assert artifacts < 32 << 20, f"{artifacts} bytes of artifacts"
    assert_nothing_left(tmp_path, tag)


@pytest.mark.slow
def test_the_artifact_cap_bounds_histories_and_replica_logs(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    args = ("--replica-cmd", hostile("flood", 100_000, tag), "--conformance-patience", "60", "-k", "peek-index-basic")
    cap = ("--conformance-max-stream-responses", "5000", "--conformance-max-artifact-bytes", "64K")
    result = suite(tmp_path, *args, *cap)
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    assert data["exit_reasons"] == ["MUST rule(s) violated: TRANS-6"], "the verdict does not depend on the cap"
    artifacts = tmp_path / "conformance-artifacts"
    written = [p for p in artifacts.rglob("*") if p.is_file() and not p.name.startswith("conformance-report.")]
    assert sum(p.stat().st_size for p in written) < (64 << 10) + (8 << 10), "the cap, and a few notes past it"
    (history,) = artifacts.glob("failures/*.history.jsonl")
    assert "history cut short" in history.read_text().splitlines()[-1]
    assert_nothing_left(tmp_path, tag)


def test_a_100_mb_response_is_refused_unread_and_never_copied(tmp_path: Path) -> None:
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    result = suite(tmp_path, "--replica-cmd", hostile("huge", 100, tag), peak_rss=True)
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    assert data["exit_reasons"] == ["MUST rule(s) violated: TRANS-6"]
    first = next(r for r in data["rules"] if r["id"] == "TRANS-6")["first_violation"]
    assert "a response larger than the controller accepts (104857605 bytes" in first
    assert result.peak_rss_mib is not None and result.peak_rss_mib < 250, f"peak RSS {result.peak_rss_mib:.0f} MiB"
    sizes = {str(p): p.stat().st_size for p in (tmp_path / "conformance-artifacts").rglob("*") if p.is_file()}
    assert max(sizes.values()) < 1 << 20, sizes
    assert_nothing_left(tmp_path, tag)


def test_a_huge_error_text_is_quoted_not_copied(tmp_path: Path) -> None:
    """Within the size bound a large message is judged, and every text quotes a bounded part of it."""
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    args = ("--replica-cmd", hostile("big-error", 4, tag), "-k", "peek-index-basic", "--conformance-quote-bytes", "512")
    result = suite(tmp_path, *args)
    data = assert_agrees(result, tmp_path, "FAIL", 1)
    assert "e" * 600 not in result.stdout and "e" * 600 not in json.dumps(data)
    assert "characters in all" in result.stdout
    replay = next((tmp_path / "conformance-artifacts" / "failures").glob("*.replay.json"))
    assert replay.stat().st_size < 64 << 10, "the replay file quotes, it does not copy"
    assert_nothing_left(tmp_path, tag)


# --- rows: a correct replica used twice ------------------------------------------------------------


@pytest.fixture
def reference_replica(tmp_path: Path) -> Iterator[str]:
    """A reference replica started by the test (so: one the suite did not start)."""
    log = open(tmp_path / "replica.log", "wb")  # noqa: SIM115
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "protos")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_replica", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=log,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    try:
        yield address
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.mark.slow
def test_a_reused_replica_never_gets_a_false_read_only_fail(tmp_path: Path, reference_replica: str) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    made_writable = suite(first, "--replica-addr", reference_replica, "-k", "materialized-view-writes")
    assert made_writable.ret == 0, made_writable.stdout[-3000:]
    args = ("--replica-addr", reference_replica, "-k", "read_only_machine or materialized-view-writes")
    again = suite(second, *args, "--conformance-examples", "2")
    data = assert_agrees(again, second, "PASS", 0)
    assert status(data, "RO-1") != "failed" and status(data, "RO-3") != "failed"
    assert any("test_read_only_machine" in s and "--replica-fresh" in s for s in data["tests"]["skipped"])
    for line in data["rules"]:
        if line["id"] in ("RO-1", "RO-3") and line["status"] == "not_exercised":
            assert "--replica-fresh" in line["reason"], line


@pytest.mark.slow
def test_a_replica_declared_fresh_runs_the_read_only_tests(tmp_path: Path, reference_replica: str) -> None:
    args = ("--replica-addr", reference_replica, "--replica-fresh", "-k", "read_only_machine")
    result = suite(tmp_path, *args, "--conformance-examples", "2")
    data = assert_agrees(result, tmp_path, "PASS", 0)
    assert data["tests"]["skipped"] == [] and data["tests"]["run"] == 1, "the read-only machine ran"


# --- rows: usage ------------------------------------------------------------------------------------


def usage(directory: Path, *args: str) -> Result:
    result = run_pytest(directory, *args, timeout=60)
    assert result.ret == 4, f"exit {result.ret}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ERROR: "), result.stderr
    assert "passed" not in result.stdout and "failed" not in result.stdout, "no test ran"
    assert not (directory / "conformance-artifacts" / "failures").exists(), "no failure artifacts"
    assert result.seconds < 30
    return result


def test_an_empty_replica_addr_is_a_usage_error_not_a_run_of_the_bundled_replica(tmp_path: Path) -> None:
    (tmp_path / "conformance-artifacts").mkdir()
    (tmp_path / "conformance-artifacts" / "conformance-report.json").write_text('{"verdict": "pass"}')
    result = usage(tmp_path, "--replica-addr", "")
    assert "--replica-addr is empty (an unset variable?)" in result.stderr
    assert not (tmp_path / "conformance-artifacts" / "conformance-report.json").exists(), "no stale PASS left"


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("localhost", "'localhost' has no port"),
        ("127.0.0.1:abc", "port 'abc' is not a number"),
        (":99999", "port 99999 is out of range (1-65535)"),
        ("http://127.0.0.1:6876", "is a URL; give HOST:PORT without the http:// scheme (127.0.0.1:6876)"),
        ("127.0.0.1:6876,", "has an empty address between commas"),
    ],
)
def test_a_malformed_address_is_one_line_before_any_test(tmp_path: Path, address: str, words: str) -> None:
    result = usage(tmp_path, "--replica-addr", address)
    assert words in result.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tcp_only() -> Iterator[str]:
    """Accepts TCP connections and closes them: not gRPC."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


@pytest.fixture
def grpc_without_compute() -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=[("grpc.so_reuseport", 0)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None).wait(5)


def test_connection_checks_tell_refused_not_grpc_and_not_compute_apart(
    tmp_path: Path, tcp_only: str, grpc_without_compute: str
) -> None:
    threads = threading.active_count()
    cases = [
        (f"127.0.0.1:{_closed_port()}", "connection refused: nothing listens on that port"),
        (tcp_only, "not gRPC: the port accepts TCP connections and closes them without an HTTP/2 answer"),
        (grpc_without_compute, "not the compute service: the gRPC server answers UNIMPLEMENTED"),
    ]
    for i, (address, words) in enumerate(cases):
        directory = tmp_path / str(i)
        directory.mkdir()
        result = usage(directory, "--replica-addr", address)
        assert f"ERROR: cannot test --replica-addr {address}: {words}" in result.stderr
        data = report(directory)
        assert data["verdict"] == "error" and data["exit_code"] == 4 and data["reasons"][0]["kind"] == "usage"
    assert threading.active_count() <= threads + 1  # (gRPC may keep one poller thread of its own)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_tls_on_one_side_only_is_a_tls_mismatch(tmp_path: Path, pki: Pki) -> None:
    creds = pki.server_credentials()
    tls_server, plain_server = FakeReplica(silent, tls=creds), FakeReplica(silent)
    try:
        (tmp_path / "a").mkdir()
        result = usage(tmp_path / "a", "--replica-addr", tls_server.address)
        assert "TLS mismatch: the replica speaks TLS, the suite plaintext (give --replica-tls-ca" in result.stderr
        (tmp_path / "b").mkdir()
        result = usage(tmp_path / "b", "--replica-addr", plain_server.address, "--replica-tls-ca", str(pki.ca))
        assert "TLS mismatch: the replica speaks plaintext gRPC, the suite TLS" in result.stderr
        (tmp_path / "c").mkdir()
        result = usage(tmp_path / "c", "--replica-addr", tls_server.address, "--replica-tls-ca", str(pki.other_ca))
        assert "TLS: the replica's certificate is not trusted" in result.stderr
    finally:
        tls_server.stop()
        plain_server.stop()


def test_a_pool_address_is_checked_too(tmp_path: Path) -> None:
    result = usage(tmp_path, "--replica-pool", f"127.0.0.1:{_closed_port()};localhost")
    assert "--replica-pool 'localhost' has no port" in result.stderr


# --- rows: files given to the suite -----------------------------------------------------------------


def _deep(n: int = 100_000) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read: No such file or directory"),
        ("{not json", "not valid JSON: Expecting property name"),
        (_deep(), "not valid JSON for a scenario: nested too deeply"),
    ],
)
def test_a_replay_file_that_cannot_be_replayed_is_a_usage_error(
    tmp_path: Path, content: str | None, words: str
) -> None:
    if content is not None:
        (tmp_path / "f.replay.json").write_text(content)
    result = usage(tmp_path, "--replay", "f.replay.json")
    assert words in result.stderr and "RecursionError" not in result.stderr


def test_a_deeply_nested_capabilities_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "caps.json").write_text(_deep())
    result = usage(tmp_path, "--conformance", "--capabilities", "caps.json")
    assert "caps.json: not a capabilities file: JSON nested too deeply" in result.stderr


@pytest.mark.slow
def test_a_replay_keeps_its_artifacts_apart_from_the_run_it_replays(tmp_path: Path) -> None:
    faulty = f"{REFERENCE} --inject-fault duplicate-peek-response"
    failing = suite(tmp_path, "--replica-cmd", faulty, "-k", "peek-index-basic")
    assert failing.ret == 1, failing.stdout[-3000:]
    artifacts = tmp_path / "conformance-artifacts"
    main_report = (artifacts / "conformance-report.json").read_bytes()
    (saved,) = sorted((artifacts / "failures").glob("*.replay.json"))
    replayed = suite(tmp_path, "--replica-cmd", faulty, "--replay", str(saved))
    assert replayed.ret == 1 and "reproduced" in replayed.stdout
    assert (artifacts / "conformance-report.json").read_bytes() == main_report, "the run's report is untouched"
    own = artifacts / "replays" / saved.name.removesuffix(".json")
    assert json.loads((own / "conformance-report.json").read_text())["verdict"] == "fail"
    assert sorted(artifacts.rglob("*.replay.json")) == [saved], "no replay file of a replay"
    assert list((own / "failures").glob("*.history.jsonl")), "the replay keeps the history of what it saw"


# --- CI's own timeout ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "workers", [(), pytest.param(("-n", "2"), marks=pytest.mark.slow)], ids=["one process", "two xdist workers"]
)
def test_sigterm_leaves_a_report_and_no_replica(tmp_path: Path, workers: tuple[str, ...]) -> None:
    """Only the controller gets the signal (as from `timeout`): with xdist it kills its workers,
    and still stops the replicas they started."""
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "protos")])}
    env.pop("PYTEST_XDIST_WORKER", None)
    argv = [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:cacheprovider", *QUICK, *workers]
    argv += ["--replica-cmd", hostile("silent", 0, tag), "--conformance-patience", "60"]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(processes_with(tag)) < max(1, len(workers)) and time.monotonic() < deadline:  # under way
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out[-3000:] + err[-2000:]
    data = report(tmp_path)
    assert data["verdict"] == "error" and data["exit_code"] == 2
    assert data["exit_reasons"] == ["the run was interrupted (SIGTERM) before it finished"]
    assert_nothing_left(tmp_path, tag)
