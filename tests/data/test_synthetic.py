"""The synthetic generator reproduces the real data's published statistics."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data import raw_schema as rs
from ml.data.synthetic import DAY_QUARTILES, generate

N = 40_000  # large enough that sampling noise (~0.4 pp on 14%) sits well inside the tolerances


@pytest.fixture(scope="module")
def frame():
    return generate(N, seed=5)


def rate(mask, churn) -> float:
    return float(churn[mask].mean())


def test_shape_and_formats(frame):
    assert list(frame.columns) == list(rs.RAW_COLUMNS)
    assert set(frame["State"]) == set(rs.US_STATES) and len(set(frame["State"])) == 51
    assert set(frame[rs.LABEL]) == {"True.", "False."}
    for period, rate_per_min in rs.CHARGE_RATES.items():
        expected = np.round(frame[f"{period} Mins"] * rate_per_min, 2)
        assert np.allclose(frame[f"{period} Charge"], expected, atol=1e-9)


def test_seeded_and_any_size():
    assert generate(7, seed=1).equals(generate(7, seed=1))
    assert not generate(50, seed=1).equals(generate(50, seed=2))
    assert len(generate(1, seed=0)) == 1


@pytest.mark.parametrize(
    ("column", "share", "tol"),
    [("Int'l Plan", 0.0969, 0.006), ("VMail Plan", 0.2766, 0.01)],
)
def test_plan_shares(frame, column, share, tol):
    assert (frame[column] == "yes").mean() == pytest.approx(share, abs=tol)


def test_area_code_shares(frame):
    shares = frame["Area Code"].value_counts(normalize=True)
    for code, share in {"415": 0.497, "510": 0.252, "408": 0.251}.items():
        assert shares[code] == pytest.approx(share, abs=0.01)


@pytest.mark.parametrize(
    ("column", "mean", "sd"),
    [
        ("Account Length", 101, 40),
        ("Day Mins", 179.8, 54.5),
        ("Eve Mins", 201.0, 50.7),
        ("Night Mins", 200.9, 50.6),
        ("Intl Mins", 10.2, 2.8),
        ("Day Calls", 100, 20),
        ("Eve Calls", 100, 20),
        ("Night Calls", 100, 20),
        ("Intl Calls", 4.5, 2.5),
    ],
)
def test_numeric_marginals(frame, column, mean, sd):
    """Means within 2% and standard deviations within 6% of the published ones."""
    assert frame[column].mean() == pytest.approx(mean, rel=0.02)
    assert frame[column].std() == pytest.approx(sd, rel=0.06)


def test_ranges_and_voicemail(frame):
    assert frame["Account Length"].between(1, 243).all()
    no_plan = frame["VMail Plan"] == "no"
    assert (frame.loc[no_plan, "VMail Message"] == 0).all()
    with_plan = frame.loc[~no_plan, "VMail Message"]
    assert with_plan.mean() == pytest.approx(29.3, rel=0.03) and with_plan.std() == pytest.approx(7.6, rel=0.1)
    assert frame["CustServ Calls"].mean() == pytest.approx(1.56, abs=0.04)


def test_churn_rates(frame):
    """Churn overall and by each driver, within 1 pp (overall) to 4 pp (small groups)."""
    churn = (frame[rs.LABEL] == "True.").to_numpy()
    assert churn.mean() == pytest.approx(0.1449, abs=0.01)
    intl = (frame["Int'l Plan"] == "yes").to_numpy()
    assert rate(intl, churn) == pytest.approx(0.424, abs=0.035)
    assert rate(~intl, churn) == pytest.approx(0.115, abs=0.01)
    vmail = (frame["VMail Plan"] == "yes").to_numpy()
    assert rate(vmail, churn) == pytest.approx(0.087, abs=0.015)
    assert rate(~vmail, churn) == pytest.approx(0.167, abs=0.015)
    calls = frame["CustServ Calls"].to_numpy()
    for k in range(4):
        assert 0.09 <= rate(calls == k, churn) <= 0.145, k
    for k in range(4, 7):
        assert 0.43 <= rate(calls == k, churn) <= 0.66, k
    quartile = np.searchsorted(DAY_QUARTILES, frame["Day Mins"], side="right")
    for q, expected in enumerate((0.122, 0.107, 0.058, 0.293)):
        assert rate(quartile == q, churn) == pytest.approx(expected, abs=0.02), q


def test_never_samples_the_real_file(frame):
    """Phones are fictional 555 numbers: no row can be a row of the real file."""
    assert frame["Phone"].str.fullmatch(r"555-\d{4}").all()
