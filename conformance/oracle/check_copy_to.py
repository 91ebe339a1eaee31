"""Section 10 (copy-to): one answer per copy-to, backed by the blob the storage service saw."""

from __future__ import annotations

from collections import Counter

from compute_protocol.v1 import response_pb2

from conformance.oracle.bounds import cite, final_at, owed_final_at
from conformance.oracle.context import Context
from conformance.oracle.multisets import explain_difference, fmt_multiset
from conformance.oracle.state import Collection, Iteration, StreamState
from conformance.quotes import clip
from conformance.storage import SUITE_WRITER
from conformance.wire import frontiers
from conformance.wire.ids import gid_str
from conformance.wire.rows import Row


def on_copy_to_response(
    ctx: Context, it: Iteration, ss: StreamState, msg: response_pb2.ProtoCopyToResponseKind
) -> None:
    gid = gid_str(msg.id)
    subject = f"copy-to {gid}"
    c = it.collections.get(gid)
    ctx.exercise("COPY-2", "RECON-1")
    if c is None or c.kind != "copy_to":
        expected = "CopyToResponses only for copy-tos"
        if c is None:
            never = f"a CopyToResponse for {gid}, never created in this iteration"
            ctx.flag_not_created(ss, gid, subject, "a CopyToResponse", "COPY-2", expected, never)
        else:
            ctx.flag("COPY-2", ss, subject, [expected], f"a CopyToResponse for {gid}, a {c.kind.replace('_', '-')}")
        return
    variant = msg.resp.WhichOneof("kind") or "none"
    ctx.exercise("COPY-1")
    if gid in ss.copy_answers:
        ctx.flag(
            "COPY-1",
            ss,
            subject,
            ["nothing: the copy-to was already answered"],
            f"a second answer ({variant})",
        )
        return
    ss.copy_answers[gid] = variant
    ctx.discharged(ctx.obligations.discharge_group(("copy", ss.name, gid)))
    ctx.exercise("COPY-4")
    if variant == "dropped":
        if c.dropped_seq is None:
            ctx.flag(
                "COPY-4",
                ss,
                subject,
                _alternatives(c, "Dropped"),
                "Dropped, but the copy-to was never dropped",
            )
    elif variant == "rows":
        _judge_count(ctx, it, ss, c, msg.resp.rows)
    elif variant == "error":
        _judge_error(ctx, it, ss, c, msg.resp.error)
    else:
        ctx.flag("COPY-4", ss, subject, _alternatives(c, ""), "a CopyToResponse with no answer kind")


def _alternatives(c: Collection, excluding: str) -> list[str]:
    options = [
        "RowCount(n) after writing the contents at as_of",
        "Error (the collection holds errors or a negative multiplicity at as_of, or the blob write failed)",
    ]
    if c.dropped_seq is not None:
        options.append("Dropped (AllowCompaction(id, []) was sent)")
    return [o for o in options if not excluding or not o.startswith(excluding)]


def _judge_count(ctx: Context, it: Iteration, ss: StreamState, c: Collection, n: int) -> None:
    subject = f"copy-to {c.id}"
    blob = ctx.shards.blob(c.blob_key)
    if blob is None or blob.writer_id == SUITE_WRITER:
        ctx.flag(
            "COPY-4",
            ss,
            subject,
            _alternatives(c, "RowCount"),
            f"RowCount({n}), but no blob {c.blob_key!r} was written",
        )
        return
    if not final_at(it, c, c.as_of):
        upper = frontiers.fmt(it.model.input_upper(c.id))
        ctx.flag(
            "COPY-4",
            ss,
            subject,
            [f"RowCount only once the contents at as_of [{c.as_of}] are final"],
            f"RowCount({n}) while the input upper is {upper}",
        )
        return
    if len(it.streams) > 1:
        return  # each process writes and counts its own share, which may be error-free (MULTI-2)
    expected = it.model.contents(c.id, c.as_of)
    if expected.holds_errors() or expected.has_negative():
        why = "errors" if expected.holds_errors() else "a negative multiplicity"
        ctx.flag("COPY-4", ss, subject, [f"Error: the collection holds {why} at as_of"], f"RowCount({n})")
        return
    written: dict[Row, int] = dict(Counter(blob.rows))
    total = sum(expected.rows.values())
    if written != expected.rows or n != total:
        problems = []
        if written != expected.rows:
            problems.append(f"blob {fmt_multiset(written)}: {explain_difference(expected.rows, written)}")
        if n != total:
            problems.append(f"count {n} instead of {total}")
        ctx.flag(
            "COPY-4",
            ss,
            subject,
            [f"RowCount({total}) with a blob holding {fmt_multiset(expected.rows)}"],
            f"RowCount({n}); " + "; ".join(problems),
        )


def _judge_error(ctx: Context, it: Iteration, ss: StreamState, c: Collection, text: str) -> None:
    if c.blob_key in ctx.shards.rejected_blobs:
        return
    if ctx.shards.blob_seq.get(c.blob_key, ctx.seq) < c.seq:
        return  # the blob exists from an earlier iteration: the put fails (spec 16, A8)
    expected = it.model.contents(c.id, c.as_of)
    if expected.holds_errors() or expected.has_negative():
        return
    ctx.flag(
        "COPY-4",
        ss,
        f"copy-to {c.id}",
        _alternatives(c, "Error"),
        f"Error({clip(text)!r}) for error-free contents at as_of and no failed blob write",
    )


def refresh(ctx: Context, it: Iteration) -> None:
    """Owe an answer once the copy-to is dropped, or writable and final at as_of (COPY-3)."""
    if not it.init_complete:
        return
    for c in it.collections.values():
        if c.kind != "copy_to" or not it.ready(c):
            continue
        owed = not c.live or (ctx.replica.writable and owed_final_at(it, c, c.as_of))
        if not owed:
            continue
        for ss in ctx.active_streams(it):
            if c.id in ss.copy_answers:
                continue
            ctx.owe(
                cite(ctx, "COPY-3"),
                ss,
                ("copy", ss.name, c.id),
                f"copy-to {c.id}",
                "one CopyToResponse",
                group=("copy", ss.name, c.id),
            )
