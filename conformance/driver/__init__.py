"""The driver: plays the controller over gRPC and feeds everything it sees to the oracle.

`Replica(address)` is the handle on one replica; `replica.connect()` opens a `Stream` (one
protocol iteration) on which the suite sends commands and waits, boundedly, for answers. Every
failure of the replica (closing, erroring or dropping the stream, dying, going silent) ends a
wait with `StreamEnded` or `WaitTimeout` carrying the oracle's verdicts, never with a hang.
"""

from conformance.driver.channel import CHANNEL_OPTIONS, MAX_MESSAGE_BYTES, TlsConfig
from conformance.driver.errors import (
    ConnectError,
    DriverError,
    StreamEnded,
    SuiteError,
    WaitError,
    WaitTimeout,
)
from conformance.driver.replica import DEFAULT_PATIENCE, Replica
from conformance.driver.stream import CopyToAnswer, PeekAnswer, Stream

__all__ = [
    "CHANNEL_OPTIONS",
    "DEFAULT_PATIENCE",
    "MAX_MESSAGE_BYTES",
    "ConnectError",
    "CopyToAnswer",
    "DriverError",
    "PeekAnswer",
    "Replica",
    "Stream",
    "StreamEnded",
    "SuiteError",
    "TlsConfig",
    "WaitError",
    "WaitTimeout",
]
