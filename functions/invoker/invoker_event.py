"""The Lambda's event checked for JSON types before anything reads it (standard library only).

API Gateway sends HTTP API payload 2.0 (``rawPath``, ``requestContext.http``) or payload 1.0
(``path``, ``httpMethod``: REST APIs, HTTP APIs set to 1.0). A known field of the wrong type
(a list where a string goes, a number as the headers, ``"true"`` as ``isBase64Encoded``) makes
``check_event`` raise ``EventError`` naming the field and the types, never the value: the
handler answers 400 and logs the field's name only. Fields not listed are ignored (AWS adds
some now and then).

``null``: the fields the handler reads (the method, the path, the request id, the flag) must
hold their type; the body and the headers may be null (payload 1.0 sends null for "none").
A field nothing reads may be null too: AWS's own payload 1.0 example has ``resourceId: null``,
and null there is no different from absent. The authorizer, authentication and identity
objects are the authorizer's own: only their own type is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class EventError(Exception):
    """A field of the event has the wrong JSON type; ``field`` is its dotted name."""

    def __init__(self, name: str, expected: str, got: str):
        super().__init__(f"malformed event: '{name}' must be {expected}, not {got}")
        self.field = name


@dataclass(frozen=True)
class Shape:
    """What one field holds: a JSON ``kind``, with named ``fields`` or every ``item`` of one shape."""

    kind: str  # "string", "number", "boolean", "object", "array"
    nullable: bool = False
    fields: Mapping[str, Shape] = field(default_factory=dict)
    item: Shape | None = None


STRING, NUMBER, BOOLEAN = Shape("string"), Shape("number"), Shape("boolean")
# Not read here: null is as good as absent.
TEXT, EPOCH = Shape("string", nullable=True), Shape("number", nullable=True)
STRINGS = Shape("object", nullable=True, item=STRING)  # headers, query and path parameters
STRING_LISTS = Shape("object", nullable=True, item=Shape("array", item=STRING))  # payload 1.0 multiValue*
OPAQUE = Shape("object", nullable=True)  # contents unchecked

HTTP = Shape(
    "object", fields={"method": STRING, "path": STRING, **dict.fromkeys(("protocol", "sourceIp", "userAgent"), TEXT)}
)
REQUEST_CONTEXT = Shape(
    "object",
    fields={
        "requestId": STRING,
        "http": HTTP,
        **dict.fromkeys(("accountId", "apiId", "domainName", "domainPrefix", "routeKey", "stage", "time"), TEXT),
        **dict.fromkeys(("httpMethod", "path", "protocol", "extendedRequestId", "requestTime"), TEXT),  # payload 1.0
        **dict.fromkeys(("resourceId", "resourcePath"), TEXT),
        **dict.fromkeys(("timeEpoch", "requestTimeEpoch"), EPOCH),
        **dict.fromkeys(("authentication", "authorizer", "identity"), OPAQUE),
    },
)
EVENT = Shape(
    "object",
    fields={
        **dict.fromkeys(("rawPath", "path", "httpMethod"), STRING),  # path and httpMethod: payload 1.0
        "requestContext": REQUEST_CONTEXT,
        "headers": STRINGS,
        "body": Shape("string", nullable=True),
        "isBase64Encoded": BOOLEAN,
        **dict.fromkeys(("version", "routeKey", "rawQueryString", "resource"), TEXT),
        "cookies": Shape("array", nullable=True, item=STRING),
        **dict.fromkeys(("queryStringParameters", "pathParameters", "stageVariables"), STRINGS),
        **dict.fromkeys(("multiValueHeaders", "multiValueQueryStringParameters"), STRING_LISTS),
    },
)

_NAMES = {
    "string": "a string",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: True is an int to Python
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _expected(shape: Shape) -> str:
    text = _NAMES[shape.kind]
    if shape.item is not None:
        text += f" of {shape.item.kind}s"
    return text + (" or null" if shape.nullable else "")


def check_event(event: Any) -> None:
    """Raise ``EventError`` for the first known field whose JSON type is wrong."""
    _check(event, EVENT, "event")


def _check(value: Any, shape: Shape, name: str) -> None:
    got = _kind(value)
    if got == "null" and shape.nullable:
        return
    if got != shape.kind:
        raise EventError(name, _expected(shape), _NAMES.get(got, got))
    if got == "object":
        if any(not isinstance(key, str) for key in value):
            raise EventError(name, "an object with text keys", "another object")
        for key, inner in shape.fields.items():
            if key in value:
                _check(value[key], inner, key if name == "event" else f"{name}.{key}")
    items = value.values() if got == "object" else value if got == "array" else ()
    if shape.item is not None:
        for item in items:  # named by the field, not by a key or value the caller chose
            _check(item, shape.item, f"{name}[…]")
