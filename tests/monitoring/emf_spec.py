"""A checker of CloudWatch Embedded Metric Format documents, written from the published spec.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
(root node, metadata object, MetricDirective, DimensionSet, MetricDefinition, target members)
and the limits of CloudWatch's Dimension / MetricDatum types it refers to.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_EVENT_BYTES = 1024 * 1024  # "limited to a maximum size of 1 MB" (a CloudWatch Logs event)
MAX_METRICS_PER_DIRECTIVE = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_VALUES_PER_TARGET = 100
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


class EmfError(AssertionError):
    pass


def _name(value: Any, what: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise EmfError(f"{what} must be a string of 1-255 characters, got {value!r}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_line(line: str) -> dict[str, Any]:
    """The log message must be one JSON object, nothing before or after it."""
    if len(line.encode("utf-8")) > MAX_EVENT_BYTES:
        raise EmfError("document larger than a log event may be")
    try:
        doc = json.loads(line)
    except ValueError as err:
        raise EmfError(f"not a JSON document: {err}") from None
    check(doc)
    return doc


def check(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise EmfError("the root node must be a JSON object")
    meta = doc.get("_aws")
    if not isinstance(meta, dict):
        raise EmfError("the root node must hold the _aws metadata object")
    stamp = meta.get("Timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        raise EmfError(f"_aws.Timestamp must be an integer of milliseconds since the epoch, got {stamp!r}")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        raise EmfError("_aws.CloudWatchMetrics must be a non-empty array of MetricDirective objects")
    for directive in directives:
        _directive(doc, directive)


def _directive(doc: dict[str, Any], directive: Any) -> None:
    if not isinstance(directive, dict) or set(directive) != {"Namespace", "Dimensions", "Metrics"}:
        raise EmfError(f"a MetricDirective holds exactly Namespace, Dimensions, Metrics: {directive!r}")
    _name(directive["Namespace"], "Namespace")
    if directive["Namespace"].startswith(":"):
        raise EmfError("a namespace must not start with ':'")
    sets = directive["Dimensions"]
    if not isinstance(sets, list) or not sets:
        raise EmfError("Dimensions must be a non-empty array of DimensionSets")
    for dimension_set in sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSIONS_PER_SET:
            raise EmfError(f"a DimensionSet is an array of at most {MAX_DIMENSIONS_PER_SET} keys")
        for key in dimension_set:
            _name(key, "a dimension key")
            value = doc.get(key)
            if not isinstance(value, str) or not value.strip() or not value.isascii() or len(value) > 1024:
                raise EmfError(f"dimension target {key!r} must be a non-blank ASCII string of <= 1024 chars")
    metrics = directive["Metrics"]
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= MAX_METRICS_PER_DIRECTIVE:
        raise EmfError(f"Metrics must hold 1-{MAX_METRICS_PER_DIRECTIVE} MetricDefinitions")
    for definition in metrics:
        if not isinstance(definition, dict) or "Name" not in definition:
            raise EmfError(f"a MetricDefinition needs a Name: {definition!r}")
        if set(definition) - {"Name", "Unit", "StorageResolution"}:
            raise EmfError(
                f"unknown MetricDefinition members: {sorted(set(definition) - {'Name', 'Unit', 'StorageResolution'})}"
            )
        _name(definition["Name"], "a metric name")
        if "Unit" in definition and definition["Unit"] not in UNITS:
            raise EmfError(f"unit {definition['Unit']!r} is not a CloudWatch unit")
        if "StorageResolution" in definition and definition["StorageResolution"] not in (1, 60):
            raise EmfError("StorageResolution must be 1 (high) or 60 (standard)")
        target = doc.get(definition["Name"])
        values = target if isinstance(target, list) else [target]
        if not values or len(values) > MAX_VALUES_PER_TARGET or not all(_number(v) for v in values):
            raise EmfError(f"metric target {definition['Name']!r} must be a number or an array of <= 100 numbers")
