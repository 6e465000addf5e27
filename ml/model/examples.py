"""The page's two example customers: synthetic, never a row of the data.

The page is public, so its examples must not be anyone's record. Each example is the
typical customer (median of every number, most frequent value of every category) of a
group of training customers: churners the model flags, or loyal customers it clears.
When the typical customer of the whole group lands on the wrong side of the cutoff, the
group narrows to its most clear-cut members (highest or lowest scores) until it does not.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.data import raw_schema as rs
from ml.features.encoder import FeatureEncoder

# Shares of the group (by score) tried in turn; never fewer than MIN_GROUP customers,
# so no example is one customer's record.
SHARES = (1.0, 0.5, 0.25, 0.1, 0.05, 0.02)
MIN_GROUP = 5


def typical(rows: pd.DataFrame, fields: Iterable[str]) -> dict[str, Any]:
    """Median of each number (rounded as the data is), most frequent value of each category."""
    record: dict[str, Any] = {}
    for name in fields:
        kind = rs.RAW_FIELDS[name][0]
        if kind == "category":
            counts = rows[name].astype(str).value_counts()
            top = counts[counts == counts.max()].index
            record[name] = next(v for v in rs.categories(name) if v in top)  # ties: vocabulary order
        elif kind == "int":
            record[name] = int(np.rint(rows[name].astype(float).median()))
        else:
            record[name] = round(float(rows[name].astype(float).median()), 1)
    if record.get("VMail Plan") == "no" and "VMail Message" in record:
        record["VMail Message"] = 0  # no plan, no voicemail messages: keep the record coherent
    return record


def _key(record: Mapping[Any, Any], fields: Iterable[str]) -> tuple[Any, ...]:
    return tuple(float(record[f]) if rs.RAW_FIELDS[f][0] in ("int", "float") else str(record[f]) for f in fields)


def _score(booster: xgb.Booster, encoder: FeatureEncoder, record: Mapping[str, Any]) -> float:
    x = np.asarray([encoder.encode(record)], dtype=np.float32)
    return float(booster.inplace_predict(x, validate_features=False)[0])


def synthetic_examples(
    schema: Mapping[str, Any],
    fit_rows: pd.DataFrame,
    fit_labels: np.ndarray,
    fit_scores: np.ndarray,
    all_rows: pd.DataFrame,
    booster: xgb.Booster,
    cutoff: float,
) -> dict[str, dict[str, Any]]:
    """{"churner": record scoring above ``cutoff``, "loyal": record scoring below}, neither a row of ``all_rows``."""
    fields = list(schema["required"])
    encoder = FeatureEncoder(schema)
    known = {_key(r, fields) for r in all_rows[fields].to_dict("records")}
    groups: dict[str, tuple[np.ndarray, np.ndarray, Callable[[float], bool]]] = {
        "churner": (fit_labels == 1, -fit_scores, lambda s: s > cutoff),
        "loyal": (fit_labels == 0, fit_scores, lambda s: s < cutoff),
    }
    examples: dict[str, dict[str, Any]] = {}
    for name, (members, order, on_side) in groups.items():
        ranked = fit_rows.iloc[np.argsort(order, kind="stable")]
        ranked = ranked[members[np.argsort(order, kind="stable")]]
        if ranked.empty:
            raise ValueError(f"no {name} customers in the training data: no {name} example")
        best: tuple[float, dict[str, Any]] | None = None
        for share in SHARES:
            size = max(MIN_GROUP, math.ceil(share * len(ranked)))
            record = typical(ranked.head(size), fields)
            if _key(record, fields) in known:
                continue
            score = _score(booster, encoder, record)
            if on_side(score):
                examples[name] = record
                break
            distance = abs(score - cutoff)
            if best is None or distance < best[0]:
                best = (distance, record)
            if size == MIN_GROUP:
                break
        if name not in examples:
            if best is None:
                raise ValueError(f"no synthetic {name} example differs from every data row")
            print(f"warning: the synthetic {name} example scores on the wrong side of the cutoff", file=sys.stderr)
            examples[name] = best[1]
    return examples
