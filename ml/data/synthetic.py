"""A seeded synthetic stand-in for the churn dataset, calibrated to its published statistics.

No row of the real file is used: every column is drawn from the published marginals,
and churn from a logistic model whose coefficients were fitted (``calibrate()``) so the
churn rate by international plan, voicemail plan, service calls and day-minutes quartile
matches the real data's (see tests/test_synthetic.py for the tolerances).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.data import raw_schema as rs

SHARE_INTL_PLAN = 0.0969
SHARE_VMAIL_PLAN = 0.2766
VMAIL_MESSAGES = (29.3, 7.6)
AREA_SHARES = {"415": 0.497, "510": 0.252, "408": 0.251}
ACCOUNT_LENGTH = (101.0, 40.0, 1, 243)
MINUTES = {"Day": (179.8, 54.5), "Eve": (201.0, 50.7), "Night": (200.9, 50.6), "Intl": (10.2, 2.8)}
CALLS = (100.0, 20.0)
INTL_CALLS = (4.5, 2.5)
# Share of customers by number of customer-service calls (0 … 9), mean 1.56.
CUSTSERV_SHARES = (0.2091, 0.3543, 0.2277, 0.1287, 0.0498, 0.0198, 0.0066, 0.0027, 0.0006, 0.0006)
# Day-minutes quartile edges of N(179.8, 54.5).
DAY_QUARTILES = (143.04, 179.8, 216.56)

# Churn rates to reproduce (published facts of the real data).
OVERALL_CHURN = 0.1449
TARGETS: dict[str, dict[int, float]] = {
    "intl": {0: 0.115, 1: 0.424},
    "vmail": {0: 0.167, 1: 0.087},
    "custserv": {0: 0.132, 1: 0.103, 2: 0.115, 3: 0.103, 4: 0.458, 5: 0.606, 6: 0.636, 7: 0.556},
    "day_quartile": {0: 0.122, 1: 0.107, 2: 0.058, 3: 0.293},
}
# Logit effects per level, fitted by calibrate() on 400,000 draws (seed 0).
COEFFICIENTS: dict[str, dict[int, float]] = {
    "intl": {0: 0.0, 1: 2.256},
    "vmail": {0: 0.0, 1: -1.01},
    "custserv": {0: -2.344, 1: -2.696, 2: -2.538, 3: -2.691, 4: -0.148, 5: 0.606, 6: 0.777, 7: 0.358},
    "day_quartile": {0: 0.0, 1: -0.192, 2: -1.026, 3: 1.429},
}


def _draw_features(rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    cols["State"] = rng.choice(np.array(rs.US_STATES), rows)
    length = np.rint(rng.normal(ACCOUNT_LENGTH[0], ACCOUNT_LENGTH[1], rows))
    cols["Account Length"] = np.clip(length, ACCOUNT_LENGTH[2], ACCOUNT_LENGTH[3]).astype(int)
    cols["Area Code"] = rng.choice(np.array(list(AREA_SHARES)), rows, p=list(AREA_SHARES.values()))
    # 555 numbers are fictional by convention: a synthetic phone can never be a real one.
    cols["Phone"] = np.char.add("555-", np.char.zfill(rng.integers(0, 10000, rows).astype(str), 4))
    intl = rng.random(rows) < SHARE_INTL_PLAN
    vmail = rng.random(rows) < SHARE_VMAIL_PLAN
    cols["Int'l Plan"] = np.where(intl, "yes", "no")
    cols["VMail Plan"] = np.where(vmail, "yes", "no")
    messages = np.clip(np.rint(rng.normal(*VMAIL_MESSAGES, rows)), 1, 60).astype(int)
    cols["VMail Message"] = np.where(vmail, messages, 0)
    for period, (mean, sd) in MINUTES.items():
        minutes = np.round(np.clip(rng.normal(mean, sd, rows), 0.0, None), 1)
        if period == "Intl":
            # Negative binomial: mean 4.5, sd 2.5 (calls are counts, over-dispersed).
            mu, var = INTL_CALLS[0], INTL_CALLS[1] ** 2
            n = mu * mu / (var - mu)
            calls = rng.negative_binomial(n, n / (n + mu), rows)
        else:
            calls = np.clip(np.rint(rng.normal(*CALLS, rows)), 0, None).astype(int)
        cols[f"{period} Mins"] = minutes
        cols[f"{period} Calls"] = calls
        cols[f"{period} Charge"] = np.round(minutes * rs.CHARGE_RATES[period], 2)
    cols["CustServ Calls"] = rng.choice(len(CUSTSERV_SHARES), rows, p=np.array(CUSTSERV_SHARES) / sum(CUSTSERV_SHARES))
    return cols


def _levels(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        "intl": (cols["Int'l Plan"] == "yes").astype(int),
        "vmail": (cols["VMail Plan"] == "yes").astype(int),
        "custserv": np.minimum(cols["CustServ Calls"], 7),
        "day_quartile": np.searchsorted(DAY_QUARTILES, cols["Day Mins"], side="right"),
    }


def _churn_probability(levels: dict[str, np.ndarray], coefficients: dict[str, dict[int, float]]) -> np.ndarray:
    logit = sum(np.array([coefficients[f][k] for k in sorted(coefficients[f])])[lv] for f, lv in levels.items())
    probability: np.ndarray = 1.0 / (1.0 + np.exp(-logit))
    return probability


def generate(rows: int, seed: int = 42) -> pd.DataFrame:
    """``rows`` synthetic customers with the raw dataset's 21 columns and value formats."""
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    rng = np.random.default_rng(seed)
    cols = _draw_features(rows, rng)
    churn = rng.random(rows) < _churn_probability(_levels(cols), COEFFICIENTS)
    cols[rs.LABEL] = np.where(churn, "True.", "False.")
    frame = pd.DataFrame({name: cols[name] for name in rs.RAW_COLUMNS})
    return frame


def calibrate(rows: int = 400_000, iterations: int = 200) -> dict[str, dict[int, float]]:
    """Fit COEFFICIENTS to TARGETS by iterative logit adjustment (run by hand, printed)."""
    levels = _levels(_draw_features(rows, np.random.default_rng(0)))
    coef = {f: dict.fromkeys(TARGETS[f], 0.0) for f in levels}
    for _ in range(iterations):
        for factor, level in levels.items():
            p = _churn_probability(levels, coef)
            for k, target in TARGETS[factor].items():
                rate = p[level == k].mean()
                coef[factor][k] += np.log(target / (1 - target)) - np.log(rate / (1 - rate))
    for factor in ("intl", "vmail", "day_quartile"):  # anchor level 0 at 0; shift into custserv
        shift = coef[factor][0]
        coef[factor] = {k: v - shift for k, v in coef[factor].items()}
        coef["custserv"] = {k: v + shift for k, v in coef["custserv"].items()}
    return {f: {k: round(float(v), 3) for k, v in c.items()} for f, c in coef.items()}


if __name__ == "__main__":
    print(calibrate())
