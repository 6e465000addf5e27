"""One encoding: the stdlib encoder (Lambda) and the vectorised path (training) agree on every row."""

from __future__ import annotations

import numpy as np
import pytest

from ml.config import DEFAULT, NOTEBOOK
from ml.data import raw_schema as rs
from ml.data.dataset import parse_raw, to_csv_bytes
from ml.data.split import split_frame
from ml.features.encoder import EncodingError, FeatureEncoder, format_csv
from ml.features.schema import build_schema, encode_frame


def test_notebook_recipe_has_69_columns_in_the_labs_order():
    schema = build_schema(derived_features=False)
    names = [c["name"] for c in schema["columns"]]
    assert len(names) == 69
    assert names[:11] == [
        "Account Length",
        "VMail Message",
        "Day Mins",
        "Day Calls",
        "Eve Mins",
        "Eve Calls",
        "Night Mins",
        "Night Calls",
        "Intl Mins",
        "Intl Calls",
        "CustServ Calls",
    ]
    assert names[11:13] == ["State_AK", "State_AL"] and names[62:65] == [
        "Area Code_408",
        "Area Code_415",
        "Area Code_510",
    ]
    assert names[-4:] == ["Int'l Plan_no", "Int'l Plan_yes", "VMail Plan_no", "VMail Plan_yes"]
    assert not any("Charge" in n or "Phone" in n for n in names)


@pytest.mark.parametrize("settings", [NOTEBOOK, DEFAULT], ids=["notebook", "default"])
def test_parity_on_every_row_of_every_split(synthetic_frame, settings):
    schema = build_schema(settings.derived_features)
    encoder = FeatureEncoder(schema)
    # Through CSV and back: the frame training sees is what validation produced.
    frame = parse_raw(to_csv_bytes(synthetic_frame))
    for name, part in split_frame(frame, settings.split, settings.seed).items():
        vectorised = encode_frame(part, schema)
        records = [{str(k): v for k, v in r.items()} for r in part.to_dict("records")]
        per_record: np.ndarray = np.asarray(encoder.encode_many(records), dtype=np.float64)
        assert per_record.shape == vectorised.shape, name
        assert np.array_equal(per_record, vectorised), name  # bit-identical, not approximately


def test_csv_formatting_round_trips_exactly(synthetic_frame):
    encoder = FeatureEncoder(build_schema(True))
    rows = encoder.encode_many(synthetic_frame.head(200).to_dict("records"))
    parsed = [[float(v) for v in line.split(",")] for line in format_csv(rows).splitlines()]
    assert parsed == rows


def test_encoder_accepts_json_shapes_and_names_errors(synthetic_frame):
    encoder = FeatureEncoder(build_schema(True))
    record = {k: v for k, v in synthetic_frame.iloc[0].to_dict().items() if k not in rs.DROPPED and k != rs.LABEL}
    base = encoder.encode(record)
    assert encoder.encode({**record, "Area Code": int(record["Area Code"]), "State": record["State"].lower()}) == base
    cases = {
        "Day Mins": ("abc", "not a number"),
        "Eve Calls": (2.5, "whole number"),
        "Night Mins": (float("nan"), "finite"),
        "Intl Mins": (-1, "outside"),
        "State": ("ZZ", "unknown value"),
        "Int'l Plan": (True, "expected one of"),
    }
    for field, (value, text) in cases.items():
        with pytest.raises(EncodingError) as err:
            encoder.encode({**record, field: value}, index=3)
        assert err.value.field == field and err.value.record == 3
        assert text in str(err.value) and "record 3" in str(err.value)
    with pytest.raises(EncodingError, match="field 'Day Calls': missing"):
        encoder.encode({k: v for k, v in record.items() if k != "Day Calls"})
    with pytest.raises(EncodingError, match="field 'Plan B': unknown field"):
        encoder.encode({**record, "Plan B": 1})


def test_check_vector_width():
    encoder = FeatureEncoder(build_schema(False))
    assert encoder.check_vector(["1"] * 69) == [1.0] * 69
    with pytest.raises(EncodingError, match="expected 69 encoded values, got 68"):
        encoder.check_vector([1] * 68)


def _real_or_skip() -> bytes:
    from tests.conftest import REAL_DATA

    if not REAL_DATA.is_file():
        pytest.skip(f"{REAL_DATA} is not on this machine")
    return REAL_DATA.read_bytes()


@pytest.mark.parametrize("settings", [NOTEBOOK, DEFAULT], ids=["notebook", "default"])
@pytest.mark.parametrize("data", ["synthetic", "real"])
def test_batch_scoring_encoding_matches_the_stdlib_encoder_row_for_row(synthetic_frame, settings, data):
    """Batch scoring's path (vectorised validation, then code-based one-hot) against the Lambda's encoder."""
    from ml.data.dataset import validate_chunk
    from ml.features.columnar import encode_columns

    raw = to_csv_bytes(synthetic_frame) if data == "synthetic" else _real_or_skip()
    schema = build_schema(settings.derived_features)
    chunk = validate_chunk(raw, "x.csv", (), 2)
    assert chunk.plain  # the vectorised validator took it, not the strict fallback
    cols = chunk.columns
    vocabulary = {name: rs.categories(name) for name in rs.CATEGORICAL}
    columnar = encode_columns(cols.rows, cols.numbers, cols.codes, vocabulary, schema)
    records = [{str(k): v for k, v in r.items()} for r in parse_raw(raw).to_dict("records")]
    per_record: np.ndarray = np.asarray(FeatureEncoder(schema).encode_many(records), dtype=np.float64)
    assert columnar.shape == per_record.shape == (len(records), len(schema["columns"]))
    for i, (a, b) in enumerate(zip(columnar, per_record, strict=True)):
        assert np.array_equal(a, b), f"row {i}"  # bit-identical, row for row
    assert np.array_equal(columnar, encode_frame(parse_raw(raw), schema))


def test_vectorised_validation_gives_the_strict_frame(synthetic_frame, monkeypatch):
    """Same values and dtypes whether the vectorised path or the line-by-line csv path reads the file."""
    import pandas as pd

    from ml.data import dataset

    raw = to_csv_bytes(synthetic_frame)
    odd = raw.replace(b",no,", b", No ,").replace(b"\n", b"\r\n")  # cells only the strict parser proves
    fast = [dataset.parse_raw(data) for data in (raw, odd)]
    monkeypatch.setattr(dataset, "parse_lines", lambda *a, **k: None)
    strict = [dataset.parse_raw(data) for data in (raw, odd)]
    for a, b in zip(fast, strict, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
