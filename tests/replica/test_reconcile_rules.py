"""The reuse rule of reconciliation, decided on descriptions alone."""

from __future__ import annotations

from compute_protocol.v1 import dataflow_pb2

from reference_replica.dataflow.dataflow import Dataflow
from reference_replica.dataflow.node import Node
from reference_replica.exports.index import IndexExport
from reference_replica.frontier import from_proto
from reference_replica.reconcile import incompatibility
from tests.replica import plans as p

Description = dataflow_pb2.ProtoDataflowDescription


def running(desc: Description, since: int | None = None) -> Dataflow:
    dataflow = Dataflow(desc, from_proto(desc.as_of), 1 << 64)
    export = IndexExport("u3", dataflow, Node(dataflow.as_of), [0], 1, 1)
    if since is not None:
        export.allow_compaction(since)
    dataflow.exports["u3"] = export
    return dataflow


def index(as_of: int, upper: int = 0, name: str = "", until: int | None = None) -> Description:
    desc = p.dataflow(
        as_of,
        sources=[p.source(1, "addr", "s", 1)],
        objects=[(2, p.get(1))],
        indexes=[p.index_export(3, 2, [0])],
        name=name,
        until=until,
    )
    desc.source_imports[0].upper.CopyFrom(p.antichain(upper))
    return desc


def test_equal_apart_from_as_of_name_and_uppers_is_reusable() -> None:
    old = running(index(2, upper=3, name="old"))
    assert incompatibility(old, index(5, upper=9, name="new"), set()) is None


def test_reasons_to_rebuild() -> None:
    old = running(index(2))
    assert "as_of" in (incompatibility(old, index(1), set()) or "")
    assert "differs" in (incompatibility(old, index(2, until=9), set()) or "")
    compacted = running(index(2), since=7)
    assert "compacted" in (incompatibility(compacted, index(5), set()) or "")
    assert incompatibility(compacted, index(7), set()) is None
    importer = p.dataflow(2, index_imports=[p.index_import(9, 1, [0])], indexes=[p.index_export(3, 9, [0])])
    old_importer = running(importer)
    assert "rebuilt" in (incompatibility(old_importer, importer, set()) or "")
    assert incompatibility(old_importer, importer, {"u9"}) is None
