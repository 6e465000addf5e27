"""Calibration figures: the reliability table, Brier score and expected calibration error (ECE).

The page's editable costs rest on these numbers, so they are checked against hand-worked values,
against scores that are calibrated by construction, and against scores that are not."""

from __future__ import annotations

import numpy as np
import pytest

from ml.model import evaluate as ev
from ml.model.bundle import Bundle, load_archive
from ml.model.train import predict


def test_hand_worked_table_brier_and_ece():
    # 0.3 belongs to [0.3, 0.4) and 1.0 to the last bin: the two edges binning gets wrong most easily.
    y = np.array([0, 1, 0, 1, 1, 1])
    scores = np.array([0.05, 0.05, 0.3, 0.35, 0.95, 1.0])
    figures = ev.calibration(y, scores)
    assert figures["rows"] == 6
    counts = [b["count"] for b in figures["bins"]]
    assert counts == [2, 0, 0, 2, 0, 0, 0, 0, 0, 2]
    first, fourth, last = figures["bins"][0], figures["bins"][3], figures["bins"][9]
    assert (first["lower"], first["upper"]) == (0.0, 0.1)
    assert first["mean_predicted"] == pytest.approx(0.05) and first["observed_rate"] == 0.5
    assert fourth["mean_predicted"] == pytest.approx(0.325) and fourth["observed_rate"] == 0.5
    assert last["mean_predicted"] == pytest.approx(0.975) and last["observed_rate"] == 1.0
    assert figures["bins"][1]["mean_predicted"] is None and figures["bins"][1]["observed_rate"] is None
    # ECE: (2 x 0.45 + 2 x 0.175 + 2 x 0.025) / 6; Brier: the mean squared gap of each customer.
    assert figures["ece"] == pytest.approx(1.3 / 6)
    assert figures["brier"] == pytest.approx((0.0025 + 0.9025 + 0.09 + 0.4225 + 0.0025 + 0.0) / 6)
    assert figures["brier_of_churn_rate"] == pytest.approx((4 / 6) * (2 / 6))


def outcomes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True churn probabilities and outcomes drawn from them: a score equal to the probability is
    calibrated by construction."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 5.0, n)  # skewed low, as churn scores are
    return p, (rng.random(n) < p).astype(int)


def test_calibrated_scores_have_a_small_ece():
    p, y = outcomes(40_000, seed=3)
    figures = ev.calibration(y, p)
    assert figures["ece"] < 0.01
    assert figures["brier"] < figures["brier_of_churn_rate"]
    for b in figures["bins"]:
        if b["count"] >= 1000:
            assert b["observed_rate"] == pytest.approx(b["mean_predicted"], abs=0.03)


@pytest.mark.parametrize(
    ("name", "distort", "at_least"),
    [
        ("overconfident", lambda p: np.clip(0.5 + 2.5 * (p - 0.5), 0, 1), 0.08),
        ("shifted up 20 points", lambda p: np.clip(p + 0.2, 0, 1), 0.15),
        ("ranked right, scale wrong", np.sqrt, 0.15),
    ],
)
def test_miscalibrated_scores_have_a_large_ece(name, distort, at_least):
    """The same outcomes, scored by a distortion of the true probabilities: the ranking (AUC) is
    unchanged, the calibration is not, and the ECE says so."""
    p, y = outcomes(40_000, seed=3)
    calibrated = ev.calibration(y, p)
    distorted = ev.calibration(y, distort(p))
    assert distorted["ece"] > at_least, name
    assert distorted["ece"] > 5 * calibrated["ece"], name
    assert distorted["brier"] > calibrated["brier"], name


def test_mismatched_or_empty_input_is_refused():
    with pytest.raises(ValueError, match="as many labels as scores"):
        ev.calibration(np.array([0, 1]), np.array([0.5]))
    with pytest.raises(ValueError, match="at least one"):
        ev.calibration(np.array([]), np.array([]))


def test_bundle_carries_the_test_split_figures(bundle_dir, synthetic_frame):
    """metrics.json's calibration is the test split's, recomputed here from the bundle's own model;
    the page's config (the schema's decision) carries its summary."""
    from ml.config import DEFAULT
    from ml.data.split import split_frame
    from ml.features.schema import encode_frame, labels

    bundle = Bundle(bundle_dir)
    metrics, schema = bundle.metrics(), bundle.schema()
    figures = metrics["calibration"]
    assert figures["split"] == "test"
    assert len(figures["bins"]) == ev.CALIBRATION_BINS
    assert sum(b["count"] for b in figures["bins"]) == figures["rows"] == metrics["evaluation"]["test"]["rows"]

    test = split_frame(synthetic_frame, DEFAULT.split, DEFAULT.seed)["test"]
    again = ev.calibration(labels(test), predict(load_archive(bundle.model_archive), encode_frame(test, schema)))
    assert again["ece"] == pytest.approx(figures["ece"], abs=1e-6)
    assert again["brier"] == pytest.approx(figures["brier"], abs=1e-6)

    summary = schema["decision"]["calibration"]
    assert summary == {k: figures[k] for k in ("split", "rows", "ece", "brier")}
