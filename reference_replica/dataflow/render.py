"""From a `ProtoDataflowDescription` to running operators (spec 5.1, 5.3).

Inputs first (source imports become Listen-fed leaves, index imports follow the exporting
collection), then each object in dependency order, each plan node becoming one operator.
`Get` is not an operator: it just names an existing node. The exports are attached by the
compute state, before the dataflow starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compute_protocol.v1 import dataflow_pb2, plan_pb2

from reference_replica import frontier, ids, rows
from reference_replica.arrangement import Arrangement
from reference_replica.dataflow.batch import ErrUpdate, Update
from reference_replica.dataflow.constant import ConstantNode
from reference_replica.dataflow.dataflow import Dataflow
from reference_replica.dataflow.index_import import IndexImportNode
from reference_replica.dataflow.join import JoinNode
from reference_replica.dataflow.map_filter_project import MfpNode
from reference_replica.dataflow.negate import NegateNode
from reference_replica.dataflow.node import Node
from reference_replica.dataflow.reduce import Aggregate, ReduceNode
from reference_replica.dataflow.source import SourceNode
from reference_replica.dataflow.threshold import ThresholdNode
from reference_replica.dataflow.union import UnionNode
from reference_replica.frontier import EMPTY
from reference_replica.mfp import Mfp
from reference_replica.storage.client import StorageClient
from reference_replica.storage.listen import Post


@dataclass
class ImportedIndex:
    node: Node
    arrangement: Arrangement


@dataclass
class RenderContext:
    storage: StorageClient
    post: Post
    lookup_index: Callable[[str], ImportedIndex]


def render(desc: dataflow_pb2.ProtoDataflowDescription, context: RenderContext) -> Dataflow:
    as_of = frontier.from_proto(desc.as_of)
    until = frontier.from_proto(desc.until) if desc.HasField("until") else EMPTY
    dataflow = Dataflow(desc, as_of, until)
    for source in desc.source_imports:
        meta = source.storage_metadata
        node = SourceNode(as_of, until, context.storage, context.post, meta.storage_address, meta.shard_id)
        _add_input(dataflow, ids.gid(source.id), node)
    for index in desc.index_imports:
        gid = ids.gid(index.id)
        imported = context.lookup_index(gid)
        _add_input(dataflow, gid, IndexImportNode(as_of, until, imported.node, imported.arrangement))
        dataflow.imported_indexes.append(gid)
    for build in desc.objects_to_build:
        dataflow.nodes[ids.gid(build.id)] = _render_plan(build.plan, dataflow)
    return dataflow


def _add_input(dataflow: Dataflow, gid: str, node: SourceNode | IndexImportNode) -> None:
    dataflow.nodes[gid] = node
    dataflow.inputs.append(node)
    dataflow.leaves.append(node)


def _render_plan(plan: plan_pb2.ProtoPlan, dataflow: Dataflow) -> Node:
    kind = plan.WhichOneof("kind")
    as_of, until = dataflow.as_of, dataflow.until
    node: Node
    if kind == "get":
        return dataflow.nodes[ids.gid(plan.get.id)]
    if kind == "constant":
        oks, errs = constant_updates(plan.constant)
        leaf = ConstantNode(as_of, until, oks, errs)
        dataflow.leaves.append(leaf)
        node = leaf
    elif kind == "mfp":
        node = MfpNode(_render_plan(plan.mfp.input, dataflow), Mfp(plan.mfp.mfp))
    elif kind == "union":
        inputs = [_render_plan(p, dataflow) for p in plan.union.inputs]
        if inputs:
            node = UnionNode(as_of, inputs)
        else:
            empty = ConstantNode(as_of, until, [], [])
            dataflow.leaves.append(empty)
            node = empty
    elif kind == "negate":
        node = NegateNode(_render_plan(plan.negate.input, dataflow))
    elif kind == "threshold":
        node = ThresholdNode(_render_plan(plan.threshold.input, dataflow))
    elif kind == "join":
        j = plan.join
        keys = [(k.left_column, k.right_column) for k in j.keys]
        node = JoinNode(as_of, _render_plan(j.left, dataflow), _render_plan(j.right, dataflow), keys)
    elif kind == "reduce":
        r = plan.reduce
        aggregates = [Aggregate(a.func, a.column) for a in r.aggregates]
        node = ReduceNode(_render_plan(r.input, dataflow), list(r.group_key), aggregates)
    else:
        raise ValueError(f"unknown plan kind {kind}")
    dataflow.operators.append(node)
    return node


def constant_updates(constant: plan_pb2.ProtoPlanConstant) -> tuple[list[Update], list[ErrUpdate]]:
    oks: list[Update] = []
    errs: list[ErrUpdate] = []
    for update in constant.updates:
        if update.WhichOneof("value") == "row":
            oks.append((rows.from_proto(update.row), update.time, update.diff))
        else:
            errs.append((update.error, update.time, update.diff))
    return oks, errs


__all__ = ["ImportedIndex", "RenderContext", "render"]
