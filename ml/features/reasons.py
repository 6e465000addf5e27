"""Why a score: the model's SHAP values folded back to the customer's own fields, in probability points.

Standard library only: the invoker Lambda ships this file beside ``encoder.py``; ``ml score
--explain`` folds whole matrices with ``fold_matrix`` and ``points_scale`` (numpy there, a parity
test holds the two together).

The inference script answers, per row, XGBoost's exact TreeSHAP values (``pred_contribs``) in
log-odds: one per model column and a base value, summing to the score's log-odds. Here:

- **Fields, not columns.** The one-hot columns of a categorical field are summed (SHAP values
  are additive, so the sum is that field's effect); a numeric field is its own column.
- **Derived totals stay reasons of their own** ("Total Charge", the monthly bill, and the
  minute and call totals). Their SHAP value is what the model made of the total; splitting it
  back over the minutes it sums would invent an attribution the model never computed, and a
  bill is something a retention team can act on.
- **Probability points.** Log-odds do not add up in probability, so each field's log-odds
  effect is scaled by one factor per customer, ``(score - base probability) / (log-odds - base
  log-odds)``: the points keep their signs and order and sum exactly to the score's distance
  from the base rate. ``METHOD`` says so in every answer. The log-odds span in that factor is
  the contributions' own total, not the answer's ``log_odds``: the two differ by float32
  rounding (~1e-6 log-odds), which left the points' sum up to 1e-5 points off the promise;
  on the test bundle's 1,500 customers the choice moves no field by more than 0.005 points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TOP = 3  # reasons for, and against, churn in an answer
METHOD = (
    "XGBoost TreeSHAP (pred_contribs) in log-odds; one-hot columns summed per field, derived totals "
    "kept as their own reasons; log-odds scaled to probability points by (score - base probability) "
    "/ (log-odds - base log-odds), so the points of all fields sum to the score minus the base probability"
)


@dataclass(frozen=True)
class Field:
    """A reason's subject: a customer field (or a derived total) and the model columns it spans."""

    name: str
    columns: tuple[int, ...]
    kind: str  # "number", "category" or "derived"
    values: tuple[str, ...] = ()  # a category's value per column, in ``columns`` order


def fields(schema: Mapping[str, Any]) -> list[Field]:
    """The fields of a feature schema, in the order their first column appears."""
    derived = {d["name"] for d in schema.get("derived", ())}
    spans: dict[str, list[int]] = {}
    values: dict[str, list[str]] = {}
    for index, column in enumerate(schema["columns"]):
        spans.setdefault(column["source"], []).append(index)
        if "equals" in column:
            values.setdefault(column["source"], []).append(str(column["equals"]))
    out = []
    for name, columns in spans.items():
        kind = "derived" if name in derived else "category" if name in values else "number"
        out.append(Field(name, tuple(columns), kind, tuple(values.get(name, ()))))
    return out


def fold_matrix(schema: Mapping[str, Any]) -> list[list[float]]:
    """columns x fields, 1 where a column belongs to a field: contributions @ this = per field."""
    spans = fields(schema)
    out = [[0.0] * len(spans) for _ in schema["columns"]]
    for j, field in enumerate(spans):
        for i in field.columns:
            out[i][j] = 1.0
    return out


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def points_scale(score: float, log_odds: float, base: float) -> float:
    """Probability points per unit of log-odds for one customer (see the module's docstring):
    pass ``base`` + the contributions' total as ``log_odds``, as ``field_points`` does.

    When the log-odds are (almost) the base value the ratio is 0/0: its limit, the slope of the
    logistic curve there, p(1 - p)."""
    span = log_odds - base
    if abs(span) < 1e-6:
        return 100.0 * score * (1.0 - score)
    return 100.0 * (score - sigmoid(base)) / span


def value_of(field: Field, vector: Sequence[float]) -> Any:
    """The customer's value of a field, read from the encoded row: a category's name (None when
    no column is set: a missing value), a number as a whole number where it is one."""
    if field.kind == "category":
        for column, value in zip(field.columns, field.values, strict=True):
            if vector[column] == 1.0:
                return value
        return None
    number = float(vector[field.columns[0]])
    if math.isnan(number):
        return None
    return int(number) if number.is_integer() else round(number, 2)


def field_points(spans: Sequence[Field], explanation: Mapping[str, Any]) -> list[float]:
    """Every field's effect in probability points, unrounded, in ``spans`` order; they sum to
    ``100 * (score - sigmoid(base))``.

    ``explanation`` is one row of the inference script's answer: ``score``, ``log_odds``,
    ``base`` and ``contributions`` (one per model column)."""
    contributions = explanation["contributions"]
    base = float(explanation["base"])
    total = math.fsum(contributions)  # the contributions' own log-odds span (module docstring)
    scale = points_scale(float(explanation["score"]), base + total, base)
    return [scale * math.fsum(contributions[i] for i in field.columns) for field in spans]


def reasons(
    spans: Sequence[Field], vector: Sequence[float], explanation: Mapping[str, Any], top: int = TOP
) -> dict[str, list[dict[str, Any]]]:
    """The top reasons for and against churn of one customer, strongest first (ties: schema order);
    a field whose effect rounds to 0.0 points is no reason."""
    effects = [
        (points, field)
        for points, field in zip(field_points(spans, explanation), spans, strict=True)
        if round(points, 1) != 0.0
    ]
    effects.sort(key=lambda item: -abs(item[0]))

    def reason(points: float, field: Field) -> dict[str, Any]:
        return {"field": field.name, "value": value_of(field, vector), "points": round(points, 1)}

    return {
        "for": [reason(p, f) for p, f in effects if p > 0][:top],
        "against": [reason(p, f) for p, f in effects if p < 0][:top],
    }


def csv_columns(top: int = TOP) -> list[str]:
    """The reason columns of an explained CSV (``ml score --explain``, Batch Transform, the page's
    download): per rank, the field, the customer's value and the points, for churn then against."""
    return [
        f"reason_{side}_{rank}{part}"
        for side in ("for", "against")
        for rank in range(1, top + 1)
        for part in ("", "_value", "_points")
    ]


def csv_cells(found: Mapping[str, Sequence[Mapping[str, Any]]], top: int = TOP) -> list[Any]:
    """``reasons``' answer as the cells of ``csv_columns`` (empty where there are fewer reasons)."""
    cells: list[Any] = []
    for side in ("for", "against"):
        listed = list(found[side])
        for rank in range(top):
            if rank < len(listed):
                item = listed[rank]
                cells += [item["field"], "" if item["value"] is None else item["value"], item["points"]]
            else:
                cells += ["", "", ""]
    return cells
