"""The model report's calibration section: the reliability table of metrics.json's ``calibration``.

Why it is in the report: the page lets a user put in their own offer cost and loss, and the
rule it applies ("act when probability x loss > offer cost") is only as good as the scores are
probabilities. This section shows, bin by bin on the test split, how often customers given a
score actually churned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ml.report.html import esc, fmt, table


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def reliability_html(calibration: Mapping[str, Any]) -> str:
    """A heading, one sentence with the expected calibration error and the Brier score, and the table."""
    rows = []
    for b in calibration["bins"]:
        predicted, observed = b["mean_predicted"], b["observed_rate"]
        gap = "–" if predicted is None or observed is None else f"{100 * (observed - predicted):+.1f}"
        rows.append([f"{b['lower']:.1f}–{b['upper']:.1f}", b["count"], _pct(predicted), _pct(observed), gap])
    summary = (
        f"On the {esc(fmt(calibration['rows']))} customers of the {esc(calibration['split'])} split, "
        f"mean score and observed churn rate differ by <b>{100 * calibration['ece']:.1f} points</b> "
        "(expected calibration error: each bin's gap weighted by its customers). "
        f"Brier score {esc(fmt(calibration['brier']))} "
        f"(saying the churn rate to everyone: {esc(fmt(calibration['brier_of_churn_rate']))})."
    )
    header = ["score", "customers", "mean score", "observed churn", "observed − score (points)"]
    return f'<h2 id="calibration">Calibration</h2><p class="note">{summary}</p>' + table(header, rows)
