"""The invoker Lambda handler: inputs, outputs, status codes, CORS and logs (moto, no network)."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import math

import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from ml.features import reasons
from ml.features.encoder import FeatureEncoder, format_csv
from ml.serving.inference import EXPLAIN_TYPE

from . import canned
from .canned import seed
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
        "MODEL_VERSION",
        "MODEL_APPROVED_AT",
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


def scores(schema, *values: float) -> str:
    """A canned explain answer of these scores (the schema's width)."""
    return canned.scores(len(schema["columns"]), *values)


def column(schema, name: str) -> int:
    return [c["name"] for c in schema["columns"]].index(name)


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


def churner_answer(schema) -> tuple[str, float]:
    """An explain answer for CHURNER at 0.75 whose log-odds sit on five fields, and its base value:
    CustServ Calls +1.2, Int'l Plan +0.8 over its two one-hot columns, Total Charge +0.6, Day Mins
    -0.4, State -0.2 over two of its columns (one not the customer's), nothing elsewhere."""
    pushes = {
        column(schema, "CustServ Calls"): 1.2,
        column(schema, "Int'l Plan_yes"): 0.5,
        column(schema, "Int'l Plan_no"): 0.3,
        column(schema, "Total Charge"): 0.6,
        column(schema, "Day Mins"): -0.4,
        column(schema, "State_NJ"): -0.15,
        column(schema, "State_OH"): -0.05,
    }
    base = canned.logit(0.75) - math.fsum(pushes.values())  # nothing left over for column 0
    return canned.body(canned.row(0.75, len(schema["columns"]), pushes, base=base)), base


# -- happy paths ----------------------------------------------------------------------------
def test_json_one_record(invoker, aws, schema):
    answer, base = churner_answer(schema)
    seed(answer)
    sent = capture_requests(invoker)
    status, headers, body = call(invoker, event(CHURNER))
    assert status == 200
    cutoff = schema["decision"]["cutoff"]
    scale = 100 * (0.75 - 1 / (1 + math.exp(-base))) / (canned.logit(0.75) - base)  # points per log-odds unit
    total_charge = round(encoded(schema, CHURNER)[0][column(schema, "Total Charge")], 2)
    assert body == {
        "predictions": [
            {
                "churn_probability": 0.75,
                "will_churn": cutoff <= 0.75,
                "reasons": {
                    "for": [
                        {"field": "CustServ Calls", "value": 4, "points": round(1.2 * scale, 1)},
                        {"field": "Int'l Plan", "value": "yes", "points": round(0.8 * scale, 1)},
                        {"field": "Total Charge", "value": total_charge, "points": round(0.6 * scale, 1)},
                    ],
                    "against": [
                        {"field": "Day Mins", "value": 305, "points": round(-0.4 * scale, 1)},
                        {"field": "State", "value": "NJ", "points": round(-0.2 * scale, 1)},
                    ],
                },
            }
        ],
        "cutoff": cutoff,
        "explanation": {
            "method": reasons.METHOD,
            "base_probability": round(1 / (1 + math.exp(-base)), 4),
            "points": "percentage points of churn probability",
        },
        "model": {"version": None, "approved_at": None},  # no MODEL_VERSION: not from the registry
    }
    assert headers["Access-Control-Allow-Origin"] == ORIGIN and headers["Vary"] == "Origin"
    (request,) = sent
    assert header(request, "Content-Type") == "text/csv" and header(request, "Accept") == EXPLAIN_TYPE
    assert request.url.endswith(f"/endpoints/{ENDPOINT}/invocations")
    assert request.body == format_csv(encoded(schema, CHURNER)).encode()


def test_json_list_and_cutoff_env(invoker, aws, monkeypatch, schema):
    monkeypatch.setenv("DECISION_CUTOFF", "0.5")
    seed(scores(schema, 0.5, 0.49999))
    sent = capture_requests(invoker)
    status, _, body = call(invoker, event([CHURNER, LOYAL]))
    assert status == 200
    assert body["cutoff"] == 0.5
    assert [{k: p[k] for k in ("churn_probability", "will_churn")} for p in body["predictions"]] == [
        {"churn_probability": 0.5, "will_churn": True},
        {"churn_probability": 0.49999, "will_churn": False},
    ]
    # each record's reasons are its own: the canned answers put everything on Account Length
    assert [p["reasons"]["for"][0]["value"] for p in body["predictions"]] == [140, 100]
    assert sent[0].body == format_csv(encoded(schema, CHURNER, LOYAL)).encode()


def _csv(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_csv_with_header_any_order_subset(invoker, aws, schema):
    seed(scores(schema, 0.2, 0.9))
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
    seed(scores(schema, 0.1), scores(schema, 0.001))
    sent = capture_requests(invoker)
    status, _, answer = call(invoker, event(_csv([[CHURNER[n] for n in names]]), "text/csv"))
    assert status == 200, answer
    status, _, answer = call(invoker, event(_csv([[LOYAL[n] for n in names] + ["False."]]), "text/csv"))
    assert status == 200, answer
    (prediction,) = answer["predictions"]
    assert (prediction["churn_probability"], prediction["will_churn"]) == (0.001, False)
    assert [r.body for r in sent] == [format_csv(encoded(schema, r)).encode() for r in (CHURNER, LOYAL)]


def test_csv_encoded_vector_like_the_lab_page(invoker, aws, schema):
    vectors = encoded(schema, CHURNER, LOYAL)
    seed(scores(schema, 0.99, 0.001))
    sent = capture_requests(invoker)
    status, _, answer = call(invoker, event(format_csv(vectors), "text/csv"))
    assert status == 200, answer
    assert [p["will_churn"] for p in answer["predictions"]] == [True, False]
    assert sent[0].body == format_csv(vectors).encode()


def test_every_input_mode_gets_the_same_reasons(invoker, aws, schema):
    """JSON, raw CSV with and without a header, and the lab's encoded vector: the same customer
    is the same endpoint request, and the reasons are folded from it (values included)."""
    seed(churner_answer(schema)[0])  # moto answers a request body it has seen with the same result
    names = list(schema["fields"])
    vector = encoded(schema, CHURNER)[0]
    bodies = {
        "json": (CHURNER, "application/json"),
        "csv with header": (_csv([names, [CHURNER[n] for n in names]]), "text/csv"),
        "csv without header": (_csv([[CHURNER[n] for n in names]]), "text/csv"),
        "encoded vector": (format_csv([vector]), "text/csv"),
    }
    answers = {}
    for mode, (body, content_type) in bodies.items():
        status, _, answer = call(invoker, event(body, content_type))
        assert status == 200, (mode, answer)
        answers[mode] = answer
    assert answers["json"]["predictions"][0]["reasons"]["for"][1] == {
        "field": "Int'l Plan",
        "value": "yes",
        "points": answers["json"]["predictions"][0]["reasons"]["for"][1]["points"],
    }
    assert all(answer == answers["json"] for answer in answers.values()), answers


def test_an_encoded_vector_without_a_category_set_has_no_value(invoker, aws, schema):
    """The lab's vector may leave a one-hot block empty: that field's reason says value null."""
    vector = encoded(schema, CHURNER)[0]
    for name in ("Int'l Plan_yes", "Int'l Plan_no"):
        vector[column(schema, name)] = 0.0
    seed(churner_answer(schema)[0])
    status, _, answer = call(invoker, event(format_csv([vector]), "text/csv"))
    assert status == 200, answer
    (plan,) = [r for r in answer["predictions"][0]["reasons"]["for"] if r["field"] == "Int'l Plan"]
    assert plan["value"] is None


def test_base64_body_and_rest_v1_event(invoker, aws, schema):
    seed(scores(schema, 0.4))
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
    seed(scores(schema, 0.001))
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


def test_no_cors_headers_without_allowed_origin(invoker, env, aws, monkeypatch, schema):
    """As deployed: CloudFront serves the page and /predict from one origin, so Terraform sets no
    ALLOWED_ORIGIN and no answer carries a CORS header (nor Vary: Origin), whatever the Origin."""
    monkeypatch.delenv("ALLOWED_ORIGIN")
    seed(scores(schema, 0.9))
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


def _rows(width, *edits):
    """Two good rows (for CHURNER and LOYAL) with ``edits``: (row index, key, new value)."""
    rows = [canned.row(0.8, width), canned.row(0.1, width)]
    for index, key, value in edits:
        rows[index][key] = value
    return rows


def _near(score: float, width: int, key: str, value) -> str:
    """A row consistent with ``score``, then ``key`` set to ``value``: each of these is within the
    invoker's bound of sigmoid(log_odds), so only the check the case names can refuse it."""
    rows = [canned.row(score, width, {0: 1.0}, rest=1), canned.row(0.1, width)]
    rows[0][key] = value
    return canned.body(*rows)


def _malformed(width: int) -> dict[str, str]:
    good = _rows(width)
    shifted = canned.row(0.1, width, base=canned.BASE + 0.01)
    contributions = canned.row(0.8, width, {0: 1.0}, rest=1)["contributions"]
    return {
        "not JSON": "body",
        "not UTF-8": "\xff{}",
        "the old text/csv answer": "0.8\n0.1\n",
        "a JSON number": "0.8",
        "a list, not an object": json.dumps(good),
        "no explanations": json.dumps({"predictions": [{"score": 0.8}, {"score": 0.1}]}),
        "explanations not a list": json.dumps({"explanations": {"0": good[0]}}),
        "one for two records": canned.body(good[0]),
        "three for two records": canned.body(*good, good[1]),
        "a row not an object": canned.body(good[0], 0.1),
        "score NaN": canned.body(*_rows(width, (1, "score", float("nan")))),
        "score Infinity": canned.body(*_rows(width, (0, "score", float("inf")))),
        "score a string": canned.body(*_rows(width, (0, "score", "0.8"))),
        "score true": _near(0.99996, width, "score", True),
        "score over 1": _near(0.99999, width, "score", 1.00001),
        "score below 0": _near(0.00001, width, "score", -0.00001),
        "a contribution true": _near(0.8, width, "contributions", [True, *contributions[1:]]),
        "no log_odds": canned.body(*_rows(width, (0, "log_odds", None))),
        "log_odds -Infinity": canned.body(*_rows(width, (0, "log_odds", float("-inf")))),
        "base NaN": canned.body(*_rows(width, (1, "base", float("nan")))),
        "contributions one short": canned.body(*_rows(width, (0, "contributions", good[0]["contributions"][:-1]))),
        "contributions one long": canned.body(*_rows(width, (1, "contributions", [*good[1]["contributions"], 0.0]))),
        "contributions not a list": canned.body(*_rows(width, (0, "contributions", 1.0))),
        "a contribution NaN": canned.body(
            *_rows(width, (0, "contributions", [float("nan"), *good[0]["contributions"][1:]]))
        ),
        "a contribution null": canned.body(*_rows(width, (1, "contributions", [*good[1]["contributions"][:-1], None]))),
        "contributions do not add up": canned.body(
            *_rows(width, (0, "contributions", [good[0]["contributions"][0] + 0.01, *good[0]["contributions"][1:]]))
        ),
        "score not sigmoid(log_odds)": canned.body(*_rows(width, (0, "score", 0.801))),
        "two base values": canned.body(good[0], shifted),
    }


MALFORMED = list(_malformed(width=2))  # the names: each test makes its body at the schema's width


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_endpoint_answer_is_502(invoker, aws, schema, case, caplog):
    seed(_malformed(len(schema["columns"]))[case])
    with caplog.at_level(logging.INFO, logger="invoker"):
        status, _, answer = call(invoker, event([CHURNER, LOYAL]))
    assert status == 502 and answer == {"error": "the model endpoint returned an unexpected response"}
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "invoker"]
    assert line["outcome"] == "bad_model_response" and line["detail"]


def test_the_two_good_rows_of_the_malformed_cases_are_accepted(invoker, aws, schema):
    """The 502s above come from each case's one fault: the rows they start from score."""
    width = len(schema["columns"])
    seed(canned.body(*_rows(width)), _near(0.99996, width, "score", 0.99996))
    status, _, answer = call(invoker, event([CHURNER, LOYAL]))
    assert status == 200 and [p["churn_probability"] for p in answer["predictions"]] == [0.8, 0.1]
    status, _, answer = call(invoker, event([LOYAL, CHURNER]))  # another request: the next canned answer
    assert status == 200 and [p["churn_probability"] for p in answer["predictions"]] == [0.99996, 0.1]


def test_unexpected_exception_is_500_without_trace(invoker, env, monkeypatch):
    monkeypatch.setattr(invoker, "_invoke", lambda cfg, vectors: 1 / 0)
    status, _, answer = call(invoker, event(CHURNER))
    assert status == 500 and answer == {"error": "internal error"}


# -- logs -----------------------------------------------------------------------------------
def test_logs_are_json_lines_without_customer_values(invoker, aws, schema, caplog):
    width = len(schema["columns"])
    # the marked fields are the reasons: their values reach the answer, and must not reach the log
    pushes = {column(schema, "Day Mins"): 2.0, column(schema, "State_WY"): -1.0}
    explained = canned.row(0.7312345678, width, pushes)
    seed(canned.body(explained, canned.row(0.2412345678, width)), canned.body(explained))
    secret = {**CHURNER, "Phone": "555-0199", "Day Mins": 1234.56, "State": "WY"}
    with caplog.at_level(logging.INFO, logger="invoker"):
        answers = [
            call(invoker, event([secret, LOYAL]))[2],
            call(invoker, event({**secret, "State": "QQ"}))[2],
            call(invoker, event({**secret, "Ssn 123-45-6789": 1}))[2],
            call(invoker, event(_csv([list(secret), list(secret.values())]), "text/csv"))[2],
        ]
    lines = [r.getMessage() for r in caplog.records if r.name == "invoker"]
    assert len(lines) == 4
    entries = [json.loads(line) for line in lines]
    assert entries[0]["status"] == 200 and entries[0]["records"] == 2 and entries[0]["request_id"] == "req-123"
    assert isinstance(entries[0]["latency_ms"], float) and entries[0]["outcome"] == "ok"
    assert entries[1]["status"] == 400 and entries[1]["error_field"] == "State"
    assert entries[2]["error_field"] == "(unknown)"
    assert entries[3]["status"] == 200
    for answer in (answers[0], answers[3]):
        told = answer["predictions"][0]["reasons"]
        assert told["for"][0]["field"] == "Day Mins" and told["for"][0]["value"] == 1234.56
        assert told["against"][0] == {"field": "State", "value": "WY", "points": told["against"][0]["points"]}
    for value in ("555-0199", "1234.56", "WY", "QQ", "123-45-6789", "12345678", "reasons", "points"):
        assert value not in caplog.text
