"""The oracle: a model of what the controller sent, judging every response against the spec.

`Oracle.consume(event)` takes history events in order. Safety rules are checked as each
response arrives; "eventually" rules are open obligations with a patience budget. Verdicts are
`Violation`s (MUST) and warnings (SHOULD), each with the rule id, every acceptable alternative,
what arrived and the last messages on the stream. A command that would break a CTRL rule
raises `ControllerError`: a bug of the suite, never a verdict about the replica.
"""

from conformance.oracle.obligations import Obligation
from conformance.oracle.oracle import DEFAULT_PATIENCE, Oracle
from conformance.oracle.violation import ControllerError, Violation, format_violation

__all__ = ["DEFAULT_PATIENCE", "ControllerError", "Obligation", "Oracle", "Violation", "format_violation"]
