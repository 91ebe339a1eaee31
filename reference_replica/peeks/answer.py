"""From a target's contents at the peek time to the one answer (spec 8.2).

In order: the MFP is applied to every matching row (an MFP error makes the answer `Error`);
equal output rows are summed; a negative multiplicity is `Error`; the finishing may thin the
rows; the result's size (spec 1.5: serialized row length plus 8 per entry) is compared with
`max_result_size` as configured *now* (CONFIG-1); otherwise the answer is `Rows`.
"""

from __future__ import annotations

from compute_protocol.v1 import command_pb2

from reference_replica import faults, responses, rows, variants
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
    return rows_response(uuid, otel_ctx, results, params)


def rows_response(
    uuid: int, otel_ctx: dict[str, str], results: list[tuple[Row, int]], params: ComputeParameters
) -> responses.Response:
    """`Rows` with `results`, or `Error` if they exceed `max_result_size` as configured now."""
    if variants.on("split-peek-rows"):
        results = _split_entries(results)  # VARIANT: the same multiset, in more entries
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


def answer_first_rows(
    uuid: int,
    otel_ctx: dict[str, str],
    contents: list[tuple[Row, int]],
    mfp: Mfp,
    wanted: int,
    params: ComputeParameters,
) -> responses.Response:
    """A persist peek that stops after `wanted` output rows (variant persist-peek-stops-at-limit,
    PEEK-15): rows in the shard's own order (by encoding), each checked and mapped on its own;
    whatever comes after the limit is never read, so it cannot make the answer an Error."""
    out: list[tuple[Row, int]] = []
    for row, count in sorted(contents, key=lambda entry: rows.encode(entry[0])):
        if wanted <= 0:
            break
        if count < 0:
            return responses.peek_error(uuid, f"negative multiplicity {count} for row {rows.fmt(row)}", otel_ctx)
        try:
            mapped = mfp.evaluate(row)
        except EvalError as error:
            return responses.peek_error(uuid, f"evaluation error: {error.message}", otel_ctx)
        except ILL_TYPED_ERRORS:
            return responses.peek_error(uuid, "evaluation error: ill-typed expression", otel_ctx)
        if mapped is not None:
            out.append((mapped, count))
            wanted -= count
    return rows_response(uuid, otel_ctx, out, params)


def _split_entries(results: list[tuple[Row, int]]) -> list[tuple[Row, int]]:
    """Each (row, n) as up to three entries summing to n, the whole list reversed."""
    out: list[tuple[Row, int]] = []
    for row, count in results:
        parts = min(count, 3)
        out.extend((row, count // parts + (1 if i < count % parts else 0)) for i in range(parts))
    return out[::-1]
