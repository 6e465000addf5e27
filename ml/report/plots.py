"""Model plots (ROC, cost curve, feature importance, confusion matrix) and the model report page.

The evaluation module writes these into ``build/model/report/``. Figures are built with
matplotlib's object API (``matplotlib.figure.Figure`` rendered by the Agg canvas): no
pyplot, so no GUI backend is ever chosen, no global figure registry fills up, and nothing
needs closing.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from ml.report.calibration import reliability_html
from ml.report.html import esc, fmt, img, page, table, write_text_atomic

DPI = 100
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")

# A 2x2 confusion matrix is laid out as sklearn does: rows actual (0, 1), columns predicted.
CONFUSION_LABELS = (("TN", "FP"), ("FN", "TP"))


# ---------------------------------------------------------------- shared helpers


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG at ``path`` (parents created) and release it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    fig.clear()
    return path


# ---------------------------------------------------------------- model plots


def roc_points(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, float]:
    """False and true positive rates at every distinct score (highest first, from (0, 0)) and the AUC.

    Ties share one point, so the area is the trapezoid rule over these points: the same
    value as ``sklearn.metrics.roc_auc_score`` (numpy only; importing sklearn costs seconds).
    """
    y = np.asarray(y_true).astype(int).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true has {y.size} values, scores {s.size}")
    positives = int(y.sum())
    if positives == 0 or positives == y.size:
        raise ValueError("ROC needs both classes in y_true")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tp = np.cumsum(y)[last_of_each_score]
    fp = last_of_each_score + 1 - tp
    tpr = np.r_[0.0, tp / positives]
    fpr = np.r_[0.0, fp / (y.size - positives)]
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def roc_curve_png(
    path: str | os.PathLike[str],
    curves: Sequence[tuple[str, ArrayLike, ArrayLike]],
    *,
    cutoff: float | None = None,
    title: str = "ROC curve",
) -> Path:
    """ROC curves, one per ``(label, y_true, scores)``; AUC is computed and shown in the legend.

    With ``cutoff``, each curve marks the point where it predicts churn for score >= cutoff.
    """
    if not curves:
        raise ValueError("roc_curve_png needs at least one (label, y_true, scores)")
    fig = new_figure(6, 5.4)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=1, label="chance (AUC 0.5)")
    for i, (label, y_true, scores) in enumerate(curves):
        fpr, tpr, auc = roc_points(y_true, scores)
        color = COLORS[i % len(COLORS)]
        ax.plot(fpr, tpr, color=color, lw=2, label=f"{label} (AUC {auc:.3f})")
        if cutoff is not None:
            y = np.asarray(y_true).astype(int).ravel()
            pred = np.asarray(scores, dtype=float).ravel() >= cutoff
            x_pt = pred[y == 0].mean()
            y_pt = pred[y == 1].mean()
            ax.plot([x_pt], [y_pt], "o", color=color, ms=7, mec="black")
    if cutoff is not None:
        ax.plot([], [], "o", color="white", mec="black", label=f"cutoff {cutoff:g}")
    ax.set(
        xlim=(-0.01, 1.01),
        ylim=(-0.01, 1.01),
        xlabel="false positive rate",
        ylabel="true positive rate (recall)",
        title=title,
    )
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def cost_curve_png(
    path: str | os.PathLike[str],
    cutoffs: ArrayLike,
    costs_by_split: Mapping[str, ArrayLike],
    chosen_cutoff: float,
    *,
    title: str = "Cost by cutoff",
    ylabel: str = "total cost ($)",
) -> Path:
    """Cost of each cutoff per split (e.g. validation, test), with the chosen cutoff marked."""
    x = np.asarray(cutoffs, dtype=float)
    if not costs_by_split:
        raise ValueError("cost_curve_png needs at least one split")
    fig = new_figure(7, 4.5)
    ax = fig.add_subplot()
    at = int(np.argmin(np.abs(x - chosen_cutoff)))
    for i, (split, costs) in enumerate(costs_by_split.items()):
        c = np.asarray(costs, dtype=float)
        if c.shape != x.shape:
            raise ValueError(f"{split}: {c.size} costs for {x.size} cutoffs")
        color = COLORS[i % len(COLORS)]
        ax.plot(x, c, color=color, lw=2, label=split)
        ax.plot([x[at]], [c[at]], "o", color=color, mec="black", ms=7)
        ax.annotate(fmt(c[at]), (x[at], c[at]), xytext=(6, 6), textcoords="offset points", fontsize=8)
    ax.axvline(chosen_cutoff, color="black", ls="--", lw=1, label=f"chosen cutoff {chosen_cutoff:g}")
    ax.set(xlabel="cutoff (predict churn when score ≥ cutoff)", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def feature_importance_png(
    path: str | os.PathLike[str],
    importances: Mapping[str, float],
    top: int = 20,
    *,
    title: str = "Feature importance",
    xlabel: str = "importance",
) -> Path:
    """Horizontal bars of the ``top`` most important features, largest at the top."""
    items = sorted(importances.items(), key=lambda kv: (-float(kv[1]), kv[0]))[: max(top, 0)]
    fig = new_figure(7, 1.2 + 0.28 * max(len(items), 3))
    ax = fig.add_subplot()
    if items:
        names = [k for k, _ in items][::-1]
        values = [float(v) for _, v in items][::-1]
        ax.barh(range(len(items)), values, color="tab:blue")
        ax.set_yticks(range(len(items)), names, fontsize=8)
        ax.set_ylim(-0.6, len(items) - 0.4)
        ax.grid(axis="x", alpha=0.3)
    else:
        ax.text(0.5, 0.5, "no feature importances", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    shown = f"top {len(items)} of {len(importances)}" if len(importances) > len(items) else f"{len(items)} features"
    ax.set(xlabel=xlabel, title=f"{title} ({shown})")
    fig.tight_layout()
    return save_figure(fig, path)


def confusion_matrix_png(
    path: str | os.PathLike[str],
    matrix: Sequence[Sequence[float]],
    cutoff: float,
    title: str = "Confusion matrix",
) -> Path:
    """A 2x2 matrix laid out as sklearn does: rows actual (no churn, churn), columns predicted."""
    m = np.asarray(matrix, dtype=float)
    if m.shape != (2, 2):
        raise ValueError(f"confusion matrix must be 2x2, got shape {m.shape}")
    total = m.sum()
    fig = new_figure(4.6, 4.0)
    ax = fig.add_subplot()
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(m.max(), 1))
    for r in range(2):
        for c in range(2):
            share = f"\n{m[r, c] / total:.1%}" if total else ""
            dark = m[r, c] > 0.6 * max(m.max(), 1)
            ax.text(
                c,
                r,
                f"{CONFUSION_LABELS[r][c]}\n{fmt(m[r, c])}{share}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if dark else "black",
            )
    ticks = ["no churn", "churn"]
    ax.set_xticks([0, 1], ticks)
    ax.set_yticks([0, 1], ticks)
    ax.set(xlabel="predicted", ylabel="actual", title=f"{title}\n(cutoff {cutoff:g})")
    fig.tight_layout()
    return save_figure(fig, path)


# ---------------------------------------------------------------- model report page


def _as_confusion(value: object) -> np.ndarray | None:
    """A 2x2 matrix from ``[[tn, fp], [fn, tp]]`` or ``{"tn":…, "fp":…, "fn":…, "tp":…}``."""
    if isinstance(value, Mapping):
        keys = {str(k).lower(): v for k, v in value.items()}
        if set(keys) >= {"tn", "fp", "fn", "tp"} and all(
            isinstance(keys[k], numbers.Real) for k in ("tn", "fp", "fn", "tp")
        ):
            return np.array([[keys["tn"], keys["fp"]], [keys["fn"], keys["tp"]]], dtype=float)
        return None
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        try:
            m = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return None
        return m if m.shape == (2, 2) else None
    return None


def _confusion_html(m: np.ndarray) -> str:
    rows = [
        ["actual no churn", f"TN {fmt(m[0, 0])}", f"FP {fmt(m[0, 1])}"],
        ["actual churn", f"FN {fmt(m[1, 0])}", f"TP {fmt(m[1, 1])}"],
    ]
    return table(["", "predicted no churn", "predicted churn"], rows)


def _value_html(value: object, depth: int = 0) -> str:
    """Any JSON-like metrics value as HTML: mappings become key/value tables."""
    m = _as_confusion(value)
    if m is not None:
        return _confusion_html(m)
    if isinstance(value, Mapping):
        if not value:
            return "<em>empty</em>"
        if depth >= 4:
            return esc(value)
        rows = "".join(
            f'<tr><th class="l">{esc(k)}</th><td class="l">{_value_html(v, depth + 1)}</td></tr>'
            for k, v in value.items()
        )
        return f"<table><tbody>{rows}</tbody></table>"
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes):
        values = list(value)
        if all(isinstance(v, numbers.Real | str) for v in values):
            if len(values) > 12:
                return esc(f"{len(values)} values: {', '.join(fmt(v) for v in values[:5])}, …")
            return esc(", ".join(fmt(v) for v in values))
        return "<br>".join(_value_html(v, depth + 1) for v in values)
    return esc(fmt(value))


def _headline(metrics: Mapping[str, Any]) -> str:
    """AUC, cutoff and cost per evaluated split (the layout of ml.model.pipeline's metrics.json)."""
    cutoff = metrics["cutoff"]
    costs = ", ".join(f"{esc(k.upper())} ${esc(fmt(v))}" for k, v in metrics["costs"].items())
    rows = [
        [
            split,
            fmt(m["rows"]),
            fmt(m["auc"]),
            f"${m['cost']:,.0f}",
            f"${m['cost_per_1000']:,.0f}",
            f"${m['do_nothing_cost_per_1000']:,.0f}",
        ]
        for split, m in metrics["evaluation"].items()
    ]
    box = (
        f'<div class="box">cutoff <b>{esc(fmt(cutoff["value"]))}</b>, chosen on {esc(cutoff["chosen_on"])}'
        f" ({esc(fmt(cutoff['rows']))} rows; never on the test split)<br>cost matrix: {costs}</div>"
    )
    return box + table(["split", "rows", "AUC", "cost at cutoff", "per 1,000", "doing nothing, per 1,000"], rows)


def _confusions(metrics: Mapping[str, Any]) -> str:
    cutoff = fmt(metrics["cutoff"]["value"])
    blocks = []
    for split, m in metrics["evaluation"].items():
        for key, label in (("confusion_at_0.5", "0.5"), ("confusion_at_cutoff", cutoff)):
            matrix = _as_confusion(m[key])
            if matrix is None:
                raise ValueError(f"metrics: evaluation.{split}.{key} is not a 2x2 confusion matrix: {m[key]!r}")
            blocks.append(f"<div><h3>{esc(split)} at {esc(label)}</h3>{_confusion_html(matrix)}</div>")
    return '<h2>Confusion matrices</h2><div class="grid">' + "".join(blocks) + "</div>"


def model_report_html(
    out_dir: str | os.PathLike[str],
    metrics: Mapping[str, object],
    images: Sequence[tuple[str, str]],
    *,
    title: str = "Churn model report",
) -> Path:
    """Write ``out_dir/index.html``: headline numbers, confusion matrices, calibration, the images, all metrics.

    ``images`` are ``(title, filename)`` with files already in ``out_dir`` (a missing one is an
    error: the page would show a broken image). ``metrics`` is metrics.json's layout; every
    value is also shown in the closing table.
    """
    out = Path(out_dir)
    missing = [name for _, name in images if not (out / name).is_file()]
    if missing:
        raise FileNotFoundError(f"images not in {out}: {', '.join(missing)}")
    body = [_headline(metrics), _confusions(metrics)]
    calibration = metrics.get("calibration")
    if isinstance(calibration, Mapping):  # bundles from before calibration was measured have none
        body.append(reliability_html(calibration))
    if images:
        body.append("<h2>Plots</h2>")
        body.extend(img(name, caption, caption) for caption, name in images)
    body.append('<h2>All metrics</h2><div class="scroll">' + _value_html(metrics) + "</div>")
    return write_text_atomic(out / "index.html", page(title, "\n".join(b for b in body if b)))
