"""Explanations from the inference script: over the model server's HTTP, and through script mode's
entry points (``model_fn``, ``transform_fn``) as the SageMaker image calls them."""

from __future__ import annotations

import concurrent.futures
import io
import json
import math
import tarfile

import flask
import numpy as np
import pytest
import xgboost as xgb

from ml.model.bundle import MODEL_ARCHIVE, SCRIPT_SOURCE
from ml.serving import inference
from ml.serving.inference import EXPLAIN_TYPE, Scorer
from ml.serving.model_server import SMALL_BODY_BYTES

from .test_model_server import as_csv, csv_answer, expected, post

EXPLAIN = {"Content-Type": "text/csv", "Accept": EXPLAIN_TYPE}


@pytest.fixture(scope="module")
def rows(booster) -> np.ndarray:
    """Rows of the model's width with one-hot-like columns and a missing value."""
    rng = np.random.default_rng(11)
    x = np.round(rng.random((6, booster.num_features())) * 40, 3)
    x[:, -12:] = rng.integers(0, 2, (6, 12))
    x[2, 4] = np.nan
    return x


def margins(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    return np.asarray(booster.predict(xgb.DMatrix(x), output_margin=True, iteration_range=(0, 0)))


def check_explained(booster: xgb.Booster, x: np.ndarray, body: bytes) -> list[dict]:
    """One explanation per row: the plain answer's score, the log-odds, and SHAP values that sum to them."""
    assert body.endswith(b"\n") and body.count(b"\n") == 1  # one line: Batch Transform joins lines
    found = json.loads(body)["explanations"]
    assert len(found) == len(x)
    plain = expected(booster, x)
    shap = booster.predict(xgb.DMatrix(x), pred_contribs=True, iteration_range=(0, 0))  # XGBoost's own
    for row, score, log_odds, own in zip(found, plain, margins(booster, x), shap, strict=True):
        assert row["score"] == score  # the very float the text/csv answer prints
        assert row["contributions"] == own[:-1].tolist() and row["base"] == float(own[-1])  # column by column
        assert abs(row["log_odds"] - float(log_odds)) <= 1e-6
        assert abs(row["base"] + math.fsum(row["contributions"]) - row["log_odds"]) <= 1e-5
    return list(found)


def test_explained_answer_over_http(model_server, booster, rows):
    status, headers, body = post(model_server, "/invocations", as_csv(rows), EXPLAIN)
    assert status == 200 and headers["content-type"] == EXPLAIN_TYPE
    found = check_explained(booster, rows, body)
    assert len({row["base"] for row in found}) == 1  # the base value is the model's, not the row's


def test_explained_answer_on_the_runtime_path(model_server, booster, rows):
    status, _, body = post(model_server, "/endpoints/churn/invocations", as_csv(rows[:2]), EXPLAIN)
    assert status == 200
    check_explained(booster, rows[:2], body)


def test_large_explained_body_on_its_own_lane(model_server, booster):
    x = np.round(np.random.default_rng(5).random((400, booster.num_features())) * 30, 4)
    body = as_csv(x)
    assert len(body) > SMALL_BODY_BYTES
    status, _, answer = post(model_server, "/invocations", body, EXPLAIN)
    assert status == 200
    check_explained(booster, x, answer)


def test_plain_and_explained_requests_scored_together_keep_their_own_answers(model_server, booster):
    """Requests that arrive in one turn of the loop share predict calls, one per kind of answer."""
    x = np.round(np.random.default_rng(7).random((48, booster.num_features())) * 20, 3)

    def one(i: int) -> tuple[int, bytes]:
        headers = EXPLAIN if i % 2 else {"Content-Type": "text/csv"}
        status, _, body = post(model_server, "/invocations", as_csv(x[i : i + 1]), headers)
        return status, body

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(len(x))))
    for i, (status, body) in enumerate(answers):
        assert status == 200
        if i % 2:
            check_explained(booster, x[i : i + 1], body)
        else:
            assert body == csv_answer(expected(booster, x[i : i + 1]))


def test_explain_is_only_for_its_own_accept_type(booster, rows):
    scorer = Scorer(booster)
    for accept in (None, "*/*", "application/json", "text/csv, application/vnd.churn.explain+json"):
        body, kind = scorer.score(as_csv(rows[:1]), "text/csv", accept)
        assert kind != EXPLAIN_TYPE and b"contributions" not in body


# -- script mode: the image's serving code calls model_fn once, then transform_fn per request --------
@pytest.fixture(scope="module")
def model_dir(serving_bundle, tmp_path_factory):
    """The bundle's model.tar.gz extracted as SageMaker extracts it into /opt/ml/model."""
    target = tmp_path_factory.mktemp("opt-ml-model")
    with tarfile.open(serving_bundle / MODEL_ARCHIVE) as tar:
        tar.extractall(target, filter="data")
    assert (target / "code" / "inference.py").read_bytes() == SCRIPT_SOURCE.read_bytes()
    return target


def test_model_fn_loads_the_extracted_booster(model_dir, booster, rows):
    scorer = inference.model_fn(str(model_dir))
    assert scorer.predict(rows) == expected(booster, rows)


def _in_request(headers: dict[str, str], call):
    app = flask.Flask("image-worker")  # the image's worker is a Flask app; its request carries the headers
    with app.test_request_context("/invocations", method="POST", headers=headers):
        return call()


def test_transform_fn_answers_as_the_local_server(model_dir, booster, rows):
    scorer = inference.model_fn(str(model_dir))
    text = as_csv(rows).decode()
    # The image's worker hands over a decoded body, and application/json for the missing Accept:
    # the raw headers (none) decide, as they do on the local server.
    body, kind = _in_request(
        {"Content-Type": "text/csv"}, lambda: inference.transform_fn(scorer, text, "text/csv", "application/json")
    )
    assert (body, kind) == (csv_answer(expected(booster, rows)), "text/csv")
    body, kind = _in_request(EXPLAIN, lambda: inference.transform_fn(scorer, text, "text/csv", EXPLAIN_TYPE))
    assert kind == EXPLAIN_TYPE
    check_explained(booster, rows, body)


@pytest.mark.parametrize(
    ("payload", "headers", "status"),
    [
        (b"1,2,3", {"Content-Type": "text/csv"}, 400),
        (b"a,b\n1,2", {"Content-Type": "text/csv"}, 415),
        (b"{}", {"Content-Type": "application/json"}, 415),
        (b"1", {"Content-Type": "text/csv", "Accept": "image/png"}, 406),
    ],
    ids=["too-few-columns", "header-row", "json-body", "unknown-accept"],
)
def test_transform_fn_refuses_with_the_status_not_a_500(model_dir, payload, headers, status):
    """A plain return is a 200 and an exception a 500 in the image: a refusal is a Flask response."""
    scorer = inference.model_fn(str(model_dir))
    response = _in_request(headers, lambda: inference.transform_fn(scorer, payload, headers["Content-Type"], None))
    assert isinstance(response, flask.Response)
    assert response.status_code == status and response.mimetype == "application/json"
    assert json.loads(io.BytesIO(response.get_data()).read())["error"]
