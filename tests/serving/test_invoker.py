"""The invoker Lambda handler: inputs, outputs, status codes, CORS and logs (moto, no network)."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging

import pytest
import requests
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from ml.features.encoder import FeatureEncoder, format_csv

from .conftest import CHURNER, LOYAL, free_port

ORIGIN = "https://churn.example.com"
ENDPOINT = "churn-endpoint"


@pytest.fixture
def env(monkeypatch, serving_bundle, invoker):
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "FEATURE_SCHEMA_PATH": str(serving_bundle / "feature_schema.json"),
        "ALLOWED_ORIGIN": ORIGIN,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in (
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
        "AWS_ENDPOINT_URL",
        "DECISION_CUTOFF",
        "MAX_RECORDS",
        "MAX_BODY_BYTES",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    invoker._client_cache.clear()
    invoker._settings_cache.clear()
    yield
    invoker._client_cache.clear()
    invoker._settings_cache.clear()


@pytest.fixture
def aws(env):
    with mock_aws():
        yield


def seed(*bodies: str) -> None:
    """Queue canned invoke_endpoint answers (moto's documented API)."""
    results = [
        {"Body": b, "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}
        for b in bodies
    ]
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results", json={"results": results}, timeout=5
    ).raise_for_status()


def event(
    body="", content_type="application/json", method="POST", path="/predict", origin=ORIGIN, b64=False, headers=None
):
    hdrs = {"content-type": content_type, **(headers or {})}
    if origin:
        hdrs["origin"] = origin
    if content_type is None:
        del hdrs["content-type"]
    if not isinstance(body, str):
        body = json.dumps(body)
    if b64:
        body = base64.b64encode(body.encode()).decode()
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": hdrs,
        "requestContext": {"http": {"method": method, "path": path}, "requestId": "req-123"},
        "body": body,
        "isBase64Encoded": b64,
    }


def call(invoker, ev):
    response = invoker.handler(ev, None)
    body = json.loads(response["body"]) if response["body"] else None
    return response["statusCode"], response["headers"], body


def capture_requests(invoker):
    """Record what the handler sends to the endpoint (botocore's before-send hook)."""
    seen = []
    cfg = invoker.settings()
    client = invoker.runtime_client(cfg)
    client.meta.events.register(
        "before-sign.sagemaker-runtime.InvokeEndpoint", lambda request, **_: seen.append(request)
    )
    return seen


def header(request, name):
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else value


def encoded(schema, *records):
    enc = FeatureEncoder(schema)
    return [enc.encode(r) for r in records]


# -- happy paths ----------------------------------------------------------------------------
def test_json_one_record(invoker, aws, schema):
    seed("0.75\n")
    sent = capture_requests(invoker)
    status, headers, body = call(invoker, event(CHURNER))
    assert status == 200
    cutoff = schema["decision"]["cutoff"]
    assert body == {"predictions": [{"churn_probability": 0.75, "will_churn": cutoff <= 0.75}], "cutoff": cutoff}
    assert headers["Access-Control-Allow-Origin"] == ORIGIN and headers["Vary"] == "Origin"
    (request,) = sent
    assert header(request, "Content-Type") == "text/csv" and header(request, "Accept") == "text/csv"
    assert request.url.endswith(f"/endpoints/{ENDPOINT}/invocations")
    assert request.body == format_csv(encoded(schema, CHURNER)).encode()


def test_json_list_and_cutoff_env(invoker, aws, monkeypatch, schema):
    monkeypatch.setenv("DECISION_CUTOFF", "0.5")
    seed("0.5\n0.49999\n")
    sent = capture_requests(invoker)
    status, _, body = call(invoker, event([CHURNER, LOYAL]))
    assert status == 200
    assert body["cutoff"] == 0.5
    assert body["predictions"] == [
        {"churn_probability": 0.5, "will_churn": True},
        {"churn_probability": 0.49999, "will_churn": False},
    ]
    assert sent[0].body == format_csv(encoded(schema, CHURNER, LOYAL)).encode()


def _csv(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_csv_with_header_any_order_subset(invoker, aws, schema):
    seed("0.2\n0.9\n")
    sent = capture_requests(invoker)
    names = [n for n in reversed(list(CHURNER)) if n not in ("Phone", "Day Charge")]
    body = _csv([names, [CHURNER[n] for n in names], [LOYAL[n] for n in names]])
    status, _, answer = call(invoker, event(body, "text/csv; charset=utf-8"))
    assert status == 200, answer
    assert [p["churn_probability"] for p in answer["predictions"]] == [0.2, 0.9]
    assert sent[0].body == format_csv(encoded(schema, CHURNER, LOYAL)).encode()


def test_csv_without_header_20_and_21_columns(invoker, aws, schema):
    names = list(schema["fields"])
    assert len(names) == 20 and names[0] == "State" and names[-1] == "CustServ Calls"
    seed("0.1\n", "0.001\n")
    sent = capture_requests(invoker)
    status, _, answer = call(invoker, event(_csv([[CHURNER[n] for n in names]]), "text/csv"))
    assert status == 200, answer
    status, _, answer = call(invoker, event(_csv([[LOYAL[n] for n in names] + ["False."]]), "text/csv"))
    assert status == 200, answer
    assert answer["predictions"] == [{"churn_probability": 0.001, "will_churn": False}]
    assert [r.body for r in sent] == [format_csv(encoded(schema, r)).encode() for r in (CHURNER, LOYAL)]


def test_csv_encoded_vector_like_the_lab_page(invoker, aws, schema):
    vectors = encoded(schema, CHURNER, LOYAL)
    seed("0.99,0.001")  # an older container's comma-separated answer is read too
    sent = capture_requests(invoker)
    status, _, answer = call(invoker, event(format_csv(vectors), "text/csv"))
    assert status == 200, answer
    assert [p["will_churn"] for p in answer["predictions"]] == [True, False]
    assert sent[0].body == format_csv(vectors).encode()


def test_base64_body_and_rest_v1_event(invoker, aws):
    seed("0.4\n")
    ev = event(CHURNER, b64=True)
    status, _, _ = call(invoker, ev)
    assert status == 200
    v1 = {
        "resource": "/predict",
        "path": "/predict",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "Origin": ORIGIN},
        "requestContext": {"requestId": "v1-req"},
        "body": json.dumps(LOYAL),
        "isBase64Encoded": False,
    }
    seed("0.001\n")
    status, headers, body = call(invoker, v1)
    assert status == 200 and body["predictions"][0]["will_churn"] is False
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


# -- CORS and routing -------------------------------------------------------------------------
def test_preflight_and_cors_only_for_the_allowed_origin(invoker, env):
    status, headers, body = call(invoker, event(method="OPTIONS", body=""))
    assert status == 204 and body is None
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "content-type" in headers["Access-Control-Allow-Headers"].lower()
    status, headers, _ = call(invoker, event(method="OPTIONS", body="", origin="https://evil.example"))
    assert status == 204
    assert "Access-Control-Allow-Origin" not in headers and headers["Vary"] == "Origin"
    status, headers, _ = call(invoker, event({"State": "QQ"}, origin="https://evil.example"))
    assert status == 400 and "Access-Control-Allow-Origin" not in headers


def test_no_cors_headers_without_allowed_origin(invoker, env, aws, monkeypatch):
    """As deployed: CloudFront serves the page and /predict from one origin, so Terraform sets no
    ALLOWED_ORIGIN and no answer carries a CORS header (nor Vary: Origin), whatever the Origin."""
    monkeypatch.delenv("ALLOWED_ORIGIN")
    seed("0.9\n")
    for origin in (ORIGIN, "https://evil.example", None):
        for ev, expected in (
            (event(CHURNER, origin=origin), 200),
            (event(method="OPTIONS", origin=origin), 204),
            (event({"State": "QQ"}, origin=origin), 400),
        ):
            status, headers, _ = call(invoker, ev)
            assert status == expected
            assert "Access-Control-Allow-Origin" not in headers and "Vary" not in headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/predict", 405), ("PUT", "/predict", 405), ("POST", "/other", 404), ("GET", "/", 404),
     ("POST", "/x/predict", 404), ("POST", "/predict/", 404), ("POST", "/api/predict", 404)],
)  # fmt: skip
def test_routing(invoker, env, method, path, status):
    got, headers, body = call(invoker, event(CHURNER, method=method, path=path))
    assert got == status and "error" in body
    if status == 405:
        assert headers["Allow"] == "POST, OPTIONS"


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        ("{not json", "application/json", 400, ["invalid JSON"]),
        ('"a string"', "application/json", 400, ["expected a JSON object"]),
        ("[]", "application/json", 400, ["no records"]),
        ({**CHURNER, "Colour": "red"}, "application/json", 400, ["Colour", "unknown field", "record 0"]),
        ({k: v for k, v in CHURNER.items() if k != "Day Mins"}, "application/json", 400, ["Day Mins", "missing"]),
        ({**CHURNER, "Day Mins": 5000}, "application/json", 400, ["Day Mins", "outside"]),
        ({**CHURNER, "Day Calls": "many"}, "application/json", 400, ["Day Calls", "not a number"]),
        ({**CHURNER, "Day Calls": 1.5}, "application/json", 400, ["Day Calls", "whole number"]),
        ({**CHURNER, "State": "QQ"}, "application/json", 400, ["State", "QQ"]),
        ({**CHURNER, "Area Code": 212}, "application/json", 400, ["Area Code", "212"]),
        ({**CHURNER, "Int'l Plan": "maybe"}, "application/json", 400, ["Int'l Plan", "maybe"]),
        ([CHURNER, {**LOYAL, "VMail Plan": None}], "application/json", 400, ["record 1", "VMail Plan"]),
        ("", "text/csv", 400, ["no records"]),
        ("1,2,3\n", "text/csv", 400, ["3 CSV columns", "20 raw fields"]),
        ("State,Day Mins\nNJ,1\n", "text/csv", 400, ["missing"]),
        ("State,Stat\nNJ,1\n", "text/csv", 400, ["Stat", "unknown field"]),
        (CHURNER, "text/plain", 415, ["content type", "text/plain"]),
        (CHURNER, None, 415, ["content type"]),
    ],
)
def test_bad_input(invoker, env, body, content_type, status, words):
    got, headers, answer = call(invoker, event(body, content_type))
    assert got == status, answer
    assert set(answer) == {"error"}
    for word in words:
        assert word in answer["error"]
    assert headers["Content-Type"] == "application/json"


def test_csv_errors_name_record_and_field(invoker, env, schema):
    names = list(schema["fields"])
    good = [CHURNER[n] for n in names]
    bad = [*good]
    bad[names.index("Eve Calls")] = "-3"
    _, _, answer = call(invoker, event(_csv([good, bad]), "text/csv"))
    assert "record 1" in answer["error"] and "Eve Calls" in answer["error"]
    vector = encoded(schema, CHURNER)[0]
    _, _, answer = call(invoker, event(format_csv([vector, [*vector[:-1], float("nan")]]), "text/csv"))
    assert "record 1" in answer["error"]
    status, _, answer = call(invoker, event(format_csv([vector[:-1]]), "text/csv"))
    assert status == 400


@pytest.mark.parametrize("digits", ["\u0663\u0660\u0665", "\uff13\uff10\uff15", "3\u0660\u0665"])
def test_numbers_are_ascii_decimals(invoker, env, schema, digits):
    """305 in Arabic-Indic or fullwidth digits (or mixed): refused in JSON, raw CSV and the encoded
    vector alike (the model server takes them, as the container does; the API's contract is ASCII)."""
    names = list(schema["fields"])
    row = [CHURNER[n] for n in names]
    row[names.index("Day Mins")] = digits
    vector = [repr(v) for v in encoded(schema, CHURNER)[0]]
    bodies = {
        "json": ({**CHURNER, "Day Mins": digits}, "application/json"),
        "csv with header": (_csv([names, row]), "text/csv"),
        "csv without header": (_csv([row]), "text/csv"),
        "encoded vector": (_csv([vector, [vector[0], digits, *vector[2:]]]), "text/csv"),
    }
    for name, (body, content_type) in bodies.items():
        status, _, answer = call(invoker, event(body, content_type))
        assert status == 400 and "is not a number" in answer["error"], (name, answer)


def test_limits(invoker, env, monkeypatch):
    monkeypatch.setenv("MAX_RECORDS", "3")
    status, _, answer = call(invoker, event([CHURNER] * 4))
    assert status == 413 and "limit of 3" in answer["error"]
    status, _, _ = call(
        invoker, event("\n".join([_csv([list(CHURNER)])] + [_csv([list(CHURNER.values())])] * 4), "text/csv")
    )
    assert status == 413
    monkeypatch.setenv("MAX_BODY_BYTES", "2000")
    status, _, answer = call(invoker, event([CHURNER] * 6))
    assert status == 413 and "2000 bytes" in answer["error"]
    status, _, _ = call(invoker, event([CHURNER] * 6, b64=True))
    assert status == 413
    status, _, answer = call(invoker, {**event(""), "body": "!!!notbase64", "isBase64Encoded": True})
    assert status == 400


def test_missing_endpoint_name_is_a_500_without_details(invoker, env, monkeypatch, caplog):
    monkeypatch.delenv("ENDPOINT_NAME")
    with caplog.at_level(logging.INFO, logger="invoker"):
        status, _, answer = call(invoker, event(CHURNER))
    assert status == 500 and answer == {"error": "the service is misconfigured"}
    assert "ENDPOINT_NAME" in caplog.text


# -- endpoint failures ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "http", "status"),
    [
        ("ModelError", 424, 502),
        ("ThrottlingException", 400, 503),
        ("SomethingElse", 429, 503),
        ("ServiceUnavailable", 503, 503),
        ("ModelNotReadyException", 429, 503),
        ("ValidationError", 400, 502),
        ("InternalFailure", 500, 502),
    ],
)
def test_endpoint_client_errors(invoker, env, code, http, status):
    client = invoker.runtime_client(invoker.settings())
    with Stubber(client) as stub:
        stub.add_client_error(
            "invoke_endpoint", service_error_code=code, service_message="secret detail", http_status_code=http
        )
        got, _, answer = call(invoker, event(CHURNER))
    assert got == status
    assert "secret detail" not in answer["error"] and "Traceback" not in answer["error"]


@pytest.mark.parametrize(
    "error", [ReadTimeoutError(endpoint_url="http://x"), ConnectTimeoutError(endpoint_url="http://x")]
)
def test_endpoint_timeouts_are_504(invoker, env, monkeypatch, error):
    client = invoker.runtime_client(invoker.settings())

    def boom(**_):
        raise error

    monkeypatch.setattr(client, "invoke_endpoint", boom)
    status, _, answer = call(invoker, event(CHURNER))
    assert status == 504 and "time" in answer["error"]


# -- the invoke budget (issue 9, defect 4) ----------------------------------------------------
def test_invoke_budget_comes_from_the_environment(invoker, env, monkeypatch):
    """Terraform sets INVOKE_*; the botocore client is built from exactly those numbers."""
    monkeypatch.setenv("INVOKE_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("INVOKE_READ_TIMEOUT", "7")
    monkeypatch.setenv("INVOKE_MAX_ATTEMPTS", "4")
    cfg = invoker.settings()
    config = invoker.runtime_client(cfg).meta.config
    assert (config.connect_timeout, config.read_timeout) == (3.0, 7.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert invoker.invoke_budget_s(cfg) == 4 * (3 + 7) + (1 + 2 + 4)  # backoff before attempts 2, 3, 4


def test_invoke_defaults_are_terraforms(invoker):
    """One source: the handler's fallbacks equal the Terraform defaults that set its environment."""
    import re

    import hcl2

    from tests.terraform.tf_helpers import TF_DIR

    def defaults(path):
        with open(path) as fh:
            blocks = hcl2.load(fh)["variable"]
        return {name.strip('"'): body.get("default") for block in blocks for name, body in block.items()}

    module = defaults(TF_DIR / "modules" / "invoker" / "variables.tf")
    root = defaults(TF_DIR / "variables.tf")
    names = {"INVOKE_CONNECT_TIMEOUT": "invoke_connect_timeout_s", "INVOKE_READ_TIMEOUT": "invoke_read_timeout_s",
             "INVOKE_MAX_ATTEMPTS": "invoke_max_attempts"}  # fmt: skip
    for env_name, var_name in names.items():
        assert invoker.INVOKE_DEFAULTS[env_name] == module[var_name] == root[var_name], env_name
        wiring = rf"{env_name}\s*=\s*tostring\(var\.{var_name}\)"
        assert re.search(wiring, (TF_DIR / "modules" / "invoker" / "main.tf").read_text()), env_name


def test_read_timeouts_are_retried_within_the_budget(invoker, env, monkeypatch):
    """An endpoint that accepts and never answers: every attempt waits out its read timeout, the
    handler answers its own 504 within invoke_budget_s, after exactly INVOKE_MAX_ATTEMPTS calls."""
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setenv("INVOKE_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("INVOKE_READ_TIMEOUT", "0.4")
    monkeypatch.setenv("INVOKE_MAX_ATTEMPTS", "2")
    try:
        started = time.monotonic()
        status, _, answer = call(invoker, event(CHURNER))
        elapsed = time.monotonic() - started
    finally:
        server.close()
        for conn in accepted:
            conn.close()
    assert status == 504 and "time" in answer["error"]
    assert len(accepted) == 2  # the read timeout was retried once, not more
    assert 2 * 0.4 <= elapsed <= invoker.invoke_budget_s(invoker.settings()) + 0.5


def test_endpoint_down_is_503(invoker, env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("INVOKE_MAX_ATTEMPTS", "1")
    status, headers, answer = call(invoker, event(CHURNER))
    assert status == 503 and "unreachable" in answer["error"]
    assert headers["Retry-After"]


@pytest.mark.parametrize("body", ["body", "0.5\n", "0.5\n0.2\n0.1\n", "1.5\n0.2\n", "nan\n0.1\n", "\xff"])
def test_malformed_endpoint_answer_is_502(invoker, aws, body):
    seed(body)
    status, _, answer = call(invoker, event([CHURNER, LOYAL]))
    assert status == 502 and answer == {"error": "the model endpoint returned an unexpected response"}


def test_unexpected_exception_is_500_without_trace(invoker, env, monkeypatch):
    monkeypatch.setattr(invoker, "_invoke", lambda cfg, vectors: 1 / 0)
    status, _, answer = call(invoker, event(CHURNER))
    assert status == 500 and answer == {"error": "internal error"}


# -- logs -----------------------------------------------------------------------------------
def test_logs_are_json_lines_without_customer_values(invoker, aws, caplog):
    seed("0.75\n0.25\n")
    secret = {**CHURNER, "Phone": "555-0199", "Day Mins": 1234.56, "State": "WY"}
    with caplog.at_level(logging.INFO, logger="invoker"):
        call(invoker, event([secret, LOYAL]))
        call(invoker, event({**secret, "State": "QQ"}))
        call(invoker, event({**secret, "Ssn 123-45-6789": 1}))
        call(invoker, event(_csv([list(secret), list(secret.values())]), "text/csv"))
    lines = [r.getMessage() for r in caplog.records if r.name == "invoker"]
    assert len(lines) == 4
    entries = [json.loads(line) for line in lines]
    assert entries[0]["status"] == 200 and entries[0]["records"] == 2 and entries[0]["request_id"] == "req-123"
    assert isinstance(entries[0]["latency_ms"], float) and entries[0]["outcome"] == "ok"
    assert entries[1]["status"] == 400 and entries[1]["error_field"] == "State"
    assert entries[2]["error_field"] == "(unknown)"
    for value in ("555-0199", "1234.56", "WY", "QQ", "123-45-6789"):
        assert value not in caplog.text
