"""Exploration report of a raw churn dataset: the lab notebook's look at the data, as one HTML page.

``write_report`` writes ``index.html`` with PNGs beside it: frequency tables of the
categoricals, a summary of the numerics, their histograms, churn rate by each categorical,
the numerics split by churn, and the correlation heat map that shows why the recipe drops
the charge columns (each is its minutes times a fixed rate). The report directory is
built next to its destination and renamed into place only when complete.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ml.atomic import atomic_dir
from ml.data import raw_schema as rs
from ml.report.html import esc, fmt, img, page, table, write_text_atomic
from ml.report.plots import new_figure, save_figure

# Every numeric raw column, charges included (the heat map is where they are shown to be redundant).
NUMERIC_ALL = tuple(c for c in rs.FEATURE_FIELDS if rs.RAW_FIELDS[c][0] in ("int", "float"))
CATEGORICAL = rs.CATEGORICAL
NEAR_ONE = 0.95  # |r| above which a pair of columns is called redundant
CHURN_COLOR, STAY_COLOR = "tab:red", "tab:blue"


def churn_flags(frame: pd.DataFrame) -> pd.Series:
    """The label as 0/1: "True."/"False." strings (the raw format), or booleans / 0-1 numbers."""
    label = frame[rs.LABEL]
    if label.dtype == object or isinstance(label.dtype, pd.CategoricalDtype | pd.StringDtype):
        mapped = label.astype(str).str.strip().map(rs.LABEL_VALUES)
        if mapped.isna().any():
            bad = sorted(set(label[mapped.isna()].astype(str)))[:5]
            raise ValueError(f"{rs.LABEL} has values other than {sorted(rs.LABEL_VALUES)}: {bad}")
        return mapped.astype(int)
    return label.astype(int)


def _categories(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string").fillna("(missing)")


# ---------------------------------------------------------------- figures


def _bins(values: pd.Series, column: str) -> np.ndarray | int:
    """Whole-number columns with a small range get one bin per value; others 30 bins."""
    v = values.dropna()
    if v.empty:
        return 10
    lo, hi = float(v.min()), float(v.max())
    if rs.RAW_FIELDS[column][0] == "int" and hi - lo <= 40:
        return np.arange(lo - 0.5, hi + 1.5)
    return np.histogram_bin_edges(v, bins=30) if hi > lo else 10


def _grid_axes(fig: Figure, n: int, cols: int = 4, top: float = 0.0) -> list[Axes]:
    """``n`` small axes in rows of ``cols`` at fixed spacing (tight_layout on 16 axes is slow)."""
    rows = (n + cols - 1) // cols
    height = fig.get_figheight()
    fig.subplots_adjust(
        left=0.03,
        right=0.99,
        bottom=0.45 / height,
        top=1 - (0.35 + top) / height,
        wspace=0.22,
        hspace=0.55 * 2.3 / (height / rows),
    )
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    for ax in axes:
        ax.tick_params(labelsize=7, length=2, pad=1)
        ax.locator_params(axis="x", nbins=5)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    return axes


def _integer_ticks(ax: Axes, column: str) -> None:
    if rs.RAW_FIELDS[column][0] == "int":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))


def numeric_histograms(frame: pd.DataFrame, path: Path) -> Path:
    """One histogram per numeric column (counts; the y scale is left off, shapes are the point)."""
    n = len(NUMERIC_ALL)
    fig = new_figure(12, 2.0 * ((n + 3) // 4))
    for ax, column in zip(_grid_axes(fig, n), NUMERIC_ALL, strict=True):
        _integer_ticks(ax, column)
        values = pd.to_numeric(frame[column], errors="coerce").dropna()
        counts, edges = np.histogram(values, bins=_bins(values, column))
        ax.stairs(counts, edges, fill=True, color="tab:gray")
        ax.set_title(column, fontsize=9, pad=2)
    return save_figure(fig, path)


def numeric_by_churn(frame: pd.DataFrame, churn: pd.Series, path: Path) -> Path:
    """Each numeric column's distribution for churned vs stayed, each normalised to unit area."""
    n = len(NUMERIC_ALL)
    fig = new_figure(12, 2.0 * ((n + 3) // 4) + 0.3)
    axes = _grid_axes(fig, n, top=0.3)
    for ax, column in zip(axes, NUMERIC_ALL, strict=True):
        _integer_ticks(ax, column)
        values = pd.to_numeric(frame[column], errors="coerce")
        bins = _bins(values, column)
        for flag, color, name in ((0, STAY_COLOR, "stayed"), (1, CHURN_COLOR, "churned")):
            part = values[(churn == flag) & values.notna()]
            if len(part):
                density, edges = np.histogram(part, bins=bins, density=True)
                ax.stairs(density, edges, color=color, lw=1.4, label=name)
        ax.set_title(column, fontsize=9, pad=2)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=9, frameon=False)
    return save_figure(fig, path)


def churn_rate_bars(frame: pd.DataFrame, churn: pd.Series, column: str, path: Path) -> Path:
    """Churn rate per value of ``column``; many values (State) are sorted by rate."""
    grouped = churn.groupby(_categories(frame, column)).agg(["mean", "size"])
    many = len(grouped) > 8
    grouped = grouped.sort_values(["mean", "size"], ascending=False) if many else grouped.sort_index()
    fig = new_figure(12, 3.6) if many else new_figure(3.4, 3.2)
    ax = fig.add_subplot()
    x = np.arange(len(grouped))
    ax.bar(x, grouped["mean"] * 100, color=CHURN_COLOR, alpha=0.8, width=0.75)
    overall = churn.mean() * 100
    ax.axhline(overall, color="black", ls="--", lw=1, label=f"all customers {overall:.1f}%")
    ax.set_xticks(x, [str(i) for i in grouped.index], fontsize=7 if many else 9, rotation=90 if many else 0)
    if not many:
        for xi, (rate, n) in zip(x, grouped.itertuples(index=False), strict=True):
            ax.annotate(
                f"{rate:.1%}\nn={n:,}",
                (xi, rate * 100),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                zorder=5,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
            )
        ax.set_ylim(0, max(grouped["mean"].max() * 100, overall) * 1.75 + 1)  # room for labels and legend
    ax.set(ylabel="churn rate (%)", title=f"Churn rate by {column}")
    ax.title.set_fontsize(10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, path)


def correlation(frame: pd.DataFrame) -> pd.DataFrame:
    numeric = frame[list(NUMERIC_ALL)].apply(pd.to_numeric, errors="coerce")
    corr: pd.DataFrame = numeric.corr()
    return corr


def near_one_pairs(corr: pd.DataFrame, threshold: float = NEAR_ONE) -> list[tuple[str, str, float]]:
    cols = list(corr.columns)
    values = corr.to_numpy(dtype=float)
    return [
        (a, b, float(values[i, j]))
        for i, a in enumerate(cols)
        for j, b in enumerate(cols)
        if j > i and np.isfinite(values[i, j]) and abs(values[i, j]) >= threshold
    ]


def correlation_heatmap(corr: pd.DataFrame, path: Path) -> Path:
    fig = new_figure(9, 7.8)
    ax = fig.add_subplot()
    values = corr.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu_r", vmin=-1, vmax=1)
    n = len(corr)
    ax.set_xticks(range(n), corr.columns, rotation=90, fontsize=8)
    ax.set_yticks(range(n), corr.columns, fontsize=8)
    position = {name: k for k, name in enumerate(corr.columns)}
    for a, b, r in near_one_pairs(corr):
        i, j = position[a], position[b]
        for y, x in ((i, j), (j, i)):
            ax.add_patch(_square(x, y))
            ax.text(x, y, f"{r:.2f}", ha="center", va="center", fontsize=7, color="white", fontweight="bold")
    fig.colorbar(im, ax=ax, shrink=0.8, label="Pearson r")
    ax.set_title(f"Correlation of the numeric columns (boxed: |r| ≥ {NEAR_ONE})", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def _square(x: int, y: int) -> Rectangle:
    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, edgecolor="black", lw=1.5)


# ---------------------------------------------------------------- page


def _frequency_table(frame: pd.DataFrame, column: str) -> str:
    counts = _categories(frame, column).value_counts()
    counts = counts.sort_values(ascending=False, kind="stable") if len(counts) > 8 else counts.sort_index()
    total = int(counts.sum())
    rows = [(str(k), int(n), f"{n / total:.1%}") for k, n in counts.items()]
    tall = " tall" if len(rows) > 12 else ""
    return f'<div><h3>{esc(column)}</h3><div class="scroll{tall}">{table(["value", "count", "%"], rows)}</div></div>'


def _summary(frame: pd.DataFrame, churn: pd.Series, provenance: object) -> str:
    lines = [
        f"<b>{fmt(len(frame))}</b> rows, {fmt(frame.shape[1])} columns",
        f"churn rate <b>{churn.mean():.1%}</b> ({fmt(int(churn.sum()))} churned, "
        f"{fmt(int((churn == 0).sum()))} stayed)",
    ]
    missing = int(frame.isna().sum().sum())
    if missing:
        lines.append(f"{fmt(missing)} missing values")
    if isinstance(provenance, Mapping):
        lines += [f"{esc(k)}: {esc(fmt(v))}" for k, v in provenance.items()]
    elif provenance is not None:
        lines.append(f"source: {esc(provenance)}")
    return '<div class="box">' + "<br>".join(lines) + "</div>"


def _numeric_summary(frame: pd.DataFrame) -> str:
    numeric = frame[list(NUMERIC_ALL)].apply(pd.to_numeric, errors="coerce")
    stats = numeric.describe().T[["mean", "std", "min", "50%", "max"]]
    rows = [(name, *(round(float(v), 2) for v in row)) for name, row in stats.iterrows()]
    return '<div class="scroll">' + table(["column", "mean", "std", "min", "median", "max"], rows) + "</div>"


def _build(frame: pd.DataFrame, out: Path, title: str, provenance: object) -> None:
    churn = churn_flags(frame)
    corr = correlation(frame)
    numeric_histograms(frame, out / "numeric_histograms.png")
    numeric_by_churn(frame, churn, out / "numeric_by_churn.png")
    rate_figs = []
    for i, column in enumerate(CATEGORICAL):
        name = f"churn_rate_{i}_{column.lower().replace(' ', '_').replace(chr(39), '')}.png"
        churn_rate_bars(frame, churn, column, out / name)
        rate_figs.append((column, name))
    correlation_heatmap(corr, out / "correlation.png")

    pairs = near_one_pairs(corr)
    pair_items = "".join(f"<li>{esc(a)} ↔ {esc(b)}: r = {r:.3f}</li>" for a, b, r in pairs)
    many = [(c, n) for c, n in rate_figs if frame[c].nunique(dropna=False) > 8]
    few = [(c, n) for c, n in rate_figs if (c, n) not in many]
    body = [
        _summary(frame, churn, provenance),
        "<h2>Categorical columns</h2>",
        f'<p class="note">Counts and shares of each value. {esc(rs.LABEL)} is the label; '
        "Phone is an identifier and is not shown.</p>",
        '<div class="grid">' + "".join(_frequency_table(frame, c) for c in (*CATEGORICAL, rs.LABEL)) + "</div>",
        "<h2>Numeric columns</h2>",
        _numeric_summary(frame),
        img("numeric_histograms.png", "Histograms of the numeric columns", "Distribution of each numeric column."),
        "<h2>Churn rate by category</h2>",
        '<p class="note">Dashed line: churn rate of all customers. Small groups (a state has ~60 customers) '
        "give noisy rates.</p>",
        *(img(n, f"Churn rate by {c}") for c, n in many),
        '<div class="grid">' + "".join(img(n, f"Churn rate by {c}") for c, n in few) + "</div>",
        "<h2>Numeric columns by churn</h2>",
        img(
            "numeric_by_churn.png",
            "Histograms of the numeric columns, churned vs stayed",
            "Each class normalised to unit area, so the shapes compare despite the class imbalance.",
        ),
        "<h2>Correlation</h2>",
        img("correlation.png", "Correlation heat map of the numeric columns"),
        (
            f"<p>Pairs with |r| ≥ {NEAR_ONE}:</p><ul>{pair_items}</ul>"
            "<p>Each charge is its minutes times a fixed per-minute rate, so it adds no information: "
            "the recipe drops the charge columns (and Phone, an identifier).</p>"
        )
        if pairs
        else f"<p>No pair of numeric columns has |r| ≥ {NEAR_ONE}.</p>",
    ]
    write_text_atomic(out / "index.html", page(title, "\n".join(body)))


def write_report(
    frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    title: str = "Churn data exploration",
    *,
    provenance: object = None,
) -> Path:
    """Write the report to ``out_dir`` (replacing an old one only when the new one is complete).

    ``frame`` holds the raw columns (label "True."/"False."); ``provenance`` (a mapping or a
    string), if given, is listed in the summary box. Returns the path of ``index.html``.
    """
    missing = [c for c in (*NUMERIC_ALL, *CATEGORICAL, rs.LABEL) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the raw columns {missing}")
    if frame.empty:
        raise ValueError("cannot report on an empty dataset")
    with atomic_dir(Path(out_dir)) as tmp:
        _build(frame, tmp, title, provenance)
    return Path(out_dir) / "index.html"


def main(args: argparse.Namespace) -> int:
    from ml.data.dataset import load

    frame, provenance = load(args.data, args.rows, args.seed)
    index = write_report(frame, args.out, title=f"Churn data exploration: {args.data}", provenance=provenance)
    print(index)
    return 0
