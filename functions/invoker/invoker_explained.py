"""The endpoint's explained answer, checked, and the API's predictions with their reasons.

Standard library only (it ships in the Lambda zip). The handler asks the endpoint for
``EXPLAIN_TYPE``; the inference script (``ml/serving/inference.py``) answers one line of JSON,
``{"explanations": [{"score", "log_odds", "base", "contributions"}, ...]}``, one object per
record in order. ``parse`` accepts exactly that or raises ``BadAnswer``; ``predictions`` and
``explanation`` build the response from it with ``ml/features/reasons.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ml.features import reasons

# The inference script's media type; it cannot import this module (nor this one it: numpy),
# so tests/serving/test_invoker_explained.py holds the two spellings equal.
EXPLAIN_TYPE = "application/vnd.churn.explain+json"
POINTS = "percentage points of churn probability"
BASE_DECIMALS = 4
# Consistency bounds, far above float32 rounding (measured: sums within 6e-7 log-odds, scores
# within 2e-7 of sigmoid(log_odds)) and far below any error that would mislabel a reason.
ADDITIVITY = 1e-3  # |base + sum(contributions) - log_odds|, log-odds
LINK = 1e-4  # |sigmoid(log_odds) - score|
SAME_BASE = 1e-6  # one model, one base value: rows may not differ by more (log-odds)


class BadAnswer(ValueError):
    """The endpoint's answer is not one well-formed explanation per record; the message says
    what is wrong (never a value: a score is customer data)."""


@dataclass(frozen=True)
class Explained:
    """One record's explanation: its score, log-odds, base value and one contribution per column."""

    score: float
    log_odds: float
    base: float
    contributions: tuple[float, ...]

    def as_mapping(self) -> dict[str, Any]:
        """The shape ``reasons.reasons`` reads."""
        return {"score": self.score, "log_odds": self.log_odds, "base": self.base, "contributions": self.contributions}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadAnswer(f"{what} is not a finite number")
    return float(value)


def _row(item: Any, index: int, width: int) -> Explained:
    if not isinstance(item, dict):
        raise BadAnswer(f"explanation {index} is not an object")
    score = _number(item.get("score"), f"explanation {index}: score")
    if not 0.0 <= score <= 1.0:
        raise BadAnswer(f"explanation {index}: score outside [0, 1]")
    log_odds = _number(item.get("log_odds"), f"explanation {index}: log_odds")
    base = _number(item.get("base"), f"explanation {index}: base")
    raw = item.get("contributions")
    if not isinstance(raw, list) or len(raw) != width:
        raise BadAnswer(f"explanation {index}: contributions is not a list of {width} numbers")
    contributions = tuple(_number(c, f"explanation {index}: a contribution") for c in raw)
    if abs(base + math.fsum(contributions) - log_odds) > ADDITIVITY:
        raise BadAnswer(f"explanation {index}: base + contributions is not log_odds")
    if abs(reasons.sigmoid(log_odds) - score) > LINK:
        raise BadAnswer(f"explanation {index}: score is not sigmoid(log_odds)")
    return Explained(score, log_odds, base, contributions)


def parse(raw: bytes, records: int, width: int) -> list[Explained]:
    """The endpoint's answer for ``records`` rows of a model ``width`` columns wide, or ``BadAnswer``."""
    try:
        data = json.loads(raw)  # NaN and Infinity parse as floats: _number refuses them
    except (ValueError, RecursionError):  # ValueError: not JSON, or not UTF-8/16/32 text
        raise BadAnswer("not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("explanations"), list):
        raise BadAnswer("no explanations list")
    items = data["explanations"]
    if len(items) != records:
        raise BadAnswer(f"{len(items)} explanations for {records} records")
    rows = [_row(item, i, width) for i, item in enumerate(items)]
    if any(abs(row.base - rows[0].base) > SAME_BASE for row in rows):
        raise BadAnswer("the explanations' base values differ")
    return rows


def predictions(
    rows: Sequence[Explained], vectors: Sequence[Sequence[float]], spans: Sequence[reasons.Field], cutoff: float
) -> list[dict[str, Any]]:
    """One prediction per record: probability, decision at ``cutoff``, top reasons for and against."""
    return [
        {
            "churn_probability": row.score,
            "will_churn": row.score >= cutoff,
            "reasons": reasons.reasons(spans, vector, row.as_mapping()),
        }
        for row, vector in zip(rows, vectors, strict=True)
    ]


def explanation(rows: Sequence[Explained]) -> dict[str, Any]:
    """What every reason's points mean, once per answer (``parse`` checked that the base is shared)."""
    return {
        "method": reasons.METHOD,
        "base_probability": round(reasons.sigmoid(rows[0].base), BASE_DECIMALS),
        "points": POINTS,
    }
