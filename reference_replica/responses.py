"""Building responses, and the single point where they leave the replica (spec 1.4).

Every response goes through `Responder.send`, which delivers it to the current connection
if there is one. Between a new stream's arrival and its reconciliation the responder is
detached, so whatever the old state produces then is dropped (RECON-1, RECON-2). This is
also where faults that distort responses hook in.
"""

from __future__ import annotations

import time
from collections import deque

from compute_protocol.v1 import response_pb2

from reference_replica import faults, frontier, ids, variants
from reference_replica.connection import Connection

Response = response_pb2.ProtoComputeResponse


class Responder:
    def __init__(self) -> None:
        self.connection: Connection | None = None
        self._held: deque[tuple[float, Connection, Response]] = deque()  # only under timing variants
        self._sent = 0

    def attach(self, connection: Connection | None) -> None:
        self.connection = connection

    def send(self, response: Response) -> None:
        connection = self.connection
        if connection is None:
            return
        if variants.on("delayed-responses") or variants.on("bunched-responses"):
            self._hold(connection, response)  # VARIANT: sent later by flush(), in order
            return
        self._deliver(connection, response)

    def _deliver(self, connection: Connection, response: Response) -> None:
        connection.send(response)
        if faults.on("duplicate-peek-response") and response.WhichOneof("kind") == "peek_response":
            connection.send(response)  # FAULT: breaks PEEK-1

    def _hold(self, connection: Connection, response: Response) -> None:
        now = time.monotonic()
        self._sent += 1
        if variants.on("delayed-responses"):
            due = now + 0.005 + (self._sent * 7 % 20) / 1000  # 5 to 24 ms, varying
        else:
            due = (int(now / 0.05) + 1) * 0.05  # the next bunch, every 50 ms
        if self._held:
            due = max(due, self._held[-1][0])  # order is kept
        self._held.append((due, connection, response))

    def holding(self) -> bool:
        return bool(self._held)

    def flush(self) -> None:
        """Send what the timing variants held and is due (a no-op otherwise)."""
        now = time.monotonic()
        while self._held and self._held[0][0] <= now:
            _, connection, response = self._held.popleft()
            self._deliver(connection, response)


# --- builders ------------------------------------------------------------------------------


def frontiers(collection: str, write: int | None, input_: int | None, output: int | None) -> Response:
    response = Response()
    kind = response.frontiers
    ids.fill_gid(kind.id, collection)
    resp = kind.resp
    resp.SetInParent()
    if write is not None:
        frontier.fill(resp.write_frontier, write)
    if input_ is not None:
        frontier.fill(resp.input_frontier, input_)
    if output is not None:
        frontier.fill(resp.output_frontier, output)
    return response


def peek_response(uuid: int, otel_ctx: dict[str, str]) -> Response:
    """A peek answer with no variant chosen yet; the caller sets rows, error or canceled."""
    response = Response()
    kind = response.peek_response
    kind.id.CopyFrom(ids.uuid_proto(uuid))
    for k, v in otel_ctx.items():
        kind.otel_ctx[k] = v
    return response


def peek_error(uuid: int, message: str, otel_ctx: dict[str, str]) -> Response:
    response = peek_response(uuid, otel_ctx)
    response.peek_response.resp.error = message
    return response


def peek_canceled(uuid: int, otel_ctx: dict[str, str]) -> Response:
    response = peek_response(uuid, otel_ctx)
    response.peek_response.resp.canceled.SetInParent()
    return response


def subscribe_batch(collection: str, lower: int, upper: int) -> Response:
    """A subscribe batch with no contents yet; the caller sets updates or error."""
    response = Response()
    kind = response.subscribe_response
    ids.fill_gid(kind.id, collection)
    batch = kind.resp.batch
    frontier.fill(batch.lower, lower)
    frontier.fill(batch.upper, upper)
    return response


def subscribe_dropped_at(collection: str, at: int) -> Response:
    response = Response()
    kind = response.subscribe_response
    ids.fill_gid(kind.id, collection)
    frontier.fill(kind.resp.dropped_at, at)
    return response


def copy_to_rows(collection: str, rows: int) -> Response:
    response = Response()
    ids.fill_gid(response.copy_to_response.id, collection)
    response.copy_to_response.resp.rows = rows
    return response


def copy_to_error(collection: str, message: str) -> Response:
    response = Response()
    ids.fill_gid(response.copy_to_response.id, collection)
    response.copy_to_response.resp.error = message
    return response


def copy_to_dropped(collection: str) -> Response:
    response = Response()
    ids.fill_gid(response.copy_to_response.id, collection)
    response.copy_to_response.resp.dropped.SetInParent()
    return response


def hydration(collection: str, lir_id: int, worker_id: int, hydrated: bool) -> Response:
    response = Response()
    status = response.status.operator_hydration
    ids.fill_gid(status.collection_id, collection)
    status.lir_id = lir_id
    status.worker_id = worker_id
    status.hydrated = hydrated
    return response
