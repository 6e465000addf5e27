"""The invoker's reader of explained answers (functions/invoker/invoker_explained.py) against the
inference script that writes them (ml/serving/inference.py): one media type, one format."""

from __future__ import annotations

import json
import sys

import pytest

from ml.features import reasons
from ml.features.encoder import FeatureEncoder, format_csv
from ml.serving import inference

from .conftest import ROOT


@pytest.fixture(scope="module")
def explained(invoker):
    return sys.modules["invoker_explained"]  # imported by the handler, from the Lambda's folder


def test_one_media_type(explained):
    """The Lambda cannot import the inference script (numpy): the two spellings are held equal here."""
    assert explained.EXPLAIN_TYPE == inference.EXPLAIN_TYPE


def test_the_inference_scripts_answer_is_read_as_written(explained, booster, schema):
    """Both examples and a customer at the base rate, through the real Scorer: every number kept."""
    encoder = FeatureEncoder(schema)
    vectors = [encoder.encode(schema["examples"][name]) for name in ("churner", "loyal")]
    body, media = inference.Scorer(booster).score(format_csv(vectors).encode(), "text/csv", inference.EXPLAIN_TYPE)
    assert media == explained.EXPLAIN_TYPE
    rows = explained.parse(body, len(vectors), encoder.width)
    written = json.loads(body)["explanations"]
    assert [row.as_mapping() for row in rows] == [{**w, "contributions": tuple(w["contributions"])} for w in written]
    made = explained.predictions(rows, vectors, reasons.fields(schema), schema["decision"]["cutoff"])
    assert [p["will_churn"] for p in made] == [True, False]  # the examples are chosen to land either side
    assert made[0]["reasons"]["for"] and made[1]["reasons"]["against"]
    assert explained.explanation(rows)["base_probability"] == round(reasons.sigmoid(written[0]["base"]), 4)


def test_a_narrower_answer_is_refused(explained, booster, schema):
    """The model answered for fewer columns than the encoder writes (another model behind the
    endpoint): its contributions cannot be folded onto this schema's fields."""
    encoder = FeatureEncoder(schema)
    body, _ = inference.Scorer(booster).score(
        format_csv([encoder.encode(schema["examples"]["churner"])]).encode(), "text/csv", inference.EXPLAIN_TYPE
    )
    with pytest.raises(explained.BadAnswer, match=f"list of {encoder.width + 1} numbers"):
        explained.parse(body, 1, encoder.width + 1)


def test_the_openapi_document_says_the_same(explained):
    """docs/openapi.json's copies of the unit and of the number of reasons each way."""
    schemas = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
    assert schemas["Explanation"]["properties"]["points"]["enum"] == [explained.POINTS]
    for side in ("for", "against"):
        assert schemas["Reasons"]["properties"][side]["maxItems"] == reasons.TOP
