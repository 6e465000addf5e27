"""Reasons: the inference script's SHAP values add up, and ml/features/reasons.py folds them right.

The additivity test runs every test-split row of the test bundle (tests/conftest.py's
``bundle_dir``: the default pipeline on 1,500 synthetic customers, seed 11) through the same
``Scorer`` the model server and SageMaker's script mode run; the split is made again the way
training made it (``pipeline.prepare`` on the same data and settings).
"""

from __future__ import annotations

import json
import math

import pytest

from ml.config import DEFAULT
from ml.data.dataset import load
from ml.features import reasons
from ml.features.encoder import FeatureEncoder, format_csv
from ml.features.schema import build_schema
from ml.model import pipeline
from ml.serving.inference import EXPLAIN_TYPE, Scorer
from ml.serving.model_server import load_booster

SCHEMA = build_schema(derived_features=True)
COLUMNS = [c["name"] for c in SCHEMA["columns"]]
SPANS = reasons.fields(SCHEMA)
CUSTOMER = {
    "State": "NJ",
    "Account Length": 140,
    "Area Code": 415,
    "Int'l Plan": "yes",
    "VMail Plan": "no",
    "VMail Message": 0,
    "Day Mins": 305.0,
    "Day Calls": 110,
    "Eve Mins": 270.5,
    "Eve Calls": 95,
    "Night Mins": 240.0,
    "Night Calls": 100,
    "Intl Mins": 14.0,
    "Intl Calls": 2,
    "CustServ Calls": 4,
}
BASE = -1.5


def explanation(pushes: dict[str, float], base: float = BASE) -> dict:
    """A consistent explanation with these log-odds on these columns (the score follows from them)."""
    contributions = [pushes.get(name, 0.0) for name in COLUMNS]
    log_odds = base + math.fsum(contributions)
    return {"score": reasons.sigmoid(log_odds), "log_odds": log_odds, "base": base, "contributions": contributions}


def points_of(found: dict, field: str) -> float | None:
    for item in [*found["for"], *found["against"]]:
        if item["field"] == field:
            return float(item["points"])
    return None


# -- the fold --------------------------------------------------------------------------------
def test_a_categorical_fields_one_hot_columns_are_summed():
    """State's 51 columns are one reason whose log-odds are their sum, whichever column carries them."""
    told = explanation({"State_NJ": 0.6, "State_OH": 0.3, "State_TX": -0.1, "Day Mins": 0.05})
    scale = reasons.points_scale(told["score"], told["log_odds"], BASE)
    by_field = dict(zip([f.name for f in SPANS], reasons.field_points(SPANS, told), strict=True))
    assert by_field["State"] == pytest.approx(0.8 * scale, abs=1e-12)
    vector = FeatureEncoder(SCHEMA).encode(CUSTOMER)
    found = reasons.reasons(SPANS, vector, told)
    assert found["for"][0] == {"field": "State", "value": "NJ", "points": round(0.8 * scale, 1)}
    assert not any(item["field"].startswith("State_") for item in [*found["for"], *found["against"]])


def test_derived_totals_stay_reasons_of_their_own():
    """Total Charge's log-odds are its own: not spread over the minutes it sums, nor merged into them."""
    told = explanation({"Total Charge": 0.9, "Day Mins": 0.2, "Eve Mins": -0.3, "Total Mins": 0.4})
    scale = reasons.points_scale(told["score"], told["log_odds"], BASE)
    vector = FeatureEncoder(SCHEMA).encode(CUSTOMER)
    found = reasons.reasons(SPANS, vector, told)
    bill = round(vector[COLUMNS.index("Total Charge")], 2)
    assert found["for"] == [
        {"field": "Total Charge", "value": bill, "points": round(0.9 * scale, 1)},
        {"field": "Total Mins", "value": 829.5, "points": round(0.4 * scale, 1)},
        {"field": "Day Mins", "value": 305, "points": round(0.2 * scale, 1)},
    ]
    assert found["against"] == [{"field": "Eve Mins", "value": 270.5, "points": round(-0.3 * scale, 1)}]
    kinds = {f.name: f.kind for f in SPANS}
    assert [kinds[n] for n in ("Total Charge", "Total Mins", "Total Calls", "Day Mins", "State")] == [
        "derived", "derived", "derived", "number", "category"
    ]  # fmt: skip


def test_a_missing_category_value_is_none():
    """An encoded vector (the lab page's input) whose one-hot block has no column set: the field
    still tells its effect, with no value rather than a made-up one."""
    vector = FeatureEncoder(SCHEMA).encode(CUSTOMER)
    for name in COLUMNS:
        if name.startswith("State_"):
            vector[COLUMNS.index(name)] = 0.0
    found = reasons.reasons(SPANS, vector, explanation({"State_AK": -0.7}))
    assert found["against"] == [{"field": "State", "value": None, "points": found["against"][0]["points"]}]
    assert found["against"][0]["points"] < 0


def test_points_scale_where_the_log_odds_are_the_base():
    """0/0 there: the limit, the logistic curve's slope p(1 - p), and nearby values approach it."""
    p = reasons.sigmoid(BASE)
    assert reasons.points_scale(p, BASE, BASE) == pytest.approx(100 * p * (1 - p), rel=1e-12)
    for h in (1e-3, -1e-3, 1e-5):
        assert reasons.points_scale(reasons.sigmoid(BASE + h), BASE + h, BASE) == pytest.approx(
            100 * p * (1 - p), rel=2e-3
        )


def test_the_top_three_each_way_strongest_first():
    """Five fields for, four against, one too weak to show: three each way, by size; equal
    effects in the schema's order; a field that rounds to 0.0 points is no reason."""
    pushes = {
        "CustServ Calls": 0.5, "Day Mins": 0.9, "VMail Message": 0.2, "Intl Calls": 0.7, "Eve Calls": 0.2,
        "Night Mins": -0.8, "Account Length": -0.1, "Int'l Plan_no": -0.6, "Night Calls": -0.3,
        "Total Calls": 0.0001,
    }  # fmt: skip
    told = explanation(pushes)
    found = reasons.reasons(SPANS, FeatureEncoder(SCHEMA).encode(CUSTOMER), told)
    assert [r["field"] for r in found["for"]] == ["Day Mins", "Intl Calls", "CustServ Calls"]
    assert [r["field"] for r in found["against"]] == ["Night Mins", "Int'l Plan", "Night Calls"]
    scale = reasons.points_scale(told["score"], told["log_odds"], BASE)
    assert reasons.reasons(SPANS, FeatureEncoder(SCHEMA).encode(CUSTOMER), told, top=5)["for"][3:] == [
        {"field": "VMail Message", "value": 0, "points": round(0.2 * scale, 1)},
        {"field": "Eve Calls", "value": 95, "points": round(0.2 * scale, 1)},
    ]
    assert points_of(reasons.reasons(SPANS, [0.0] * len(COLUMNS), told, top=20), "Total Calls") is None


# -- additivity on the test bundle, through the inference script ----------------------------
@pytest.fixture(scope="module")
def test_split(bundle_dir):
    """The bundle's test split, made again as training made it (checked against metrics.json)."""
    metrics = json.loads((bundle_dir / "metrics.json").read_text())
    frame, provenance = load("synthetic", metrics["data"]["rows"], 11, quiet=True)
    assert provenance.as_dict()["sha256"] == metrics["data"]["sha256"], "not the bundle's data"
    rows = pipeline.prepare(DEFAULT, frame, provenance).x["test"]
    assert len(rows) == metrics["split"]["rows"]["test"] > 100
    return rows


@pytest.fixture(scope="module")
def explained(bundle_dir, test_split):
    scorer = Scorer(load_booster(bundle_dir))
    body = format_csv(test_split.tolist()).encode()
    answer, media = scorer.score(body, "text/csv", EXPLAIN_TYPE)
    assert media == EXPLAIN_TYPE
    plain, _ = scorer.score(body, "text/csv", "text/csv")
    return json.loads(answer)["explanations"], [float(s) for s in plain.split()]


def test_every_test_row_adds_up(explained, test_split, bundle_dir):
    rows, plain = explained
    schema = json.loads((bundle_dir / "feature_schema.json").read_text())
    spans = reasons.fields(schema)
    assert len(rows) == len(test_split) == len(plain)
    for i, (row, score) in enumerate(zip(rows, plain, strict=True)):
        assert row["score"] == score, i  # exactly the plain text/csv answer's float
        assert len(row["contributions"]) == len(schema["columns"]), i
        assert abs(row["base"] + math.fsum(row["contributions"]) - row["log_odds"]) <= 1e-5, i
        assert abs(reasons.sigmoid(row["log_odds"]) - row["score"]) <= 1e-7, i  # log_odds is logit(score)
        points = reasons.field_points(spans, row)
        assert len(points) == len(spans)
        assert abs(math.fsum(points) - 100 * (row["score"] - reasons.sigmoid(row["base"]))) <= 1e-6, i
    assert len({row["base"] for row in rows}) == 1  # one model, one base value
