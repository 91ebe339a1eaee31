"""The JSON spelling of datums, rows, frontiers and column types in steps."""

from __future__ import annotations

import math

import pytest

from conformance.steps.values import (
    FieldError,
    decode_column,
    decode_datum,
    decode_frontier,
    decode_row,
    decode_time,
    encode_column,
    encode_datum,
    encode_frontier,
    encode_row,
)
from conformance.wire.frontiers import EMPTY
from conformance.wire.rows import datum_to_proto


@pytest.mark.parametrize(
    ("raw", "datum"),
    [
        (None, ("null", None)),
        (True, ("bool", True)),
        (3, ("int64", 3)),
        (2.5, ("float64", 2.5)),
        ("a", ("string", "a")),
        ({"bytes": "00ff"}, ("bytes", b"\x00\xff")),
        ({"float64": 1}, ("float64", 1.0)),
        ({"int64": -4}, ("int64", -4)),
        ({"null": None}, ("null", None)),
    ],
)
def test_datums_decode_and_round_trip(raw: object, datum: tuple[str, object]) -> None:
    assert decode_datum(raw, "x") == datum
    assert decode_datum(encode_datum(datum), "x") == datum


def test_nan_and_infinities_round_trip() -> None:
    nan = decode_datum({"float64": "nan"}, "x")
    assert nan[0] == "float64" and math.isnan(nan[1])
    assert encode_datum(nan) == {"float64": "nan"}
    assert encode_datum(decode_datum({"float64": "-inf"}, "x")) == {"float64": "-inf"}
    assert decode_datum({"float64": "-0.0"}, "x") == ("float64", 0.0)


def test_negative_zero_stays_negative_on_the_wire() -> None:
    """-0.0 equals 0.0 (spec 5.3), so the model cannot tell them apart, but the replica must
    get the -0.0 it was sent: that is the only way to test that it knows they are equal."""
    for spelled in ({"float64": "-0.0"}, -0.0, {"float64": -0.0}):
        d = decode_datum(spelled, "x")
        assert d == ("float64", 0.0) and hash(d) == hash(("float64", 0.0))
        assert math.copysign(1.0, d[1]) < 0 and datum_to_proto(d).float64 == 0.0
        assert math.copysign(1.0, datum_to_proto(d).float64) < 0
        assert encode_datum(d) == {"float64": "-0.0"}
    assert encode_datum(decode_datum(0.0, "x")) == 0.0


def test_an_int_and_a_bool_stay_different_kinds() -> None:
    assert decode_datum(1, "x") != decode_datum(True, "x")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (1 << 63, "outside int64"),
        ([1], "expected a datum"),
        ({"bytes": "zz"}, "hex digits"),
        ({"int64": "3"}, "bad tagged datum"),
        ({"a": 1, "b": 2}, "expected a datum"),
    ],
)
def test_bad_datums_name_the_field(raw: object, message: str) -> None:
    with pytest.raises(FieldError, match=message) as e:
        decode_datum(raw, "steps.key[0][1]")
    assert e.value.path == "steps.key[0][1]"


def test_rows_and_frontiers() -> None:
    row = decode_row([1, "a", None], "r")
    assert encode_row(row) == [1, "a", None]
    assert decode_frontier([5], "f") == 5 and decode_frontier([], "f") == EMPTY
    assert encode_frontier(EMPTY) == [] and encode_frontier(7) == [7]
    for bad in ([1, 2], 5, [-1], ["x"]):
        with pytest.raises(FieldError):
            decode_frontier(bad, "f")
    with pytest.raises(FieldError, match="time"):
        decode_time(True, "t")
    with pytest.raises(FieldError, match=r"field r\[1\]"):
        decode_row([1, [2]], "r")


def test_column_types() -> None:
    assert encode_column(decode_column("string?", "c")) == "string?"
    assert encode_column(decode_column("int64", "c")) == "int64"
    with pytest.raises(FieldError, match="column type"):
        decode_column("text", "c")
