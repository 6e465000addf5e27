"""The exploration report: one HTML page with valid PNGs beside it, written atomically."""

from __future__ import annotations

import html
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.data import raw_schema as rs
from ml.report import explore
from tests.report.pngcheck import PNG_SIGNATURE, assert_png


def random_frame(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """The 21 raw columns with random but plausible values (charges are minutes times the rate)."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {
        "State": rng.choice(rs.US_STATES[:20], rows),
        "Account Length": rng.integers(1, 240, rows),
        "Area Code": rng.choice(rs.AREA_CODES, rows),
        "Phone": [f"{rng.integers(300, 999)}-{rng.integers(1000, 9999)}" for _ in range(rows)],
        "Int'l Plan": rng.choice(rs.YES_NO, rows, p=[0.9, 0.1]),
        "VMail Plan": rng.choice(rs.YES_NO, rows, p=[0.7, 0.3]),
        "VMail Message": rng.integers(0, 50, rows),
    }
    for period, rate in rs.CHARGE_RATES.items():
        mins = rng.normal(12 if period == "Intl" else 200, 3 if period == "Intl" else 50, rows).clip(0).round(1)
        data[f"{period} Mins"] = mins
        data[f"{period} Calls"] = rng.integers(0 if period == "Intl" else 40, 20 if period == "Intl" else 160, rows)
        data[f"{period} Charge"] = (mins * rate).round(2)
    service = rng.poisson(1.5, rows)
    data["CustServ Calls"] = service
    data[rs.LABEL] = np.where(rng.random(rows) < 0.08 + 0.08 * service, "True.", "False.")
    return pd.DataFrame(data)[list(rs.RAW_COLUMNS)]


def image_sources(index: Path) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', index.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("explore")
    old = parent / "report"
    old.mkdir()
    (old / "stale.png").write_bytes(b"old")
    return explore.write_report(random_frame(), old, title="Exploration <of> A&B")


def test_report_references_valid_pngs(report: Path) -> None:
    assert report.name == "index.html"
    sources = image_sources(report)
    # numeric histograms, numerics by churn, correlation, one churn-rate chart per categorical
    assert len(sources) == 3 + len(rs.CATEGORICAL)
    for src in sources:
        assert_png(report.parent / src)
    # what the report holds is exactly what it references (the old report is gone entirely)
    assert sorted(p.name for p in report.parent.iterdir()) == sorted([*sources, "index.html"])


def test_report_has_every_frequency_table_and_the_summary(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    frame = random_frame()
    for column in (*rs.CATEGORICAL, rs.LABEL):
        assert f"<h3>{html.escape(column)}</h3>" in text
        top_value, count = frame[column].value_counts().index[0], frame[column].value_counts().iloc[0]
        assert f'<td class="l">{html.escape(str(top_value))}</td><td>{count}</td>' in text
    assert f"churn rate <b>{(frame[rs.LABEL] == 'True.').mean():.1%}</b>" in text
    assert "<b>240</b> rows" in text
    for column in rs.CATEGORICAL:
        assert f'alt="Churn rate by {html.escape(column)}"' in text


def test_report_escapes_the_title_and_names_the_redundant_charges(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "<title>Exploration &lt;of&gt; A&amp;B</title>" in text
    assert "<of>" not in text
    for period in rs.CHARGE_RATES:
        assert f"<li>{period} Mins ↔ {period} Charge: r = 1.000</li>" in text
    assert '<meta name="viewport"' in text


def test_report_leaves_no_temporary_directory(report: Path) -> None:
    assert [p.name for p in report.parent.parent.iterdir()] == ["report"]


def test_failed_report_keeps_the_previous_one(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "index.html").write_text("previous report", encoding="utf-8")
    (out / "correlation.png").write_bytes(PNG_SIGNATURE + b"previous")

    def broken(*args, **kwargs):
        raise RuntimeError("plot failed")

    # the second figure fails: the first one is already in the temporary directory
    monkeypatch.setattr(explore, "numeric_by_churn", broken)
    with pytest.raises(RuntimeError, match="plot failed"):
        explore.write_report(random_frame(rows=60), out, title="new")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert sorted(p.name for p in out.iterdir()) == ["correlation.png", "index.html"]
    assert (out / "index.html").read_text(encoding="utf-8") == "previous report"
    assert (out / "correlation.png").read_bytes() == PNG_SIGNATURE + b"previous"


def test_report_rejects_a_frame_without_the_raw_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Day Mins"):
        explore.write_report(random_frame(rows=20).drop(columns=["Day Mins"]), tmp_path / "r", "t")
    with pytest.raises(ValueError, match="empty"):
        explore.write_report(random_frame(rows=20).iloc[:0], tmp_path / "r", "t")
    assert list(tmp_path.iterdir()) == []


def test_churn_flags() -> None:
    frame = pd.DataFrame({rs.LABEL: ["True.", "False.", "False."]})
    assert explore.churn_flags(frame).tolist() == [1, 0, 0]
    assert explore.churn_flags(pd.DataFrame({rs.LABEL: [True, False]})).tolist() == [1, 0]
    with pytest.raises(ValueError, match="yes"):
        explore.churn_flags(pd.DataFrame({rs.LABEL: ["True.", "yes"]}))


def test_near_one_pairs_are_minutes_and_charges() -> None:
    pairs = explore.near_one_pairs(explore.correlation(random_frame(rows=100)))
    assert {(a, b) for a, b, _ in pairs} == {(f"{p} Mins", f"{p} Charge") for p in rs.CHARGE_RATES}


def test_cli_report_loads_the_data_and_prints_the_page(tmp_path: Path, monkeypatch, capsys) -> None:
    frame = random_frame(rows=10)
    written = []

    def load(source, rows, seed):
        assert (source, rows, seed) == ("synthetic", 80, 7)
        return frame, {"source": source}

    def write_report(frame_, out_dir, title, *, provenance=None):
        written.append((frame_, out_dir, title, provenance))
        return Path(out_dir) / "index.html"

    # write_report itself is tested above; here only the wiring of the command
    monkeypatch.setitem(sys.modules, "ml.data.dataset", types.SimpleNamespace(load=load))
    monkeypatch.setattr(explore, "write_report", write_report)
    from ml import cli

    out = tmp_path / "build" / "report"
    assert cli.main(["report", "--data", "synthetic", "--rows", "80", "--seed", "7", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    [(frame_, out_dir, title, provenance)] = written
    assert frame_ is frame and Path(out_dir) == out and "synthetic" in title
    assert provenance == {"source": "synthetic"}
