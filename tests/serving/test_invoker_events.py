"""The invoker Lambda given events whose fields have the wrong JSON type: a 400 naming the field,
never a raise or a 5xx, and never the field's value in the log line.

Every field of a valid HTTP API payload 2.0 event (the example of AWS's "Working with AWS Lambda
proxy integrations for HTTP APIs", routed to POST /predict) is replaced in turn by a value of
each other JSON type; headers, cookies and query parameters value by value.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from . import canned
from .conftest import CHURNER

MARK = "MARKq4z"  # in every substituted value: it must not reach the log
WRONG: dict[str, Any] = {
    "string": f"{MARK}-text",
    "number": 271828.5,
    "boolean": True,
    "array": [f"{MARK}-item"],
    "object": {f"{MARK}-key": f"{MARK}-value"},
    "null": None,
}
# Fields whose value is a map or list of the caller's own names: an error names the field, not the key.
COLLECTIONS = {"headers", "queryStringParameters", "pathParameters", "stageVariables", "cookies"}
# Fields whose contents the handler never reads (an authorizer's own claims): only their own type counts.
OPAQUE = {"authentication", "authorizer"}
# The fields the handler reads and that may not be null (the body and the headers may: payload 1.0
# sends null for "none"). A field nothing reads may be null, as absent (AWS's 1.0 example has some).
READ = {
    ("rawPath",),
    ("requestContext",),
    ("requestContext", "http"),
    ("requestContext", "http", "method"),
    ("requestContext", "http", "path"),
    ("requestContext", "requestId"),
    ("isBase64Encoded",),
}


def null_is_none(path: tuple[Any, ...]) -> bool:
    return path not in READ and not (path[-2:-1] and path[-2] in COLLECTIONS)


def v2_event() -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /predict",
        "rawPath": "/predict",
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1", "cookie2"],
        "headers": {"content-type": "application/json", "header2": "value1,value2"},
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "authentication": {
                "clientCert": {
                    "clientCertPem": "CERT_CONTENT",
                    "subjectDN": "www.example.com",
                    "issuerDN": "Example issuer",
                    "serialNumber": "a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1",
                    "validity": {"notBefore": "May 28 12:30:02 2019 GMT", "notAfter": "Aug  5 09:36:04 2021 GMT"},
                }
            },
            "authorizer": {"jwt": {"claims": {"claim1": "value1"}, "scopes": ["scope1", "scope2"]}},
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {
                "method": "POST",
                "path": "/predict",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": "POST /predict",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "body": json.dumps(CHURNER),
        "pathParameters": {"parameter1": "value1"},
        "isBase64Encoded": False,
        "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"},
    }


def v1_event() -> dict[str, Any]:
    """A REST API (payload 1.0) event, AWS's example trimmed, with its nulls."""
    return {
        "version": "1.0",
        "resource": "/predict",
        "path": "/predict",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "id",
            "authorizer": {"claims": None, "scopes": None},
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "extendedRequestId": "request-id",
            "httpMethod": "POST",
            "identity": {"accessKey": None, "sourceIp": "192.0.2.1", "user": None},
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "requestId": "id=",
            "requestTime": "04/Mar/2020:19:15:17 +0000",
            "requestTimeEpoch": 1583349317135,
            "resourceId": None,
            "resourcePath": "/predict",
            "stage": "$default",
        },
        "pathParameters": None,
        "stageVariables": None,
        "body": json.dumps(CHURNER),
        "isBase64Encoded": False,
    }


def kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def fields(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) below ``value``: keys of objects, indices of arrays; not into OPAQUE ones."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*path, key), inner
        if key not in OPAQUE:
            yield from fields(inner, (*path, key))


def replaced(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(event)
    holder = out
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return out


def field_name(path: tuple[Any, ...]) -> str:
    """The name the error gives: dotted, a collection's items as ``name[…]``."""
    if path[-2:-1] and path[-2] in COLLECTIONS:
        return ".".join(map(str, path[:-1])) + "[…]"
    return ".".join(map(str, path))


@pytest.fixture
def call(invoker, serving_bundle, monkeypatch, caplog):
    """The handler with a stand-in endpoint: (status, answer, the one log line as JSON)."""
    monkeypatch.setenv("ENDPOINT_NAME", "churn-endpoint")
    monkeypatch.setenv("FEATURE_SCHEMA_PATH", str(serving_bundle / "feature_schema.json"))
    monkeypatch.delenv("ALLOWED_ORIGIN", raising=False)
    invoker._settings_cache.clear()
    width = invoker.settings().encoder.width
    row = invoker.explained.Explained(0.25, canned.logit(0.25), canned.logit(0.25), (0.0,) * width)
    monkeypatch.setattr(invoker, "_invoke", lambda cfg, vectors: [row] * len(vectors))

    def run(event: Any) -> tuple[int, dict[str, Any], dict[str, Any]]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="invoker"):
            answer = invoker.handler(event, None)
        lines = [r.getMessage() for r in caplog.records if r.name == "invoker"]
        assert len(lines) == 1, lines
        assert MARK not in lines[0] and "271828" not in lines[0], lines[0]
        assert answer["headers"]["Content-Type"] == "application/json"
        return answer["statusCode"], json.loads(answer["body"]), json.loads(lines[0])

    yield run
    invoker._settings_cache.clear()


def test_the_valid_events_are_scored(call):
    for event in (v2_event(), v1_event()):
        status, answer, _ = call(event)
        assert status == 200 and answer["predictions"][0]["churn_probability"] == 0.25, answer


V2_CASES = [
    (path, wrong)
    for path, value in fields(v2_event())
    for wrong in WRONG
    if wrong != kind(value) and not (wrong == "null" and null_is_none(path))
]


@pytest.mark.parametrize(("path", "wrong"), V2_CASES, ids=[f"{'.'.join(map(str, p))}={w}" for p, w in V2_CASES])
def test_a_field_of_the_wrong_type_is_a_400_naming_it(call, path, wrong):
    status, answer, log = call(replaced(v2_event(), path, WRONG[wrong]))
    assert status == 400, (status, answer)
    assert answer["error"].startswith(f"malformed event: '{field_name(path)}' must be "), answer
    assert MARK not in answer["error"]
    assert log["outcome"] == "bad_event" and log["event_field"] == field_name(path) and log["status"] == 400


def removed(event: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(event)
    holder = out
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return out


NULLABLE = [path for path, _ in fields(v2_event()) if null_is_none(path)]


@pytest.mark.parametrize("path", NULLABLE, ids=lambda p: ".".join(map(str, p)))
def test_null_where_nothing_needs_a_value_is_as_absent(call, path):
    assert call(replaced(v2_event(), path, None))[:2] == call(removed(v2_event(), path))[:2]


@pytest.mark.parametrize("path", [p for p, _ in fields(v2_event())], ids=lambda p: ".".join(map(str, p)))
def test_a_missing_field_is_never_a_5xx(call, path):
    status, answer, _ = call(removed(v2_event(), path))
    assert 200 <= status < 500 and (status == 200 or answer["error"]), (status, answer)


@pytest.mark.parametrize("event", [[v2_event()], "event", 7, None, True], ids=kind)
def test_an_event_that_is_not_an_object_is_a_400(call, event):
    status, answer, log = call(event)
    assert status == 400 and answer["error"].startswith("malformed event: 'event' must be an object"), answer
    assert log["event_field"] == "event"


V1_CASES = [
    (("httpMethod",), 7, "httpMethod"),
    (("multiValueHeaders",), [MARK], "multiValueHeaders"),
    (("multiValueHeaders", "Content-Type"), MARK, "multiValueHeaders[…]"),
    (("multiValueHeaders", "Content-Type", 0), 7, "multiValueHeaders[…][…]"),
    (("requestContext", "requestTimeEpoch"), MARK, "requestContext.requestTimeEpoch"),
    (("requestContext", "identity"), [MARK], "requestContext.identity"),
    (("queryStringParameters",), MARK, "queryStringParameters"),
]


@pytest.mark.parametrize(("path", "value", "name"), V1_CASES, ids=[".".join(map(str, c[0])) for c in V1_CASES])
def test_payload_1_fields_of_the_wrong_type_are_a_400(call, path, value, name):
    status, answer, log = call(replaced(v1_event(), path, value))
    assert status == 400 and answer["error"].startswith(f"malformed event: '{name}' must be "), answer
    assert log["event_field"] == name


def test_the_local_stacks_events_pass_the_check(invoker):
    """The local adapter builds payload 2.0 events for the same handler: none may be refused."""
    from ml.serving.stack_adapter import api_gateway_event

    scope = {
        "method": "POST",
        "path": "/predict",
        "headers": [(b"content-type", b"text/csv"), (b"host", b"127.0.0.1:8080"), (b"user-agent", b"curl")],
        "query_string": b"a=1",
        "client": ("127.0.0.1", 50000),
        "http_version": "1.1",
    }
    for body in (b"1,2\n", b"\xff\xfe"):  # text, and bytes sent base64-encoded
        invoker.check_event(api_gateway_event(scope, body))
