"""Is a command well formed? (spec 1.3, TRANS-4)

Everything here is a property of the command alone, so every violation is INVALID_ARGUMENT:
no `kind`, a missing required sub-field (spec 1.3's table), a frontier with more than one
element, a datum or expression with no kind. For `CreateDataflow` it also checks what the
engine relies on not to crash: every `Get` names an import or an earlier object, and every
column index is in range (arities are inferred bottom-up through the plan). Whether a
command fits the *stream* (stage, known ids) is `iteration`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compute_protocol.v1 import command_pb2, common_pb2, dataflow_pb2, plan_pb2
from google.protobuf.message import Message

from reference_replica import ids
from reference_replica.errors import ProtocolError, malformed

Arity = int | None  # None: not known (a relation_desc was not given)


def require(message: Message, fields: list[str], command: str, where: str = "") -> None:
    for name in fields:
        if not message.HasField(name):
            raise malformed(command, f"missing required field {where}{name}")


def check_frontier(antichain: common_pb2.ProtoU64Antichain, command: str, where: str) -> None:
    if len(antichain.elements) > 1:
        raise malformed(
            command, f"{where} has {len(antichain.elements)} elements; a frontier has at most one"
        )


def check_id(gid: common_pb2.ProtoGlobalId, command: str, where: str) -> str:
    if gid.WhichOneof("kind") is None:
        raise malformed(command, f"{where} is a collection id with no kind set")
    return ids.gid(gid)


def command_name(cmd: command_pb2.ProtoComputeCommand) -> str:
    kind = cmd.WhichOneof("kind")
    return _NAMES.get(kind or "", "<no kind>")


_NAMES = {
    "create_timely": "CreateTimely",
    "create_instance": "CreateInstance",
    "create_dataflow": "CreateDataflow",
    "allow_compaction": "AllowCompaction",
    "peek": "Peek",
    "cancel_peek": "CancelPeek",
    "initialization_complete": "InitializationComplete",
    "update_configuration": "UpdateConfiguration",
    "schedule": "Schedule",
    "allow_writes": "AllowWrites",
}


def check_command(cmd: command_pb2.ProtoComputeCommand) -> None:
    kind = cmd.WhichOneof("kind")
    name = command_name(cmd)
    if kind is None:
        raise malformed("command", "no kind set")
    if kind == "create_timely":
        require(cmd.create_timely, ["config", "epoch"], name)
    elif kind == "create_instance":
        require(cmd.create_instance, ["logging"], name)
    elif kind == "create_dataflow":
        check_dataflow(cmd.create_dataflow)
    elif kind == "allow_compaction":
        require(cmd.allow_compaction, ["id", "frontier"], name)
        check_id(cmd.allow_compaction.id, name, "id")
        check_frontier(cmd.allow_compaction.frontier, name, "frontier")
    elif kind == "peek":
        check_peek(cmd.peek)
    elif kind == "schedule":
        check_id(cmd.schedule, name, "id")


def check_peek(peek: command_pb2.ProtoPeek) -> None:
    name = "Peek"
    require(peek, ["uuid", "finishing", "map_filter_project"], name)
    target = peek.WhichOneof("target")
    if target is None:
        raise malformed(name, "missing required field target")
    if target == "index":
        require(peek.index, ["id"], name, "target.index.")
        check_id(peek.index.id, name, "target.index.id")
    else:
        require(peek.persist, ["id", "metadata"], name, "target.persist.")
        check_id(peek.persist.id, name, "target.persist.id")
    for key in peek.key:
        check_row(key, name, "key")
    mfp = peek.map_filter_project.mfp
    check_mfp(mfp, name, "map_filter_project")


def check_row(row: common_pb2.ProtoRow, command: str, where: str) -> None:
    for i, d in enumerate(row.datums):
        if d.WhichOneof("kind") is None:
            raise malformed(command, f"{where}: datum {i} has no kind set")


# --- dataflow descriptions -----------------------------------------------------------------


@dataclass
class DataflowShape:
    """What validation learned about a description: the arity of every import and object."""

    arities: dict[str, Arity] = field(default_factory=dict)
    export_ids: list[str] = field(default_factory=list)
    index_imports: list[str] = field(default_factory=list)


def check_dataflow(desc: dataflow_pb2.ProtoDataflowDescription) -> DataflowShape:
    name = "CreateDataflow"
    shape = DataflowShape()
    require(desc, ["as_of"], name)
    check_frontier(desc.as_of, name, "as_of")
    if not desc.as_of.elements:
        raise malformed(name, "as_of is the empty frontier")
    check_frontier(desc.until, name, "until")
    for i, source in enumerate(desc.source_imports):
        where = f"source_imports[{i}]"
        require(source, ["id", "storage_metadata"], name, where + ".")
        gid = check_id(source.id, name, where + ".id")
        check_frontier(source.upper, name, where + ".upper")
        meta = source.storage_metadata
        shape.arities[gid] = len(meta.relation_desc.columns) if meta.HasField("relation_desc") else None
    for i, index in enumerate(desc.index_imports):
        where = f"index_imports[{i}]"
        require(index, ["id"], name, where + ".")
        gid = check_id(index.id, name, where + ".id")
        shape.arities[gid] = len(index.desc.columns) if index.HasField("desc") else None
        shape.index_imports.append(gid)
    for i, build in enumerate(desc.objects_to_build):
        where = f"objects_to_build[{i}]"
        require(build, ["id", "plan"], name, where + ".")
        gid = check_id(build.id, name, where + ".id")
        if gid in shape.arities:
            raise malformed(name, f"{where} builds {gid}, which is already an import or object")
        shape.arities[gid] = plan_arity(build.plan, shape.arities, where + ".plan")
    for i, export in enumerate(desc.index_exports):
        where = f"index_exports[{i}]"
        require(export, ["id", "on_id"], name, where + ".")
        gid = check_id(export.id, name, where + ".id")
        on = check_id(export.on_id, name, where + ".on_id")
        if on not in shape.arities:
            raise malformed(name, f"{where} arranges {on}, which this dataflow neither imports nor builds")
        for column in export.key_columns:
            _check_column(column, shape.arities[on], name, f"{where}.key_columns")
        shape.export_ids.append(gid)
    for i, sink in enumerate(desc.sink_exports):
        where = f"sink_exports[{i}]"
        require(sink, ["id", "sink_desc"], name, where + ".")
        gid = check_id(sink.id, name, where + ".id")
        sink_desc = sink.sink_desc
        require(sink_desc, ["from", "connection"], name, where + ".sink_desc.")
        source_id = check_id(getattr(sink_desc, "from"), name, where + ".sink_desc.from")
        if source_id not in shape.arities:
            raise malformed(
                name, f"{where} reads {source_id}, which this dataflow neither imports nor builds"
            )
        check_frontier(sink_desc.up_to, name, where + ".sink_desc.up_to")
        connection = sink_desc.connection.WhichOneof("kind")
        if connection is None:
            raise malformed(name, f"{where}.sink_desc.connection has no kind set")
        if connection == "materialized_view":
            require(
                sink_desc.connection.materialized_view,
                ["storage_metadata"],
                name,
                where + ".materialized_view.",
            )
        shape.export_ids.append(gid)
    if len(set(shape.export_ids)) != len(shape.export_ids):
        raise malformed(name, "an export id occurs twice in the description")
    return shape


def _check_column(column: int, arity: Arity, command: str, where: str) -> None:
    if arity is not None and column >= arity:
        raise malformed(command, f"{where}: column {column} of a {arity}-column collection")


def plan_arity(plan: plan_pb2.ProtoPlan, arities: dict[str, Arity], where: str) -> Arity:
    """The number of columns `plan` produces; raises if it is malformed."""
    name = "CreateDataflow"
    kind = plan.WhichOneof("kind")
    if kind is None:
        raise malformed(name, f"{where} has no kind set")
    if kind == "get":
        gid = check_id(plan.get.id, name, f"{where}.get.id")
        if gid not in arities:
            raise malformed(name, f"{where} gets {gid}, which is neither an import nor an earlier object")
        return arities[gid]
    if kind == "constant":
        for i, update in enumerate(plan.constant.updates):
            value = update.WhichOneof("value")
            if value is None:
                raise malformed(name, f"{where}.constant.updates[{i}] has neither row nor error")
            if value == "row":
                check_row(update.row, name, f"{where}.constant.updates[{i}].row")
                if len(update.row.datums) != plan.constant.arity:
                    raise malformed(
                        name,
                        f"{where}.constant.updates[{i}] has {len(update.row.datums)} datums, "
                        f"arity is {plan.constant.arity}",
                    )
        return plan.constant.arity
    if kind == "mfp":
        require(plan.mfp, ["input", "mfp"], name, f"{where}.mfp.")
        input_arity = plan_arity(plan.mfp.input, arities, f"{where}.mfp.input")
        mfp = plan.mfp.mfp
        if input_arity is not None and mfp.input_arity != input_arity:
            raise malformed(
                name, f"{where}.mfp: input_arity {mfp.input_arity}, but its input has {input_arity} columns"
            )
        check_mfp(mfp, name, f"{where}.mfp.mfp")
        return len(mfp.projection)
    if kind == "union":
        input_arities = [
            plan_arity(p, arities, f"{where}.union.inputs[{i}]") for i, p in enumerate(plan.union.inputs)
        ]
        known = {a for a in input_arities if a is not None}
        if len(known) > 1:
            raise malformed(name, f"{where}.union: inputs of different arities {sorted(known)}")
        return known.pop() if known else None
    if kind in ("negate", "threshold"):
        inner = getattr(plan, kind)
        require(inner, ["input"], name, f"{where}.{kind}.")
        return plan_arity(inner.input, arities, f"{where}.{kind}.input")
    if kind == "join":
        require(plan.join, ["left", "right"], name, f"{where}.join.")
        left = plan_arity(plan.join.left, arities, f"{where}.join.left")
        right = plan_arity(plan.join.right, arities, f"{where}.join.right")
        for key in plan.join.keys:
            _check_column(key.left_column, left, name, f"{where}.join.keys")
            _check_column(key.right_column, right, name, f"{where}.join.keys")
        return None if left is None or right is None else left + right
    if kind == "reduce":
        require(plan.reduce, ["input"], name, f"{where}.reduce.")
        input_arity = plan_arity(plan.reduce.input, arities, f"{where}.reduce.input")
        for column in plan.reduce.group_key:
            _check_column(column, input_arity, name, f"{where}.reduce.group_key")
        for aggregate in plan.reduce.aggregates:
            if aggregate.func == plan_pb2.PROTO_AGGREGATE_FUNC_UNSPECIFIED:
                raise malformed(name, f"{where}.reduce: aggregate function not set")
            if aggregate.func != plan_pb2.PROTO_AGGREGATE_FUNC_COUNT:
                _check_column(aggregate.column, input_arity, name, f"{where}.reduce.aggregates")
        return len(plan.reduce.group_key) + len(plan.reduce.aggregates)
    raise malformed(name, f"{where}: unknown plan kind {kind}")


def check_mfp(mfp: plan_pb2.ProtoMapFilterProject, command: str, where: str) -> None:
    columns = mfp.input_arity
    for i, expression in enumerate(mfp.expressions):
        check_expr(expression, columns, command, f"{where}.expressions[{i}]")
        columns += 1
    for i, predicate in enumerate(mfp.predicates):
        check_expr(predicate, columns, command, f"{where}.predicates[{i}]")
    for column in mfp.projection:
        if column >= columns:
            raise malformed(command, f"{where}.projection: column {column} of {columns}")


def check_expr(e: plan_pb2.ProtoScalarExpr, columns: int, command: str, where: str) -> None:
    kind = e.WhichOneof("kind")
    if kind is None:
        raise malformed(command, f"{where} has no kind set")
    if kind == "column":
        if e.column >= columns:
            raise malformed(command, f"{where}: column {e.column} of {columns}")
    elif kind == "literal":
        if e.literal.WhichOneof("kind") is None:
            raise malformed(command, f"{where}: literal datum has no kind set")
    elif kind == "call_unary":
        if e.call_unary.func == plan_pb2.PROTO_UNARY_FUNC_UNSPECIFIED:
            raise malformed(command, f"{where}: unary function not set")
        require(e.call_unary, ["expr"], command, where + ".")
        check_expr(e.call_unary.expr, columns, command, where + ".expr")
    elif kind == "call_binary":
        if e.call_binary.func == plan_pb2.PROTO_BINARY_FUNC_UNSPECIFIED:
            raise malformed(command, f"{where}: binary function not set")
        require(e.call_binary, ["expr1", "expr2"], command, where + ".")
        check_expr(e.call_binary.expr1, columns, command, where + ".expr1")
        check_expr(e.call_binary.expr2, columns, command, where + ".expr2")
    elif kind == "call_variadic":
        if e.call_variadic.func == plan_pb2.PROTO_VARIADIC_FUNC_UNSPECIFIED:
            raise malformed(command, f"{where}: variadic function not set")
        for i, arg in enumerate(e.call_variadic.exprs):
            check_expr(arg, columns, command, f"{where}.exprs[{i}]")


__all__ = ["DataflowShape", "ProtocolError", "check_command", "check_dataflow", "command_name"]
