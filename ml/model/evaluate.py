"""Cost-aware evaluation: AUC, confusion matrices, the cost curve, the cutoff that minimises it, calibration."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.config import CostMatrix


def cutoff_grid(spec: tuple[float, float, float]) -> np.ndarray:
    start, stop, step = spec
    return np.round(np.arange(start, stop + step / 2, step), 6)


def confusion(y: np.ndarray, scores: np.ndarray, cutoff: float) -> dict[str, int]:
    """Predict churn when score >= cutoff (the same rule the Lambda applies)."""
    act = scores >= cutoff
    churn = y == 1
    return {
        "tn": int((~act & ~churn).sum()),
        "fp": int((act & ~churn).sum()),
        "fn": int((~act & churn).sum()),
        "tp": int((act & churn).sum()),
    }


def cost(matrix: dict[str, int], costs: CostMatrix) -> float:
    return float(sum(matrix[k] * getattr(costs, k) for k in ("tn", "fp", "fn", "tp")))


def cost_curve(y: np.ndarray, scores: np.ndarray, cutoffs: np.ndarray, costs: CostMatrix) -> np.ndarray:
    """Total cost at every cutoff, vectorised over the grid."""
    act = scores[None, :] >= cutoffs[:, None]
    churn = (y == 1)[None, :]
    curve: np.ndarray = (
        costs.tp * (act & churn).sum(1)
        + costs.fp * (act & ~churn).sum(1)
        + costs.fn * (~act & churn).sum(1)
        + costs.tn * (~act & ~churn).sum(1)
    ).astype(float)
    return curve


def choose_cutoff(y: np.ndarray, scores: np.ndarray, cutoffs: np.ndarray, costs: CostMatrix) -> float:
    """The cost-minimising cutoff; on a flat minimum, the middle of the plateau (less noise-fitted)."""
    curve = cost_curve(y, scores, cutoffs, costs)
    best = np.flatnonzero(curve == curve.min())
    return float(cutoffs[best[len(best) // 2]])


def _auc(y: np.ndarray, scores: np.ndarray) -> float:
    # Imported here: scikit-learn costs seconds at start-up, and scoring without labels never needs it.
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, scores))


def split_metrics(y: np.ndarray, scores: np.ndarray, cutoff: float, costs: CostMatrix) -> dict[str, object]:
    """Everything reported for one split, at 0.5 and at the chosen cutoff."""
    n = len(y)
    at_cutoff = confusion(y, scores, cutoff)
    do_nothing = float(costs.fn * (y == 1).sum() + costs.tn * (y == 0).sum())
    total = cost(at_cutoff, costs)
    return {
        "rows": n,
        "churn_rate": float(y.mean()),
        "auc": _auc(y, scores) if 0 < y.sum() < n else None,
        "confusion_at_0.5": confusion(y, scores, 0.5),
        "confusion_at_cutoff": at_cutoff,
        "cost_at_0.5": cost(confusion(y, scores, 0.5), costs),
        "cost": total,
        "cost_per_1000": 1000.0 * total / n,
        "do_nothing_cost": do_nothing,
        "do_nothing_cost_per_1000": 1000.0 * do_nothing / n,
    }


CALIBRATION_BINS = 10


def calibration(y: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """How far the scores can be read as probabilities, which a decision under any other costs
    than the cutoff's (the page's editable costs) relies on.

    A reliability table of ``bins`` equal-width bins of [0, 1] (bin i holds i/bins <= score <
    (i+1)/bins; a score of 1 is in the last), each with its count, mean score and observed churn
    rate (both None when empty); the Brier score, beside the Brier score of saying the churn rate
    to everyone; and the expected calibration error: the gap between mean score and observed rate,
    averaged over the customers (each bin weighted by its count)."""
    y = np.asarray(y, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if y.shape != scores.shape or y.size == 0:
        raise ValueError(f"calibration needs as many labels as scores, at least one: {y.shape} vs {scores.shape}")
    # floor(score * bins), not digitize on linspace's edges: 0.3 must fall in [0.3, 0.4), and
    # linspace's third edge is 0.30000000000000004.
    index = np.minimum(np.floor(scores * bins).astype(int), bins - 1)
    table = []
    gap = 0.0
    for i in range(bins):
        inside = index == i
        count = int(inside.sum())
        predicted = float(scores[inside].mean()) if count else None
        observed = float(y[inside].mean()) if count else None
        if predicted is not None and observed is not None:
            gap += count * abs(predicted - observed)
        table.append(
            {
                "lower": i / bins,
                "upper": (i + 1) / bins,
                "count": count,
                "mean_predicted": predicted,
                "observed_rate": observed,
            }
        )
    rate = float(y.mean())
    return {
        "rows": int(y.size),
        "bins": table,
        "brier": float(np.mean((scores - y) ** 2)),
        "brier_of_churn_rate": rate * (1.0 - rate),
        "ece": gap / y.size,
    }
