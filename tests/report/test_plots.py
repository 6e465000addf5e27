"""Model plots write valid PNGs; the model report page shows the metrics, escaped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml.report import html, plots
from tests.report.pngcheck import assert_png


def scored(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    return y, np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)


def test_roc_curve_png_draws_several_curves(tmp_path: Path) -> None:
    validation, test = scored(300, 1), scored(150, 2)
    path = plots.roc_curve_png(tmp_path / "sub" / "roc.png", [("validation", *validation), ("test", *test)], cutoff=0.5)
    assert path == tmp_path / "sub" / "roc.png"
    assert_png(path)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_points_auc_is_the_rank_statistic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(200) < 0.3).astype(int)
    scores = np.round(rng.random(200) * 0.5 + 0.3 * y, 1)  # rounded: many ties
    fpr, tpr, auc = plots.roc_points(y, scores)
    pos, neg = scores[y == 1][:, None], scores[y == 0][None, :]
    assert auc == pytest.approx(np.mean((pos > neg) + 0.5 * (pos == neg)))
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_roc_curve_png_needs_both_classes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="both classes"):
        plots.roc_curve_png(tmp_path / "roc.png", [("test", [0, 0, 0], [0.1, 0.2, 0.3])])
    with pytest.raises(ValueError, match="at least one"):
        plots.roc_curve_png(tmp_path / "roc.png", [])
    assert not (tmp_path / "roc.png").exists()


def test_cost_curve_png(tmp_path: Path) -> None:
    cutoffs = np.arange(0.01, 1.0, 0.01)
    costs = {"validation": 1000 + (cutoffs - 0.4) ** 2 * 5000, "test": 500 + (cutoffs - 0.5) ** 2 * 3000}
    assert_png(plots.cost_curve_png(tmp_path / "cost.png", cutoffs, costs, chosen_cutoff=0.4))
    with pytest.raises(ValueError, match="cutoffs"):
        plots.cost_curve_png(tmp_path / "bad.png", cutoffs, {"test": [1.0, 2.0]}, 0.4)


def test_feature_importance_png(tmp_path: Path) -> None:
    importances = {f"feature {i}": float(i) for i in range(40)}
    assert_png(plots.feature_importance_png(tmp_path / "imp.png", importances, top=20))
    assert_png(plots.feature_importance_png(tmp_path / "none.png", {}))


def test_confusion_matrix_png(tmp_path: Path) -> None:
    assert_png(plots.confusion_matrix_png(tmp_path / "cm.png", [[270, 15], [10, 38]], 0.46, "Test"))
    with pytest.raises(ValueError, match="2x2"):
        plots.confusion_matrix_png(tmp_path / "bad.png", [[1, 2, 3]], 0.5)


def test_model_report_html_shows_metrics_and_images(tmp_path: Path, bundle_dir: Path) -> None:
    metrics = json.loads((bundle_dir / "metrics.json").read_text())
    metrics["data"]["source"] = "<script>alert('x')</script>"
    plots.confusion_matrix_png(tmp_path / "cm test.png", [[270, 15], [10, 38]], 0.46)
    index = plots.model_report_html(tmp_path, metrics, [("Confusion <test>", "cm test.png")], title="Model & co")
    assert index == tmp_path / "index.html"
    text = index.read_text(encoding="utf-8")
    assert "<title>Model &amp; co</title>" in text
    test = metrics["evaluation"]["test"]
    assert f"<b>{html.fmt(metrics['cutoff']['value'])}</b>, chosen on out-of-fold" in text
    assert html.fmt(test["auc"]) in text and f"${test['cost_per_1000']:,.0f}" in text
    for key in ("tn", "fp", "fn", "tp"):
        assert f">{key.upper()} {html.fmt(test['confusion_at_cutoff'][key])}<" in text
    assert '<img src="cm%20test.png" alt="Confusion &lt;test&gt;"' in text
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text


def test_model_report_html_refuses_missing_images(tmp_path: Path, bundle_dir: Path) -> None:
    metrics = json.loads((bundle_dir / "metrics.json").read_text())
    with pytest.raises(FileNotFoundError, match=r"roc\.png"):
        plots.model_report_html(tmp_path, metrics, [("ROC", "roc.png")])
    assert not (tmp_path / "index.html").exists()


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3333, "3,333"),
        (np.int64(5), "5"),
        (0.921345, "0.9213"),
        (12300.0, "12,300"),
        (6100.5, "6,100.50"),
        (True, "True"),
        (float("nan"), "nan"),
        ("text", "text"),
    ],
)
def test_fmt(value, shown) -> None:
    assert html.fmt(value) == shown
