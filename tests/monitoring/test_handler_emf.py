"""Every status path of the invoker logs exactly one valid EMF line, and no customer data in it."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from tests.monitoring.emf_spec import check_line
from tests.serving import canned
from tests.serving.conftest import CHURNER, LOYAL

ENDPOINT = "churn-endpoint"
FUNCTION = "churn-invoker"
# Marked values: none of them may reach the log, on any path.
MARKED = {**CHURNER, "Phone": "555-0199", "State": "WY", "Day Mins": 271.828}
SCORES = (0.7312345678, 0.2412345678)  # per-customer scores: not to be logged either
# "271.83": the marked Day Mins as a reason's value (two decimals); "points": a reason's
MARKS = ("555-0199", "WY", "271.828", "271.83", "ZZMARK", "123-45-6789", "12345678", "points")


@pytest.fixture
def aws(monkeypatch, serving_bundle, invoker):
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "FEATURE_SCHEMA_PATH": str(serving_bundle / "feature_schema.json"),
        "DECISION_CUTOFF": "0.5",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "INVOKE_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL", "MAX_RECORDS", "AWS_PROFILE", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    invoker._client_cache.clear()
    invoker._settings_cache.clear()
    with mock_aws():
        yield
    invoker._client_cache.clear()
    invoker._settings_cache.clear()


def event(body, content_type="application/json", method="POST", path="/predict"):
    return {
        "version": "2.0",
        "rawPath": path,
        "headers": {"content-type": content_type},
        "requestContext": {"http": {"method": method, "path": path}, "requestId": "req-1"},
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def _runtime(invoker):
    return invoker.runtime_client(invoker.settings())


def ok(invoker, monkeypatch):
    """The marked Day Mins and State are the first customer's strongest reasons."""
    columns = [c["name"] for c in invoker.settings().encoder.schema["columns"]]
    pushes = {columns.index("Day Mins"): 3.0, columns.index("State_WY"): -1.0}
    rows = [canned.row(SCORES[0], len(columns), pushes), canned.row(SCORES[1], len(columns))]
    canned.seed(canned.body(*rows))
    return event([MARKED, LOYAL])


def bad_value(invoker, monkeypatch):
    return event({**MARKED, "State": "ZZMARK"})


def unknown_field(invoker, monkeypatch):
    return event({**MARKED, "Ssn 123-45-6789": "123-45-6789"})


def too_many(invoker, monkeypatch):
    monkeypatch.setenv("MAX_RECORDS", "1")
    return event([MARKED, MARKED])


def wrong_type(invoker, monkeypatch):
    return event(json.dumps(MARKED), content_type="text/plain")


def wrong_typed_event(invoker, monkeypatch):
    ev = event(MARKED)
    ev["body"] = MARKED  # the record as an object where API Gateway's body string goes
    return ev


def wrong_method(invoker, monkeypatch):
    return event(MARKED, method="GET")


def preflight(invoker, monkeypatch):
    return event("", method="OPTIONS")


def not_found(invoker, monkeypatch):
    return event(MARKED, path="/other")


def misconfigured(invoker, monkeypatch):
    monkeypatch.delenv("ENDPOINT_NAME")
    return event(MARKED)


def crashed(invoker, monkeypatch):
    monkeypatch.setattr(invoker, "_invoke", lambda cfg, vectors: 1 / 0)
    return event(MARKED)


def garbage_answer(invoker, monkeypatch):
    canned.seed("body 0.7312345678")
    return event(MARKED)


def throttled(invoker, monkeypatch):
    stub = Stubber(_runtime(invoker))
    stub.add_client_error("invoke_endpoint", service_error_code="ThrottlingException", http_status_code=400)
    stub.activate()
    return event(MARKED)


def timed_out(invoker, monkeypatch):
    def boom(**_):
        raise ReadTimeoutError(endpoint_url="http://x")

    monkeypatch.setattr(_runtime(invoker), "invoke_endpoint", boom)
    return event(MARKED)


PATHS = {
    "ok": (ok, 200),
    "preflight": (preflight, 204),
    "bad_value": (bad_value, 400),
    "unknown_field": (unknown_field, 400),
    "not_found": (not_found, 404),
    "wrong_typed_event": (wrong_typed_event, 400),
    "wrong_method": (wrong_method, 405),
    "too_many": (too_many, 413),
    "wrong_type": (wrong_type, 415),
    "misconfigured": (misconfigured, 500),
    "crashed": (crashed, 500),
    "garbage_answer": (garbage_answer, 502),
    "throttled": (throttled, 503),
    "timed_out": (timed_out, 504),
}


@pytest.mark.parametrize("name", list(PATHS))
def test_one_valid_emf_line_per_request_without_customer_data(name, invoker, aws, monkeypatch, caplog):
    build, expected = PATHS[name]
    ev = build(invoker, monkeypatch)
    with caplog.at_level(logging.INFO, logger="invoker"):
        answer = invoker.handler(ev, None)
    assert answer["statusCode"] == expected, answer
    if name == "ok":  # the marks are in the answer, so their absence below means something
        told = json.loads(answer["body"])["predictions"][0]["reasons"]
        assert (told["for"][0]["field"], told["for"][0]["value"]) == ("Day Mins", 271.83)
        assert (told["against"][0]["field"], told["against"][0]["value"]) == ("State", "WY")
    lines = [r.getMessage() for r in caplog.records if r.name == "invoker"]
    assert len(lines) == 1, lines
    doc = check_line(lines[0])
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Churn/Invoker"
    assert doc["FunctionName"] == FUNCTION
    assert doc["EndpointName"] == (ENDPOINT if name != "misconfigured" else "unknown")
    assert doc["Requests"] == 1 and doc["status"] == expected
    assert {k: doc[k] for k in ("Status2xx", "Status4xx", "Status5xx")} == {
        f"Status{c}xx": int(expected // 100 == c) for c in (2, 4, 5)
    }
    # "crashed" replaces the endpoint call itself, so a call was timed there too
    invoked = name in ("ok", "garbage_answer", "throttled", "timed_out", "crashed")
    assert ("EndpointLatency" in doc) == invoked
    if name == "ok":
        assert (doc["Records"], doc["Flagged"]) == (2, 1)
        assert [doc[f"ScoreDecile{i}"] for i in range(10)] == [0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    else:
        assert doc["Records"] == doc["Flagged"] == 0
    for mark in MARKS:
        assert mark not in caplog.text, (mark, caplog.text)


def test_the_marks_would_be_seen(invoker, aws, monkeypatch, caplog):
    """The check above can fail: a handler that logged its input, or its answer, would show the marks."""
    logging.getLogger("invoker").info(json.dumps(event([MARKED])))
    assert all(m in caplog.text for m in ("555-0199", "WY", "271.828"))
    caplog.clear()
    answer = invoker.handler(ok(invoker, monkeypatch), None)
    logging.getLogger("invoker").info(answer["body"])
    assert all(m in caplog.text for m in ("WY", "271.83", "12345678", "points"))
