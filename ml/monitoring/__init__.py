"""Monitoring the live model: the reference it is compared with, and the drift settings.

The metric layout (namespace, names, the ten score bins) comes from the invoker's own
``functions/invoker/metrics.py``, loaded by path: the Lambda zip ships that file at its root,
so it cannot live in this package, and a second copy here could drift from what is emitted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml import file_module

METRICS_PY = Path(__file__).resolve().parents[2] / "functions" / "invoker" / "metrics.py"


LAYOUT = file_module.load("churn_invoker_metrics", METRICS_PY)


@dataclass(frozen=True)
class DriftSettings:
    # The alarm band: the flagged share may move by this factor either way before it is drift
    # ("flagging twice as many customers as on validation").
    band_factor: float = 2.0
    # Population stability index over the score deciles: < 0.1 stable, 0.1-0.25 moderate
    # shift, >= 0.25 drift (the usual credit-scoring reading of PSI).
    psi_moderate: float = 0.1
    psi_drift: float = 0.25
    # Fewer live records than this: no verdict, the histogram is noise.
    min_records: int = 100
    # Stands in for an empty bin in PSI (log of 0 is undefined).
    epsilon: float = 1e-4


SETTINGS = DriftSettings()


def shares(counts: Sequence[float]) -> list[float]:
    total = float(sum(counts))
    return [c / total for c in counts] if total > 0 else [0.0] * len(counts)


def reference(scores: Iterable[float], cutoff: float, scored_by: str) -> dict[str, Any]:
    """metrics.json's ``monitoring`` block: flagged share, score deciles and the alarm band."""
    values = [float(s) for s in scores]
    if not values:
        raise ValueError("no reference scores")
    share = sum(1 for s in values if s >= cutoff) / len(values)
    factor = SETTINGS.band_factor
    # A model that flags nobody still gets a band above 0, so that flagging some is noticed.
    high = min(1.0, max(share * factor, 0.01))
    return {
        "scores": scored_by,
        "rows": len(values),
        "cutoff": cutoff,
        "flagged_share": round(share, 6),
        "score_deciles": [round(v, 6) for v in shares(LAYOUT.score_histogram(values))],
        "flagged_share_band": [round(share / factor, 6), round(high, 6)],
        "band_factor": factor,
    }


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = SETTINGS.epsilon) -> float:
    """Population stability index: sum of (actual - expected) * ln(actual / expected) over bins."""
    if len(expected) != len(actual):
        raise ValueError(f"{len(expected)} expected bins but {len(actual)} actual bins")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, epsilon), max(a, epsilon)
        total += (a - e) * math.log(a / e)
    return total
