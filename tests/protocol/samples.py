"""One fully populated message per command and response kind, for round-trip tests.

Every sub-message that has fields gets non-default values, so a field lost on the wire
(a wrong tag, a missing presence bit) shows up as an inequality.
"""

from __future__ import annotations

from compute_protocol.v1 import (
    command_pb2 as cmd,
)
from compute_protocol.v1 import (
    common_pb2 as common,
)
from compute_protocol.v1 import (
    dataflow_pb2 as df,
)
from compute_protocol.v1 import (
    plan_pb2 as plan,
)
from compute_protocol.v1 import (
    response_pb2 as resp,
)
from google.protobuf import empty_pb2


def uid(n: int) -> common.ProtoGlobalId:
    return common.ProtoGlobalId(user=n)


def frontier(*elements: int) -> common.ProtoU64Antichain:
    return common.ProtoU64Antichain(elements=list(elements))


def sample_row() -> common.ProtoRow:
    return common.ProtoRow(datums=[
        common.ProtoDatum(null=common.ProtoNull()),
        common.ProtoDatum(bool=True),
        common.ProtoDatum(int64=-(2**63)),
        common.ProtoDatum(float64=-0.5),
        common.ProtoDatum(string="snow ☃"),
        common.ProtoDatum(bytes=b"\x00\xff"),
    ])


def relation() -> common.ProtoRelationDesc:
    return common.ProtoRelationDesc(columns=[
        common.ProtoColumnType(scalar_type=common.PROTO_SCALAR_TYPE_INT64, nullable=False, name="k"),
        common.ProtoColumnType(scalar_type=common.PROTO_SCALAR_TYPE_STRING, nullable=True, name="v"),
    ])


def metadata(shard: str) -> common.ProtoCollectionMetadata:
    return common.ProtoCollectionMetadata(storage_address="127.0.0.1:1", shard_id=shard, relation_desc=relation())


def mfp() -> plan.ProtoMapFilterProject:
    add = plan.ProtoScalarExpr(call_binary=plan.ProtoCallBinary(
        func=plan.PROTO_BINARY_FUNC_ADD,
        expr1=plan.ProtoScalarExpr(column=0),
        expr2=plan.ProtoScalarExpr(literal=common.ProtoDatum(int64=1)),
    ))
    keep = plan.ProtoScalarExpr(call_variadic=plan.ProtoCallVariadic(
        func=plan.PROTO_VARIADIC_FUNC_AND,
        exprs=[
            plan.ProtoScalarExpr(call_unary=plan.ProtoCallUnary(
                func=plan.PROTO_UNARY_FUNC_NOT,
                expr=plan.ProtoScalarExpr(call_unary=plan.ProtoCallUnary(
                    func=plan.PROTO_UNARY_FUNC_IS_NULL, expr=plan.ProtoScalarExpr(column=1))),
            )),
            plan.ProtoScalarExpr(literal=common.ProtoDatum(bool=True)),
        ],
    ))
    return plan.ProtoMapFilterProject(expressions=[add], predicates=[keep], projection=[2, 1], input_arity=2)


def every_plan() -> plan.ProtoPlan:
    """One plan tree that uses every operator of the plan language."""
    get = plan.ProtoPlan(get=plan.ProtoPlanGet(id=uid(1)))
    const = plan.ProtoPlan(constant=plan.ProtoPlanConstant(arity=2, updates=[
        plan.ProtoConstantUpdate(row=common.ProtoRow(datums=[
            common.ProtoDatum(int64=7), common.ProtoDatum(string="x")]), time=3, diff=2),
        plan.ProtoConstantUpdate(error="division by zero", time=4, diff=1),
    ]))
    union = plan.ProtoPlan(union=plan.ProtoPlanUnion(inputs=[get, const]))
    negated = plan.ProtoPlan(negate=plan.ProtoPlanNegate(input=union))
    threshold = plan.ProtoPlan(threshold=plan.ProtoPlanThreshold(input=negated))
    mapped = plan.ProtoPlan(mfp=plan.ProtoPlanMfp(input=threshold, mfp=mfp()))
    joined = plan.ProtoPlan(join=plan.ProtoPlanJoin(
        left=mapped, right=get, keys=[plan.ProtoJoinKey(left_column=0, right_column=0)]))
    return plan.ProtoPlan(reduce=plan.ProtoPlanReduce(
        input=joined, group_key=[1],
        aggregates=[plan.ProtoAggregate(func=f, column=2) for f in (
            plan.PROTO_AGGREGATE_FUNC_COUNT, plan.PROTO_AGGREGATE_FUNC_SUM,
            plan.PROTO_AGGREGATE_FUNC_MIN, plan.PROTO_AGGREGATE_FUNC_MAX)],
    ))


def dataflow() -> df.ProtoDataflowDescription:
    def sink(n: int, conn: df.ProtoComputeSinkConnection, snapshot: bool) -> df.ProtoSinkExport:
        desc = df.ProtoComputeSinkDesc(
            from_desc=relation(), connection=conn, with_snapshot=snapshot, up_to=frontier(99))
        getattr(desc, "from").CopyFrom(uid(10))  # `from` is a Python keyword
        return df.ProtoSinkExport(id=uid(n), sink_desc=desc)

    return df.ProtoDataflowDescription(
        source_imports=[df.ProtoSourceImport(id=uid(1), storage_metadata=metadata("s1"), upper=frontier(5))],
        index_imports=[df.ProtoIndexImport(id=uid(2), desc=relation(), key_columns=[0])],
        objects_to_build=[df.ProtoBuildDesc(id=uid(10), plan=every_plan())],
        index_exports=[df.ProtoIndexExport(id=uid(11), on_id=uid(10), key_columns=[0, 1])],
        sink_exports=[
            sink(12, df.ProtoComputeSinkConnection(subscribe=df.ProtoSubscribeConnection()), True),
            sink(13, df.ProtoComputeSinkConnection(materialized_view=df.ProtoMaterializedViewConnection(
                value_desc=relation(), storage_metadata=metadata("mv")), ), False),
            sink(14, df.ProtoComputeSinkConnection(copy_to=df.ProtoCopyToConnection(
                storage_address="127.0.0.1:1", blob_key="out/1")), True),
        ],
        as_of=frontier(3), until=frontier(100), debug_name="everything",
    )


def uuid() -> common.ProtoU128:
    return common.ProtoU128(hi=2**64 - 1, lo=42)


def commands() -> dict[str, cmd.ProtoComputeCommand]:
    """One command per oneof field of ProtoComputeCommand.kind."""
    C = cmd.ProtoComputeCommand
    return {
        "create_timely": C(create_timely=cmd.ProtoCreateTimely(
            config=common.ProtoTimelyConfig(workers=2, process=0, addresses=["a:1"],
                                            arrangement_exert_proportionality=16, zero_copy_limit=0),
            epoch=common.ProtoClusterStartupEpoch(envd=1_700_000_000_000, replica=3))),
        "create_instance": C(create_instance=cmd.ProtoInstanceConfig(
            logging=cmd.ProtoLoggingConfig(interval=common.ProtoDuration(secs=1, nanos=5)))),
        "create_dataflow": C(create_dataflow=dataflow()),
        "allow_compaction": C(allow_compaction=cmd.ProtoCompaction(id=uid(11), frontier=frontier())),
        "peek": C(peek=cmd.ProtoPeek(
            key=[sample_row()], uuid=uuid(), timestamp=2**64 - 1,
            finishing=cmd.ProtoRowSetFinishing(
                order_by=[cmd.ProtoColumnOrder(column=1, desc=True, nulls_last=True)],
                limit=2**63 - 1, offset=1, project=[1, 0]),
            map_filter_project=plan.ProtoSafeMfpPlan(mfp=mfp()), otel_ctx={"trace": "t1"},
            persist=cmd.ProtoPersistTarget(id=uid(1), metadata=metadata("s1")))),
        "cancel_peek": C(cancel_peek=uuid()),
        "initialization_complete": C(initialization_complete=empty_pb2.Empty()),
        "update_configuration": C(update_configuration=cmd.ProtoComputeParameters(
            max_result_size=0, dyncfg_updates=cmd.ProtoDyncfgUpdates(updates={"k": "v"}),
            workload_class=cmd.ProtoWorkloadClass())),
        "schedule": C(schedule=uid(11)),
        "allow_writes": C(allow_writes=empty_pb2.Empty()),
    }


def responses() -> dict[str, resp.ProtoComputeResponse]:
    """One response per oneof field of ProtoComputeResponse.kind."""
    R = resp.ProtoComputeResponse
    return {
        "frontiers": R(frontiers=resp.ProtoFrontiersKind(id=uid(11), resp=resp.ProtoFrontiersResponse(
            write_frontier=frontier(), output_frontier=frontier(7)))),  # input_frontier absent on purpose
        "peek_response": R(peek_response=resp.ProtoPeekResponseKind(id=uuid(), resp=resp.ProtoPeekResponse(
            rows=resp.ProtoRowCollection(rows=[resp.ProtoRowWithCount(row=sample_row(), count=3)])),
            otel_ctx={"trace": "t1"})),
        "subscribe_response": R(subscribe_response=resp.ProtoSubscribeResponseKind(
            id=uid(12), resp=resp.ProtoSubscribeResponse(batch=resp.ProtoSubscribeBatch(
                lower=frontier(0), upper=frontier(4), updates=resp.ProtoSubscribeBatchContents(
                    updates=resp.ProtoSubscribeUpdates(updates=[
                        resp.ProtoUpdate(timestamp=3, row=sample_row(), diff=-1)])))))),
        "copy_to_response": R(copy_to_response=resp.ProtoCopyToResponseKind(
            id=uid(14), resp=resp.ProtoCopyToResponse(rows=12))),
        "status": R(status=resp.ProtoStatusResponse(operator_hydration=resp.ProtoOperatorHydrationStatus(
            collection_id=uid(11), lir_id=4, worker_id=1, hydrated=True))),
    }
