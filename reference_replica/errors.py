"""Protocol errors: why the replica ends a stream (spec TRANS-4, TRANS-5).

A malformed command (no kind, a missing required field, a frontier with two elements,
undecodable bytes) is INVALID_ARGUMENT; a well-formed command that is illegal at this point of
the stream (before the creation stage is done, a repeated creation command, a duplicate id,
an id this iteration never created) is FAILED_PRECONDITION. A legal command that the operator
does not allow (a storage address outside `--storage-allow`, spec 5.4) is PERMISSION_DENIED.
The message names the command.
"""

from __future__ import annotations

import grpc


class ProtocolError(Exception):
    def __init__(self, code: grpc.StatusCode, command: str, problem: str) -> None:
        super().__init__(f"{command}: {problem}")
        self.code = code
        self.command = command
        self.problem = problem

    @property
    def message(self) -> str:
        return f"{self.command}: {self.problem}"


def malformed(command: str, problem: str) -> ProtocolError:
    return ProtocolError(grpc.StatusCode.INVALID_ARGUMENT, command, problem)


def illegal(command: str, problem: str) -> ProtocolError:
    return ProtocolError(grpc.StatusCode.FAILED_PRECONDITION, command, problem)


def refused(command: str, problem: str) -> ProtocolError:
    """A legal command the replica's operator does not allow (a storage address, spec 5.4)."""
    return ProtocolError(grpc.StatusCode.PERMISSION_DENIED, command, problem)
