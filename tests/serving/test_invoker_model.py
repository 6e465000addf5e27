"""Which model answered: MODEL_VERSION and MODEL_APPROVED_AT (the registry's version, set by
Terraform) become the ``model`` field of every 200; a malformed value is a configuration error."""

from __future__ import annotations

import json
import logging
import re

import pytest
from moto import mock_aws

from . import canned
from .conftest import CHURNER, LOYAL

APPROVED_AT = "2026-12-06T21:04:05Z"
REGISTERED = {"version": "3", "approved_at": APPROVED_AT}
UNREGISTERED = {"version": None, "approved_at": None}


@pytest.fixture
def aws(monkeypatch, serving_bundle, invoker):
    for name, value in {
        "ENDPOINT_NAME": "churn-endpoint",
        "FEATURE_SCHEMA_PATH": str(serving_bundle / "feature_schema.json"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    unset = ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN")
    for name in (*unset, "MODEL_VERSION", "MODEL_APPROVED_AT"):
        monkeypatch.delenv(name, raising=False)
    invoker._client_cache.clear()
    invoker._settings_cache.clear()
    with mock_aws():
        yield
    invoker._client_cache.clear()
    invoker._settings_cache.clear()


def call(invoker, body, content_type="application/json"):
    event = {
        "version": "2.0",
        "rawPath": "/predict",
        "headers": {"content-type": content_type},
        "requestContext": {"http": {"method": "POST", "path": "/predict"}, "requestId": "req-1"},
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }
    response = invoker.handler(event, None)
    return response["statusCode"], json.loads(response["body"])


def answer(schema, *values):
    canned.seed(canned.scores(len(schema["columns"]), *values))


def test_a_registered_model_is_named_in_every_answer(invoker, aws, monkeypatch, schema):
    """One record, a list and a CSV batch: each 200 carries the version and its approval time."""
    monkeypatch.setenv("MODEL_VERSION", "3")
    monkeypatch.setenv("MODEL_APPROVED_AT", APPROVED_AT)
    answer(schema, 0.7)
    status, body = call(invoker, CHURNER)
    assert status == 200 and body["model"] == REGISTERED
    assert list(body) == ["predictions", "cutoff", "explanation", "model"]

    answer(schema, 0.7, 0.2)
    status, body = call(invoker, [CHURNER, LOYAL])
    assert status == 200 and len(body["predictions"]) == 2 and body["model"] == REGISTERED

    header = ",".join(CHURNER)
    rows = "\n".join(",".join(str(v) for v in r.values()) for r in (LOYAL, CHURNER))
    answer(schema, 0.21, 0.71)
    status, body = call(invoker, f"{header}\n{rows}\n", "text/csv")
    assert status == 200 and len(body["predictions"]) == 2 and body["model"] == REGISTERED


@pytest.mark.parametrize("unset", ["absent", "empty"])
def test_an_unregistered_model_answers_null(invoker, aws, monkeypatch, schema, unset):
    """Terraform leaves both out for a model not from the registry; empty strings mean the same."""
    if unset == "empty":
        monkeypatch.setenv("MODEL_VERSION", "")
        monkeypatch.setenv("MODEL_APPROVED_AT", "")
    answer(schema, 0.4)
    status, body = call(invoker, CHURNER)
    assert status == 200 and body["model"] == UNREGISTERED


def test_an_error_answer_carries_no_model(invoker, aws, monkeypatch):
    monkeypatch.setenv("MODEL_VERSION", "3")
    monkeypatch.setenv("MODEL_APPROVED_AT", APPROVED_AT)
    status, body = call(invoker, {**CHURNER, "Day Mins": "lots"})
    assert status == 400 and set(body) == {"error"}


@pytest.mark.parametrize(
    ("version", "approved_at", "named"),
    [
        ("0", APPROVED_AT, "MODEL_VERSION"),  # versions count from 1
        ("03", APPROVED_AT, "MODEL_VERSION"),
        ("v3", APPROVED_AT, "MODEL_VERSION"),
        ("3.0", APPROVED_AT, "MODEL_VERSION"),
        (" 3", APPROVED_AT, "MODEL_VERSION"),
        ("12345678901", APPROVED_AT, "MODEL_VERSION"),  # over ten digits
        ("3", "2026-12-06", "MODEL_APPROVED_AT"),
        ("3", "2026-12-06T21:04:05+01:00", "MODEL_APPROVED_AT"),  # UTC only
        ("3", "2026-12-06 21:04:05Z", "MODEL_APPROVED_AT"),
        ("3", "2026-12-06T21:04:05.123Z", "MODEL_APPROVED_AT"),
        ("3", "2026-02-30T21:04:05Z", "MODEL_APPROVED_AT"),  # the shape, not a date
        ("3", "2026-12-06T24:00:00Z", "MODEL_APPROVED_AT"),
        ("3", APPROVED_AT + "\n", "MODEL_APPROVED_AT"),
        ("3", "", "set together"),
        ("", APPROVED_AT, "set together"),
    ],
)
def test_a_malformed_value_is_a_configuration_error(invoker, aws, monkeypatch, caplog, version, approved_at, named):
    """As with any bad configuration: settings() refuses it at cold start, every request answers
    500 without details, and the log line says which variable is wrong."""
    monkeypatch.setenv("MODEL_VERSION", version)
    monkeypatch.setenv("MODEL_APPROVED_AT", approved_at)
    with pytest.raises(ValueError, match=named):
        invoker.settings()
    with caplog.at_level(logging.INFO, logger="invoker"):
        status, body = call(invoker, CHURNER)
    assert status == 500 and body == {"error": "the service is misconfigured"}
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name == "invoker"]
    assert line["outcome"] == "config_error" and named in line["config_error"]


def test_one_shape_in_the_handler_terraform_and_the_openapi_document(invoker):
    """terraform/variables.tf validates the variables with the handler's patterns, the invoker
    module passes them on under the names the handler reads, and docs/openapi.json documents them."""
    from tests.terraform.tf_helpers import TF_DIR

    from .conftest import ROOT

    text = (TF_DIR / "variables.tf").read_text(encoding="utf-8")
    for pattern, variable in (
        (invoker.MODEL_VERSION_PATTERN, "model_version"),
        (invoker.MODEL_APPROVED_AT_PATTERN, "model_approved_at"),
    ):
        assert f'regex("{pattern}", var.{variable})' in text, variable
    wiring = (TF_DIR / "modules" / "invoker" / "main.tf").read_text(encoding="utf-8")
    for env_name, variable in (("MODEL_VERSION", "model_version"), ("MODEL_APPROVED_AT", "model_approved_at")):
        assert re.search(rf"{env_name}\s*=\s*var\.{variable}\b", wiring), env_name

    schemas = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))["components"]["schemas"]
    assert "model" in schemas["Predictions"]["required"]
    assert schemas["Predictions"]["properties"]["model"] == {"$ref": "#/components/schemas/Model"}
    model = schemas["Model"]
    assert model["required"] == list(REGISTERED) and model["additionalProperties"] is False
    assert model["properties"]["version"]["pattern"] == invoker.MODEL_VERSION_PATTERN
    assert model["properties"]["approved_at"]["pattern"] == invoker.MODEL_APPROVED_AT_PATTERN
    assert all(prop["nullable"] for prop in model["properties"].values())
