"""The model report's calibration section: the reliability table and its one-sentence summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ml.model import evaluate as ev
from ml.report import plots
from ml.report.calibration import reliability_html


def test_table_shows_every_bin_and_the_gap():
    y = np.array([0, 1, 0, 1, 1, 1])
    scores = np.array([0.05, 0.05, 0.3, 0.35, 0.95, 1.0])
    text = reliability_html({"split": "test", **ev.calibration(y, scores)})
    rows = re.findall(
        r"<tr><td[^>]*>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", text
    )
    assert len(rows) == ev.CALIBRATION_BINS
    assert rows[0] == ("0.0–0.1", "2", "5.0%", "50.0%", "+45.0")
    assert rows[1] == ("0.1–0.2", "0", "–", "–", "–")
    assert rows[3] == ("0.3–0.4", "2", "32.5%", "50.0%", "+17.5")
    assert rows[9] == ("0.9–1.0", "2", "97.5%", "100.0%", "+2.5")
    assert "differ by <b>21.7 points</b>" in text  # ECE 1.3 / 6
    assert "customers of the test split" in text


def test_model_report_has_the_section_when_metrics_have_figures(tmp_path: Path, bundle_dir: Path) -> None:
    metrics = json.loads((bundle_dir / "metrics.json").read_text())
    text = plots.model_report_html(tmp_path / "with", metrics, []).read_text(encoding="utf-8")
    assert text.count('<h2 id="calibration">Calibration</h2>') == 1
    assert f"differ by <b>{100 * metrics['calibration']['ece']:.1f} points</b>" in text
    # The bundle's own report, as training wrote it, has it too.
    assert '<h2 id="calibration">' in (bundle_dir / "report" / "index.html").read_text(encoding="utf-8")

    del metrics["calibration"]
    text = plots.model_report_html(tmp_path / "without", metrics, []).read_text(encoding="utf-8")
    assert 'id="calibration"' not in text
