"""From a target's contents at the peek time to the one answer (spec 8.2).

In order: the MFP is applied to every matching row (an MFP error makes the answer `Error`);
equal output rows are summed; a negative multiplicity is `Error`; the finishing may thin the
rows; the result's size (spec 1.5: serialized row length plus 8 per entry) is compared with
`max_result_size` as configured *now* (CONFIG-1); otherwise the answer is `Rows`.
"""

from __future__ import annotations

from compute_protocol.v1 import command_pb2

from reference_replica import faults, responses, rows
from reference_replica.config import ComputeParameters
from reference_replica.expr import ILL_TYPED_ERRORS, EvalError
from reference_replica.mfp import Mfp
from reference_replica.peeks.finishing import thin
from reference_replica.rows import Row


def answer(
    uuid: int,
    otel_ctx: dict[str, str],
    contents: list[tuple[Row, int]],
    mfp: Mfp,
    finishing: command_pb2.ProtoRowSetFinishing,
    params: ComputeParameters,
) -> responses.Response:
    if mfp.is_identity:
        results = contents  # already consolidated, distinct rows
    else:
        try:
            results = _apply_mfp(contents, mfp)
        except EvalError as error:
            return responses.peek_error(uuid, f"evaluation error: {error.message}", otel_ctx)
        except ILL_TYPED_ERRORS:
            return responses.peek_error(uuid, "evaluation error: ill-typed expression", otel_ctx)
    for row, count in results:
        if count < 0:
            return responses.peek_error(
                uuid, f"negative multiplicity {count} for row {rows.fmt(row)} at the peek time", otel_ctx
            )
    results = thin(results, finishing)
    response = responses.peek_response(uuid, otel_ctx)
    collection = response.peek_response.resp.rows
    collection.SetInParent()
    out = collection.rows
    fill = rows.fill_proto
    limit = None if faults.on("peek-ignores-max-result-size") else params.max_result_size  # FAULT: PEEK-12
    size = 0
    for row, count in results:
        entry = out.add()
        fill(entry.row, row)
        entry.count = count
        if limit is not None:
            size += entry.row.ByteSize() + 8
            if size > limit:
                return responses.peek_error(
                    uuid, f"result exceeds max_result_size of {limit} bytes", otel_ctx
                )
    return response


def _apply_mfp(contents: list[tuple[Row, int]], mfp: Mfp) -> list[tuple[Row, int]]:
    sums: dict[bytes, int] = {}
    originals: dict[bytes, Row] = {}
    evaluate = mfp.evaluate
    for row, count in contents:
        out = evaluate(row)
        if out is None:
            continue
        key = rows.encode(out)
        sums[key] = sums.get(key, 0) + count
        originals[key] = out
    return [(originals[key], count) for key, count in sums.items() if count != 0]
