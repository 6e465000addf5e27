"""The feature schema (what ``feature_schema.json`` holds) and the vectorised training encoder.

``build_schema`` is the one description of the encoding; ``ml.features.encoder.FeatureEncoder``
(stdlib, per record, used by the Lambda) and ``encode_frame`` (pandas, used by training)
both read it, and a parity test proves they agree on every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.data import raw_schema as rs
from ml.features.encoder import SCHEMA_VERSION

# Engineered features. The tariff makes the monthly bill a weighted sum of minutes;
# the bill (not any single period) is what drives heavy users to leave.
DERIVED: tuple[dict[str, Any], ...] = (
    {
        "name": "Total Charge",
        "weights": {f"{period} Mins": rate for period, rate in rs.CHARGE_RATES.items()},
        "why": "monthly bill at the tariff's per-minute rates",
    },
    {
        "name": "Total Mins",
        "weights": {f"{period} Mins": 1.0 for period in rs.CHARGE_RATES},
        "why": "usage over all periods",
    },
    {
        "name": "Total Calls",
        "weights": {f"{period} Calls": 1.0 for period in rs.CHARGE_RATES},
        "why": "calls over all periods",
    },
)


def _field_spec(name: str) -> dict[str, Any]:
    kind = rs.RAW_FIELDS[name][0]
    if kind == "category":
        return {"kind": kind, "values": list(rs.categories(name))}
    if kind == "text":
        return {"kind": kind}
    low, high = rs.bounds(name)
    return {"kind": kind, "min": low, "max": high}


def build_schema(derived_features: bool) -> dict[str, Any]:
    """The lab's 69 columns (numerics in raw order, then one-hot blocks), plus derived ones."""
    columns: list[dict[str, Any]] = [{"name": n, "source": n} for n in rs.NUMERIC]
    for name in rs.CATEGORICAL:
        columns += [{"name": f"{name}_{v}", "source": name, "equals": v} for v in rs.categories(name)]
    derived = [dict(d) for d in DERIVED] if derived_features else []
    columns += [{"name": d["name"], "source": d["name"]} for d in derived]
    return {
        "schema_version": SCHEMA_VERSION,
        "label": {"name": rs.LABEL, "positive": "True.", "negative": "False."},
        "fields": {n: _field_spec(n) for n in rs.FEATURE_FIELDS},
        "required": [n for n in rs.FEATURE_FIELDS if n not in rs.DROPPED],
        "ignored": [rs.LABEL],
        "derived": derived,
        "columns": columns,
    }


def encode_frame(frame: pd.DataFrame, schema: dict[str, Any]) -> np.ndarray:
    """Vectorised encoding of a validated raw frame (canonical category strings)."""
    values: dict[str, pd.Series] = {}
    for name, spec in schema["fields"].items():
        if spec["kind"] in ("int", "float") and name in frame:
            values[name] = frame[name].astype("float64")
        elif spec["kind"] == "category":
            values[name] = frame[name].astype(str)
    for feature in schema["derived"]:
        total = pd.Series(0.0, index=frame.index)
        for source, weight in feature["weights"].items():
            total = total + weight * values[source]  # same float ops, same order as the stdlib path
        values[feature["name"]] = total
    out = np.empty((len(frame), len(schema["columns"])), dtype="float64")
    for j, column in enumerate(schema["columns"]):
        source = values[column["source"]]
        if "equals" in column:
            out[:, j] = (source == column["equals"]).to_numpy(dtype="float64")
        else:
            out[:, j] = source.to_numpy(dtype="float64")
    return out


def labels(frame: pd.DataFrame) -> np.ndarray:
    values: np.ndarray = frame[rs.LABEL].map(rs.LABEL_VALUES).to_numpy(dtype="float64")
    return values
