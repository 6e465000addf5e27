"""Every AWS request a test makes, checked against the operation's full botocore input shape.

boto3's own parameter validation checks required members, types and minimum lengths only;
the service also enforces each member's ``pattern``, ``max`` and ``enum``, and moto enforces
almost none of them. So a request moto accepts can still be one AWS rejects with a
ValidationException. ``violations`` checks all of them and names the path of each problem, e.g.
``TrainingJobName: 'a_b' does not match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$``.

Patterns are matched against the whole value: the API references print them anchored, e.g.
``^(https|s3)://([^/]+)/?(.*)$`` for CheckpointConfig.S3Uri
(https://docs.aws.amazon.com/sagemaker/latest/dg/API_CheckpointConfig.html), while botocore's
models carry them unanchored. They are Java regular expressions: tests/java_regex.py reads them.

``RequestValidator.install(session)`` hooks botocore's ``before-parameter-build`` event (public
API: https://boto3.amazonaws.com/v1/documentation/api/latest/guide/events.html) on a session, so
every client created from it afterwards, the SageMaker SDK's included, is checked on every call.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StringShape, StructureShape

from tests.java_regex import compiled


def anchored(pattern: str) -> str:
    """How the API reference prints a pattern (and how AWS applies it): to the whole value."""
    return ("" if pattern.startswith("^") else "^") + pattern + ("" if pattern.endswith("$") else "$")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _length(shape: Shape, path: str, size: int, unit: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        return [f"{path}: {unit} {size} is under the minimum {low}"]
    if high is not None and size > high:
        return [f"{path}: {unit} {size} is over the maximum {high}"]
    return []


def _string(shape: StringShape, value: object, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected a string, got {_shown(value)}"]
    problems = _length(shape, path, len(value), "length")
    if shape.enum and value not in shape.enum:
        problems.append(f"{path}: {_shown(value)} is not one of {shape.enum}")
    pattern = shape.metadata.get("pattern")
    if pattern is not None and compiled(pattern).fullmatch(value) is None:
        problems.append(f"{path}: {_shown(value)} does not match {anchored(pattern)}")
    return problems


def _number(shape: Shape, value: object, path: str) -> list[str]:
    integral = shape.type_name in ("integer", "long")
    allowed: tuple[type, ...] = (int,) if integral else (int, float, decimal.Decimal)
    if isinstance(value, bool) or not isinstance(value, allowed):
        return [f"{path}: expected {'an integer' if integral else 'a number'}, got {_shown(value)}"]
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        return [f"{path}: {value} is under the minimum {low}"]
    if high is not None and value > high:
        return [f"{path}: {value} is over the maximum {high}"]
    return []


def _structure(shape: StructureShape, value: object, path: str) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"{path or 'request'}: expected a structure, got {_shown(value)}"]
    if shape.metadata.get("document"):
        return []  # free-form JSON
    prefix = f"{path}." if path else ""
    problems = [f"{prefix}{name}: unknown member" for name in value if name not in shape.members]
    problems += [f"{prefix}{name}: required member is missing" for name in shape.required_members if name not in value]
    if shape.metadata.get("union") and len(value) != 1:
        problems.append(f"{path or 'request'}: a union takes exactly one member, got {sorted(value)}")
    for name, member in value.items():
        if name in shape.members:
            problems += violations(shape.members[name], member, prefix + name)
    return problems


def violations(shape: Shape, value: object, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``shape``, one line each, led by the member's path."""
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        return _structure(shape, value, path)
    if isinstance(shape, ListShape):
        if not isinstance(value, list | tuple):
            return [f"{path}: expected a list, got {_shown(value)}"]
        problems = _length(shape, path, len(value), "list length")
        for index, item in enumerate(value):
            problems += violations(shape.member, item, f"{path}[{index}]")
        return problems
    if isinstance(shape, MapShape):
        if not isinstance(value, Mapping):
            return [f"{path}: expected a map, got {_shown(value)}"]
        problems = _length(shape, path, len(value), "map size")
        for key, item in value.items():
            problems += violations(shape.key, key, f"{path} key {_shown(key)}")
            problems += violations(shape.value, item, f"{path}[{_shown(key)}]")
        return problems
    if isinstance(shape, StringShape):
        return _string(shape, value, path)
    if kind in ("integer", "long", "float", "double"):
        return _number(shape, value, path)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {_shown(value)}"]
    if kind == "blob":
        if isinstance(value, bytes | bytearray | str):
            return _length(shape, path, len(value), "length")
        return [] if hasattr(value, "read") else [f"{path}: expected bytes or a file, got {_shown(value)}"]
    if kind == "timestamp":
        ok = isinstance(value, datetime.datetime | datetime.date | str | int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a timestamp, got {_shown(value)}"]
    raise ValueError(f"{path}: botocore shape type {kind!r} is not handled by this validator")


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def request_violations(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """``params`` (boto3 keyword arguments) checked against ``service``'s ``operation``."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return [f"{key}: unknown member ({operation} takes no input)" for key in params]
    return violations(shape, params)


class InvalidRequest(AssertionError):
    """A request the AWS service would reject; the message lists every violation with its path."""


@dataclass
class RequestValidator:
    """Checks each request of the sessions it is installed on; keeps what it saw for the tests."""

    checked: list[tuple[str, str]] = field(default_factory=list)  # (service, operation) per call
    failures: list[str] = field(default_factory=list)

    def install(self, session: boto3.Session) -> None:
        """Before any client of ``session`` exists: each client copies the session's hooks when created."""
        session.events.register_last("before-parameter-build", self._check, unique_id=f"shape-check-{id(self)}")

    def _check(self, params: Mapping[str, Any], model: OperationModel, **_: Any) -> None:
        service = model.service_model.service_name
        self.checked.append((service, model.name))
        shape = model.input_shape
        problems = violations(shape, params) if shape is not None else [f"{key}: unknown member" for key in params]
        if problems:
            message = f"{service} {model.name} would be rejected by AWS:\n  " + "\n  ".join(problems)
            self.failures.append(message)
            raise InvalidRequest(message)  # also kept in failures: the code under test may catch it

    def operations(self, service: str) -> set[str]:
        return {operation for svc, operation in self.checked if svc == service}
