"""One-line, human-readable forms of commands, responses and storage events for verdicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from compute_protocol.v1 import command_pb2, common_pb2, response_pb2

from conformance.quotes import clip
from conformance.storage import StorageEvent
from conformance.wire import frontiers
from conformance.wire.ids import PeekId, gid_str, uuid_str
from conformance.wire.rows import fmt_row, row_from_proto

_MAX_ROWS = 3


@dataclass(frozen=True, slots=True)
class Line:
    """One of a stream's recent messages (`+0.012s -> Peek(...)`), formatted only when a verdict
    or a failed wait quotes it: every event adds one, and few are ever shown."""

    offset: float  # seconds since the stream opened
    arrow: str  # "-> " a command, "<- " a response, "" a storage event
    message: Any
    form: Callable[[Any], str]

    def __str__(self) -> str:
        return f"+{self.offset:.3f}s {self.arrow}{self.form(self.message)}"


def short_uuid(uuid: PeekId) -> str:
    """`0x1` for `000...001`: uuids in the suite are small counters, so the long form only hurts."""
    return "0x" + (uuid.lstrip("0") or "0")


def fmt_antichain(a: common_pb2.ProtoU64Antichain) -> str:
    if len(a.elements) > 1:
        return "[" + ", ".join(str(e) for e in a.elements) + "] (malformed)"
    return frontiers.fmt(frontiers.from_proto(a))


FrontierField = Literal["write_frontier", "input_frontier", "output_frontier"]


def fmt_interval(lower: int, upper: int) -> str:
    """`[2, 4)`; an empty upper frontier shows as `[]`, as in the spec (`[0, [])`)."""

    def t(f: int) -> str:
        return "[]" if f == frontiers.EMPTY else str(f)

    return f"[{t(lower)}, {t(upper)})"


def _opt_frontier(msg: response_pb2.ProtoFrontiersResponse, name: FrontierField) -> str:
    return fmt_antichain(getattr(msg, name)) if msg.HasField(name) else "absent"


def _lenient(a: common_pb2.ProtoU64Antichain) -> int:
    return min(a.elements) if a.elements else frontiers.EMPTY


def _rows_preview(rows: list[str], total: int) -> str:
    shown = ", ".join(rows[:_MAX_ROWS])
    return shown + (f", ... ({total} entries)" if total > _MAX_ROWS else "")


def command(cmd: command_pb2.ProtoComputeCommand) -> str:
    kind = cmd.WhichOneof("kind")
    if kind == "create_timely":
        ct = cmd.create_timely
        return (
            f"CreateTimely(epoch=({ct.epoch.envd}, {ct.epoch.replica}), process={ct.config.process}, "
            f"workers={ct.config.workers})"
        )
    if kind == "create_instance":
        return "CreateInstance"
    if kind == "create_dataflow":
        df = cmd.create_dataflow
        exports = [f"{gid_str(e.id)} index" for e in df.index_exports]
        for s in df.sink_exports:
            exports.append(f"{gid_str(s.id)} {s.sink_desc.connection.WhichOneof('kind') or 'sink'}")
        until = f", until={fmt_antichain(df.until)}" if df.HasField("until") and df.until.elements else ""
        return f"CreateDataflow([{', '.join(exports)}], as_of={fmt_antichain(df.as_of)}{until})"
    if kind == "allow_compaction":
        ac = cmd.allow_compaction
        return f"AllowCompaction({gid_str(ac.id)}, {fmt_antichain(ac.frontier)})"
    if kind == "peek":
        p = cmd.peek
        target = p.WhichOneof("target")
        where = (
            f"index {gid_str(p.index.id)}"
            if target == "index"
            else f"persist {p.persist.metadata.shard_id}"
            if target == "persist"
            else "no target"
        )
        extra = f", {len(p.key)} key literal(s)" if p.key else ""
        if p.finishing.HasField("limit"):
            extra += f", limit {p.finishing.limit} offset {p.finishing.offset}"
        return f"Peek({short_uuid(uuid_str(p.uuid))}, t={p.timestamp}, {where}{extra})"
    if kind == "cancel_peek":
        return f"CancelPeek({short_uuid(uuid_str(cmd.cancel_peek))})"
    if kind == "initialization_complete":
        return "InitializationComplete"
    if kind == "update_configuration":
        uc = cmd.update_configuration
        parts = []
        if uc.HasField("max_result_size"):
            parts.append(f"max_result_size={uc.max_result_size}")
        if uc.dyncfg_updates.updates:
            parts.append(f"dyncfg={clip(str(dict(uc.dyncfg_updates.updates)))}")
        if uc.HasField("workload_class"):
            parts.append(f"workload_class={uc.workload_class.value!r}")
        return f"UpdateConfiguration({', '.join(parts)})"
    if kind == "schedule":
        return f"Schedule({gid_str(cmd.schedule)})"
    if kind == "allow_writes":
        return "AllowWrites"
    return "<command with no kind>"


def response(resp: response_pb2.ProtoComputeResponse) -> str:
    kind = resp.WhichOneof("kind")
    if kind == "frontiers":
        f = resp.frontiers
        return (
            f"Frontiers({gid_str(f.id)}, write={_opt_frontier(f.resp, 'write_frontier')}, "
            f"input={_opt_frontier(f.resp, 'input_frontier')}, "
            f"output={_opt_frontier(f.resp, 'output_frontier')})"
        )
    if kind == "peek_response":
        pr = resp.peek_response
        variant = pr.resp.WhichOneof("kind")
        if variant == "rows":
            rows = pr.resp.rows.rows  # every response is described: format only what is shown
            entries = [f"{fmt_row(row_from_proto(e.row))} x{e.count}" for e in rows[: _MAX_ROWS + 1]]
            body = f"Rows[{_rows_preview(entries, len(rows))}]"
        elif variant == "error":
            body = f"Error({clip(pr.resp.error)!r})"
        elif variant == "canceled":
            body = "Canceled"
        else:
            body = "<no answer kind>"
        return f"PeekResponse({short_uuid(uuid_str(pr.id))}, {body})"
    if kind == "subscribe_response":
        sr = resp.subscribe_response
        sub_variant = sr.resp.WhichOneof("kind")
        if sub_variant == "batch":
            b = sr.resp.batch
            interval = fmt_interval(_lenient(b.lower), _lenient(b.upper))
            contents = b.updates.WhichOneof("kind")
            if contents == "error":
                body = f"Batch {interval} error {clip(b.updates.error)!r}"
            else:
                ups = [
                    f"({u.timestamp}, {fmt_row(row_from_proto(u.row))}, {u.diff:+d})"
                    for u in b.updates.updates.updates
                ]
                body = f"Batch {interval} [{_rows_preview(ups, len(ups))}]"
        elif sub_variant == "dropped_at":
            body = f"DroppedAt({fmt_antichain(sr.resp.dropped_at)})"
        else:
            body = "<no response kind>"
        return f"SubscribeResponse({gid_str(sr.id)}, {body})"
    if kind == "copy_to_response":
        cr = resp.copy_to_response
        copy_variant = cr.resp.WhichOneof("kind")
        if copy_variant == "rows":
            body = f"RowCount({cr.resp.rows})"
        elif copy_variant == "error":
            body = f"Error({clip(cr.resp.error)!r})"
        elif copy_variant == "dropped":
            body = "Dropped"
        else:
            body = "<no response kind>"
        return f"CopyToResponse({gid_str(cr.id)}, {body})"
    if kind == "status":
        st = resp.status
        if st.WhichOneof("kind") == "operator_hydration":
            h = st.operator_hydration
            return (
                f"Status({gid_str(h.collection_id)}, lir {h.lir_id}, worker {h.worker_id}, "
                f"hydrated={'true' if h.hydrated else 'false'})"
            )
        return "Status(<no kind>)"
    return "<response with no kind>"


def storage(ev: StorageEvent) -> str:
    where = ev.shard_id or ev.key
    if ev.kind == "append":
        return (
            f"storage append {where} by {ev.writer_id}: "
            f"{fmt_interval(ev.lower, ev.upper)} {len(ev.updates)} update(s)"
        )
    if ev.kind == "create_shard":
        return f"storage create {where} upper={frontiers.fmt(ev.upper)} since={ev.since}"
    if ev.kind == "since":
        return f"storage since {where} -> {ev.since}"
    if ev.kind == "blob_put":
        return f"storage blob {where} by {ev.writer_id}: {len(ev.rows)} row(s)"
    return f"storage {ev.kind} {where} {ev.detail}".rstrip()
