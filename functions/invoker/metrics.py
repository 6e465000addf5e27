"""The invoker's metrics: one CloudWatch Embedded Metric Format (EMF) document per request.

Standard library only (it ships in the Lambda zip). CloudWatch Logs turns each document into
metrics as it ingests the log line; on Lambda, a JSON document written to the function's log
(even after the runtime's timestamp/request-id prefix) is enough, no agent or API call.
Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

What a document may hold, on purpose: counts, latencies, the status class and a coarse
histogram of scores (how many records fell in each tenth of [0, 1]). Never a field value,
never a per-customer score: the histogram of a one-record request reveals only its decile.

This module is the one source of the metric layout: the handler emits it, the Terraform
monitoring module graphs and alarms on the same names (a test checks that they agree), and
``ml.monitoring.drift`` reads them back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

NAMESPACE = "Churn/Invoker"
FUNCTION_DIMENSION = "FunctionName"
ENDPOINT_DIMENSION = "EndpointName"
DIMENSIONS = (FUNCTION_DIMENSION, ENDPOINT_DIMENSION)

REQUESTS = "Requests"  # one per invocation, whatever its status
RECORDS = "Records"  # records scored and answered (200 responses only)
FLAGGED = "Flagged"  # of those, records at or above the decision cutoff
HANDLER_LATENCY = "HandlerLatency"  # whole handler, milliseconds
ENDPOINT_LATENCY = "EndpointLatency"  # the invoke_endpoint call, when one was made
STATUS_CLASSES = {2: "Status2xx", 4: "Status4xx", 5: "Status5xx"}
BINS = 10
SCORE_BINS = tuple(f"ScoreDecile{i}" for i in range(BINS))  # ScoreDecile{i}: scores in [i/10, (i+1)/10)

COUNTS = (REQUESTS, RECORDS, FLAGGED, *STATUS_CLASSES.values(), *SCORE_BINS)
LATENCIES = (HANDLER_LATENCY, ENDPOINT_LATENCY)
UNITS = {**dict.fromkeys(COUNTS, "Count"), **dict.fromkeys(LATENCIES, "Milliseconds")}
# 60 = standard resolution: the alarms evaluate whole minutes, and 1-second storage costs more.
STORAGE_RESOLUTION = 60
# A dimension value must hold a non-blank ASCII string; used when a name is not known.
UNKNOWN = "unknown"


def score_histogram(scores: Iterable[float]) -> list[int]:
    """Counts per tenth of [0, 1]; a score of exactly 1.0 belongs to the last bin."""
    counts = [0] * BINS
    for score in scores:
        counts[min(BINS - 1, max(0, math.floor(score * BINS)))] += 1
    return counts


def dimension_value(value: str | None) -> str:
    """An ASCII, non-blank value of at most 1024 characters (CloudWatch's Dimension rules)."""
    text = (value or "").strip().encode("ascii", "replace").decode("ascii")[:1024]
    return text or UNKNOWN


def document(
    *,
    function_name: str | None,
    endpoint_name: str | None,
    status: int,
    handler_ms: float,
    endpoint_ms: float | None = None,
    scores: Iterable[float] = (),
    cutoff: float | None = None,
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int,
) -> dict[str, Any]:
    """The EMF document of one request.

    ``scores`` are those of a 200 answer (empty otherwise); ``properties`` are extra root
    members for people reading the log (request id, outcome...): the caller vouches that
    they hold no customer data. Metric members win over a property of the same name.
    """
    scored = list(scores)
    values: dict[str, float] = {
        REQUESTS: 1,
        RECORDS: len(scored),
        FLAGGED: 0 if cutoff is None else sum(1 for s in scored if s >= cutoff),
        HANDLER_LATENCY: round(handler_ms, 3),
    }
    status_class = status // 100
    for klass, name in STATUS_CLASSES.items():
        values[name] = 1 if klass == status_class else 0
    values.update(zip(SCORE_BINS, score_histogram(scored), strict=True))
    if endpoint_ms is not None:
        values[ENDPOINT_LATENCY] = round(endpoint_ms, 3)
    directive = {
        "Namespace": NAMESPACE,
        "Dimensions": [list(DIMENSIONS)],
        "Metrics": [{"Name": name, "Unit": UNITS[name], "StorageResolution": STORAGE_RESOLUTION} for name in values],
    }
    return {
        **(properties or {}),
        "_aws": {"Timestamp": int(timestamp_ms), "CloudWatchMetrics": [directive]},
        FUNCTION_DIMENSION: dimension_value(function_name),
        ENDPOINT_DIMENSION: dimension_value(endpoint_name),
        **values,
    }
