"""``ml.model.reason_cells`` (the reason columns of ``ml score --explain``, numpy over whole chunks)
against ``ml.features.reasons`` (one record, as the Lambda explains it): the same cells, exactly.

The reference for every row is ``reasons.csv_cells(reasons.reasons(...))`` of the same explanation,
written by ``csv.writer`` as the output writes a row. The vectorised path is tested on its own
(``NEAR`` < 0 turns off its per-record fallback), and the fallback on the rows it exists for.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml.features import reasons
from ml.features.encoder import FeatureEncoder
from ml.features.schema import encode_frame
from ml.model import reason_cells
from ml.model.bundle import Bundle
from ml.model.csv_safety import guard_cell
from ml.model.reason_cells import ReasonCells
from ml.serving.inference import Scorer


@pytest.fixture(scope="module")
def schema(bundle_dir: Path) -> dict[str, Any]:
    return Bundle(bundle_dir).schema()


@pytest.fixture(scope="module")
def scorer(bundle_dir: Path) -> Scorer:
    return Scorer(Bundle(bundle_dir).booster())


def _vectorised_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No row is handed to ``reasons.reasons``: every cell below comes from the numpy path."""
    monkeypatch.setattr(reason_cells, "NEAR", -1.0)
    monkeypatch.setattr(reason_cells, "SLACK", 0.0)


def reference(schema: dict[str, Any], vector: np.ndarray, explanation: dict[str, Any], guard: bool = True) -> str:
    """One row's reason cells as the Lambda's module gives them, written as ``csv.writer`` writes a row."""
    found = reasons.reasons(reasons.fields(schema), vector.tolist(), explanation)
    cells = [guard_cell(c) if guard and isinstance(c, str) else c for c in reasons.csv_cells(found)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return "," + out.getvalue()[:-1]


def explanation(score: float, log_odds: float, contributions: np.ndarray) -> dict[str, Any]:
    """One row as the inference script's JSON answer gives it (``Explanations.to_json``); its
    ``log_odds`` are not what the points use (the contributions' own total is, as in reasons)."""
    row = [float(c) for c in contributions]
    return {"score": float(score), "log_odds": float(log_odds), "base": row[-1], "contributions": row[:-1]}


def rows_under_test(schema: dict[str, Any], synthetic_frame: Any) -> np.ndarray:
    """Synthetic customers, the schema's examples, and rows with missing values (a NaN number, no
    category column set, both), as float64 model rows."""
    x = encode_frame(synthetic_frame, schema).astype(np.float64)
    encoder = FeatureEncoder(schema)
    examples = np.array([encoder.encode(record) for record in schema["examples"].values()], dtype=np.float64)
    rng = np.random.default_rng(7)
    missing = x[:300].copy()
    missing[rng.random(missing.shape) < 0.15] = np.nan  # numbers and one-hot cells alike
    spans = reasons.fields(schema)
    for field in spans[::2]:
        if field.kind == "category":
            missing[::3, list(field.columns)] = 0.0  # no value of the category
    return np.vstack([examples, x, missing])


def test_vectorised_cells_equal_the_per_record_reasons(schema, scorer, synthetic_frame, monkeypatch):
    x = rows_under_test(schema, synthetic_frame)
    found = scorer.explain(x)
    _vectorised_only(monkeypatch)
    for guard in (True, False):
        tails = ReasonCells(schema, guard).tails(x, found.scores, found.contributions)
        expected = [
            reference(schema, x[i], explanation(found.scores[i], found.log_odds[i], found.contributions[i]), guard)
            for i in range(len(x))
        ]
        assert tails == expected
    # What the rows exercise: both example customers, a missing value shown empty, a category, a
    # whole number and a rounded fraction among the values of the reasons.
    cells = [tail.split(",")[1:] for tail in tails]
    values = [row[i] for row in cells for i in range(1, 18, 3) if row[i - 1]]
    assert "" in values and "no" in values and any(v.isdigit() for v in values)
    assert any("." in v and len(v.split(".")[1]) == 2 for v in values)


def test_synthetic_explanations_cover_every_branch(schema, synthetic_frame, monkeypatch):
    """Made-up contributions (any sign, many zeros) on real rows: fewer than three reasons on a
    side, no reason at all, the log-odds at the base (points_scale's limit) and either side of it."""
    x = encode_frame(synthetic_frame.head(600), schema).astype(np.float64)
    rng = np.random.default_rng(11)
    width = x.shape[1]
    contributions = rng.normal(0.0, 0.4, (len(x), width + 1)) * (rng.random((len(x), width + 1)) < 0.3)
    contributions[:, -1] = -1.2  # the base value
    contributions[:40, :-1] = 0.0  # no reason: the log-odds are the base, the limit
    contributions[40:80, :-1] *= rng.random((40, width)) < 0.05  # one or two reasons
    # Log-odds this far from the base (the contributions' total), around LIMIT_SPAN, with a score far
    # from the sigmoid's: the limit gives +-9 points, the secant +-8e7.
    spans = [0.5e-6, -0.5e-6, 0.99e-6, -0.99e-6, 1.01e-6, -2e-6, 3e-6]
    contributions[80 : 80 + len(spans), :-1] = 0.0
    contributions[80 : 80 + len(spans), 0] = 1.0
    contributions[80 : 80 + len(spans), 1] = [-(1.0 - span) for span in spans]
    log_odds = contributions.sum(axis=1)
    scores = (1 / (1 + np.exp(-log_odds))).astype(np.float32).astype(np.float64)
    scores[80 : 80 + len(spans)] = 0.9
    _vectorised_only(monkeypatch)
    tails = ReasonCells(schema).tails(x, scores, contributions)
    spans_of = reasons.fields(schema)
    few = 0
    for i in range(len(x)):
        ex = explanation(scores[i], log_odds[i], contributions[i])
        assert tails[i] == reference(schema, x[i], ex), i
        found = reasons.reasons(spans_of, x[i].tolist(), ex)
        few += 0 < len(found["for"]) + len(found["against"]) < 6
    assert tails[0] == "," * 18 and few > 10
    points = [row.split(",")[3] for row in tails[80 : 80 + len(spans)]]
    assert points[:4] == ["9.0"] * 4 and all(float(p) > 1e6 for p in points[4:])  # both branches


def test_rows_near_a_rounding_boundary_or_a_tie_go_through_reasons(schema, synthetic_frame, monkeypatch):
    """A field worth exactly 0.15 points: Python's round says 0.1 (0.15 is 0.1499… as a float), the
    numpy path alone 0.2; two fields of equal points: field order. The fallback gives reasons' cells."""
    x = encode_frame(synthetic_frame.head(3), schema).astype(np.float64)
    spans = reasons.fields(schema)
    numbers = [f.columns[0] for f in spans if f.kind == "number"]
    contributions = np.zeros((3, x.shape[1] + 1))
    assert 25.0 * (0.15 / 25) == 0.15
    contributions[0, numbers[0]] = 0.15 / 25  # score 0.5 at the base: 25 points per unit of log-odds
    contributions[0, numbers[1]] = -0.15 / 25
    contributions[1, numbers[2]] = contributions[1, numbers[3]] = 0.08  # a tie: 2.0 points each
    contributions[1, numbers[4]] = contributions[1, numbers[5]] = -0.08
    contributions[2, numbers[6]] = 0.15 / 25 + 1e-12  # within NEAR of the boundary, not on it
    contributions[2, numbers[7]] = -contributions[2, numbers[6]]
    scores, log_odds = np.full(3, 0.5), np.zeros(3)  # every row's contributions total 0: the limit
    cells = ReasonCells(schema)
    tails = cells.tails(x, scores, contributions)
    expected = [reference(schema, x[i], explanation(scores[i], log_odds[i], contributions[i])) for i in range(3)]
    assert tails == expected
    assert ",0.1," in tails[0] + "," and "-0.1" in tails[0] and ",0.2," in tails[2] + ","
    _vectorised_only(monkeypatch)
    assert cells.tails(x, scores, contributions)[0] != expected[0]  # the case is real


def test_formula_guard_covers_the_reason_text_cells(schema, synthetic_frame, monkeypatch):
    """A field name or category value that starts like a formula is written with a leading ',
    as the score output's text cells are; numbers (negative points) are left as numbers."""
    hostile = copy.deepcopy(schema)
    for column in hostile["columns"]:
        if column["source"] == "State":
            column["source"] = "=State"
            column["equals"] = "@" + column["equals"]
    x = encode_frame(synthetic_frame.head(200), schema).astype(np.float64)
    rng = np.random.default_rng(3)
    contributions = rng.normal(0.0, 0.5, (len(x), x.shape[1] + 1))
    log_odds = contributions.sum(axis=1)
    scores = 1 / (1 + np.exp(-log_odds))
    _vectorised_only(monkeypatch)
    for guard in (True, False):
        tails = ReasonCells(hostile, guard).tails(x, scores, contributions)
        for i in range(len(x)):
            ex = explanation(scores[i], log_odds[i], contributions[i])
            assert tails[i] == reference(hostile, x[i], ex, guard), i
        text = "".join(tails)
        assert ("'=State,'@" in text) is guard and (",=State,@" in text) is not guard
        assert ",-" in text and ",'-" not in text


def test_an_explanations_answer_round_trip_gives_the_same_cells(schema, scorer, synthetic_frame):
    """The Batch Transform join reads the answer as JSON (float64); ml score gets float32 arrays."""
    x = encode_frame(synthetic_frame.head(500), schema).astype(np.float64)
    found = scorer.explain(x)
    rows = json.loads(found.to_json())["explanations"]
    contributions = np.array([[*r["contributions"], r["base"]] for r in rows])
    cells = ReasonCells(schema)
    assert cells.tails(x, [r["score"] for r in rows], contributions) == cells.tails(
        x, found.scores, found.contributions
    )
