"""Readable, hashable names for collection ids (`u5`) and peek uuids (an int)."""

from __future__ import annotations

from typing import Final

from compute_protocol.v1 import common_pb2

_PREFIX: Final = {"system": "s", "user": "u", "transient": "t"}
_KIND: Final = {prefix: kind for kind, prefix in _PREFIX.items()}

CollectionId = str
PeekId = int


def gid(proto: common_pb2.ProtoGlobalId) -> CollectionId:
    kind = proto.WhichOneof("kind")
    if kind is None:
        raise ValueError("collection id with no kind set")
    return f"{_PREFIX[kind]}{getattr(proto, kind)}"


def gid_proto(collection: CollectionId) -> common_pb2.ProtoGlobalId:
    return common_pb2.ProtoGlobalId(**{_KIND[collection[0]]: int(collection[1:])})


def fill_gid(target: common_pb2.ProtoGlobalId, collection: CollectionId) -> None:
    setattr(target, _KIND[collection[0]], int(collection[1:]))


def uuid(proto: common_pb2.ProtoU128) -> PeekId:
    return (proto.hi << 64) | proto.lo


def uuid_proto(peek: PeekId) -> common_pb2.ProtoU128:
    return common_pb2.ProtoU128(hi=peek >> 64, lo=peek & ((1 << 64) - 1))


def fmt_uuid(peek: PeekId) -> str:
    return f"{peek:032x}"
