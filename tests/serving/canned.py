"""Canned endpoint answers in the inference script's explain format, for moto's seeded bodies.

A row is self-consistent, as the invoker checks: ``base + sum(contributions) == log_odds`` and
``score == sigmoid(log_odds)``. ``pushes`` put chosen log-odds on chosen columns; what is left
of the distance from ``base`` to the score's log-odds goes to column ``rest``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import requests

from ml.serving.inference import EXPLAIN_TYPE

BASE = -1.5  # the canned model's base value (log-odds): a base probability of 0.1824
SEED_URL = "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results"


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def row(score: float, width: int, pushes: Mapping[int, float] | None = None, base: float = BASE, rest: int = 0) -> dict:
    contributions = [0.0] * width
    for column, value in (pushes or {}).items():
        contributions[column] = value
    contributions[rest] += logit(score) - base - math.fsum(contributions)
    return {"score": score, "log_odds": logit(score), "base": base, "contributions": contributions}


def body(*rows: Any) -> str:  # Any: the malformed cases put a non-object among the rows
    return json.dumps({"explanations": list(rows)}, separators=(",", ":")) + "\n"


def scores(width: int, *values: float) -> str:
    """An answer of these scores, each explained by column 0 alone."""
    return body(*(row(v, width) for v in values))


def seed(*bodies: str, content_type: str = EXPLAIN_TYPE) -> None:
    """Queue canned invoke_endpoint answers (moto's documented API); a request body moto has
    answered before gets the same answer again."""
    results = [
        {"Body": b, "ContentType": content_type, "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}
        for b in bodies
    ]
    requests.post(SEED_URL, json={"results": results}, timeout=5).raise_for_status()
