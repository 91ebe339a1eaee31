"""The envelope carries upstream's oneof names and tags, so upstream readers recognise it."""

from __future__ import annotations

from typing import Literal

import pytest
from compute_protocol.v1 import command_pb2, common_pb2, response_pb2, service_pb2, storage_pb2
from google.protobuf.descriptor import FieldDescriptor

COMMAND_TAGS = {
    "create_timely": 1, "create_instance": 2, "create_dataflow": 3, "allow_compaction": 4,
    "peek": 5, "cancel_peek": 6, "initialization_complete": 7, "update_configuration": 8,
    "schedule": 9, "allow_writes": 10,
}
RESPONSE_TAGS = {"frontiers": 1, "peek_response": 2, "subscribe_response": 3, "copy_to_response": 4, "status": 5}


def oneof_tags(message: type, oneof: str) -> dict[str, int]:
    return {f.name: f.number for f in message.DESCRIPTOR.oneofs_by_name[oneof].fields}  # type: ignore[attr-defined]


def test_command_oneof_has_upstream_tags() -> None:
    assert oneof_tags(command_pb2.ProtoComputeCommand, "kind") == COMMAND_TAGS


def test_response_oneof_has_upstream_tags() -> None:
    assert oneof_tags(response_pb2.ProtoComputeResponse, "kind") == RESPONSE_TAGS


def test_service_has_one_bidirectional_stream() -> None:
    service = service_pb2.DESCRIPTOR.services_by_name["ProtoCompute"]
    assert [m.name for m in service.methods] == ["CommandResponseStream"]
    method = service.methods[0]
    assert method.client_streaming and method.server_streaming
    assert method.input_type.name == "ProtoComputeCommand"
    assert method.output_type.name == "ProtoComputeResponse"


@pytest.mark.parametrize("kind", ["write_frontier", "input_frontier", "output_frontier"])
def test_frontier_fields_track_presence(kind: Literal["write_frontier", "input_frontier", "output_frontier"]) -> None:
    """Absent means "unchanged", present-and-empty means `[]`: the two must be distinguishable."""
    field = response_pb2.ProtoFrontiersResponse.DESCRIPTOR.fields_by_name[kind]
    assert field.has_presence
    msg = response_pb2.ProtoFrontiersResponse()
    assert not msg.HasField(kind)
    getattr(msg, kind).SetInParent()
    assert msg.HasField(kind) and list(getattr(msg, kind).elements) == []


def test_unset_parameters_are_distinguishable_from_zero() -> None:
    """"Unset means keep" (CONFIG-2) needs presence on every scalar parameter."""
    params = command_pb2.ProtoComputeParameters
    assert params.DESCRIPTOR.fields_by_name["max_result_size"].has_presence
    assert params.DESCRIPTOR.fields_by_name["workload_class"].has_presence
    assert not params().HasField("max_result_size")
    assert params(max_result_size=0).HasField("max_result_size")


def test_peek_and_finishing_fields_match_upstream_numbers() -> None:
    peek = command_pb2.ProtoPeek.DESCRIPTOR.fields_by_name
    assert {n: peek[n].number for n in ("key", "uuid", "timestamp", "finishing", "map_filter_project",
                                        "otel_ctx", "index", "persist")} == {
        "key": 2, "uuid": 3, "timestamp": 4, "finishing": 5, "map_filter_project": 6,
        "otel_ctx": 7, "index": 8, "persist": 9}
    limit = command_pb2.ProtoRowSetFinishing.DESCRIPTOR.fields_by_name["limit"]
    assert limit.number == 5 and limit.type == FieldDescriptor.TYPE_INT64 and limit.has_presence


def test_common_types() -> None:
    gid = common_pb2.ProtoGlobalId.DESCRIPTOR.oneofs_by_name["kind"]
    assert {f.name: f.number for f in gid.fields} == {"system": 1, "user": 2, "transient": 3}
    assert {f.name: f.number for f in common_pb2.ProtoU128.DESCRIPTOR.fields} == {"hi": 1, "lo": 2}
    epoch = common_pb2.ProtoClusterStartupEpoch.DESCRIPTOR.fields_by_name
    assert epoch["envd"].type == FieldDescriptor.TYPE_INT64 and epoch["replica"].type == FieldDescriptor.TYPE_UINT64


def test_storage_service_methods() -> None:
    service = storage_pb2.DESCRIPTOR.services_by_name["ProtoStorage"]
    methods = {m.name: (m.client_streaming, m.server_streaming) for m in service.methods}
    assert methods == {
        "Listen": (False, True), "CompareAndAppend": (False, False),
        "GetShard": (False, False), "PutBlob": (False, False),
    }
