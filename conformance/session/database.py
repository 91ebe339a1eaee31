"""Where Hypothesis keeps the examples a run found: a directory, or a Redis server runs share.

A failing example is saved (shrunk) in the example database, and every later run of the same
state machine replays the saved examples before it generates new ones. With the default, a
directory under the run's artifacts, that memory stays on one machine. With
`--conformance-database redis://HOST:PORT/N` (Hypothesis's own `RedisExampleDatabase`),
every run that names the same server and database number shares it: a failure that one CI
job or host found is replayed first by every later run, and shrunk only once. Examples are
keyed by the state machine's code, so runs of the same suite version share them.

Only the exploring profile (`deep`) uses a database: a derandomized run (`quick`, `ci`)
generates the same examples every time, and Hypothesis turns its database off in a run given
`--hypothesis-seed`, so neither saves nor replays any.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

REDIS_SCHEMES: Final = ("redis", "rediss", "unix")
DEFAULT_DIRECTORY: Final = "hypothesis"  # under the artifacts directory
INSTALL_HINT: Final = "pip install 'compute-conformance[redis]' (or pip install redis)"
CONNECT_TIMEOUT: Final = 5.0  # seconds
CALL_TIMEOUT: Final = 30.0  # seconds for one read or write of examples


def is_redis(location: str) -> bool:
    return urlsplit(location).scheme in REDIS_SCHEMES


def shown(location: str) -> str:
    """The location as messages and reports print it: a Redis URL's password replaced by ***."""
    parts = urlsplit(location)
    if not is_redis(location) or parts.password is None:
        return location
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def check_location(location: str) -> str:
    """The location, checked before any test (a Redis server is pinged once); ValueError, one line
    in the option's words, if it is unusable."""
    if not location.strip():
        raise ValueError("--conformance-database is empty (an unset variable?); expected a directory or redis://HOST:PORT/N")
    if not is_redis(location):
        if "://" in location:
            raise ValueError(
                f"--conformance-database {location!r}: unknown scheme; use a directory or redis://HOST:PORT/N"
            )
        return location
    text = shown(location)
    try:
        import redis
    except ImportError:
        raise ValueError(f"--conformance-database {text} needs the redis client: {INSTALL_HINT}") from None
    try:
        client = _client(location)
    except ValueError as e:
        raise ValueError(f"--conformance-database {text!r}: {e}") from None
    try:
        client.ping()  # one line before any test, not a traceback in the middle of a search
    except redis.RedisError as e:
        raise ValueError(f"--conformance-database {text}: the Redis server does not answer: {e}") from None
    finally:
        client.close()
    return location


def example_database(location: str, artifacts: Path) -> ExampleDatabase:
    """The database at `location` (a directory, or a Redis URL); "" is the default directory."""
    if location and is_redis(location):
        from hypothesis.extra.redis import RedisExampleDatabase

        return RedisExampleDatabase(_client(location))
    return DirectoryBasedExampleDatabase(Path(location) if location else artifacts / DEFAULT_DIRECTORY)


def _client(location: str) -> Any:
    """A Redis client for `location` whose every call is bounded (a server that stops answering
    fails the call, it does not hang the run)."""
    import redis

    return redis.Redis.from_url(location, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CALL_TIMEOUT)
