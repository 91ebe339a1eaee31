"""Readable, hashable forms of collection ids and peek uuids (`u5`, `3f2a...`)."""

from __future__ import annotations

from compute_protocol.v1 import common_pb2

_PREFIX = {"system": "s", "user": "u", "transient": "t"}
_KIND = {v: k for k, v in _PREFIX.items()}

GlobalId = str
PeekId = str


def gid_str(gid: common_pb2.ProtoGlobalId) -> GlobalId:
    kind = gid.WhichOneof("kind")
    if kind is None:
        return "<unset>"
    return f"{_PREFIX[kind]}{getattr(gid, kind)}"


def gid_proto(gid: GlobalId) -> common_pb2.ProtoGlobalId:
    kind = _KIND[gid[0]]
    return common_pb2.ProtoGlobalId(**{kind: int(gid[1:])})


def uuid_str(uuid: common_pb2.ProtoU128) -> PeekId:
    return f"{uuid.hi:016x}{uuid.lo:016x}"


def uuid_proto(uuid: PeekId) -> common_pb2.ProtoU128:
    value = int(uuid, 16)
    return common_pb2.ProtoU128(hi=value >> 64, lo=value & ((1 << 64) - 1))
