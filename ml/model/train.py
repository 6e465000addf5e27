"""Local XGBoost training: the same library and parameters as the SageMaker container."""

from __future__ import annotations

import numpy as np
import xgboost as xgb
from sklearn.model_selection import StratifiedKFold

from ml.config import Hyperparameters


def fit(x: np.ndarray, y: np.ndarray, hp: Hyperparameters, seed: int) -> xgb.Booster:
    # No feature names in the booster: the container scores unnamed CSV columns.
    dtrain = xgb.DMatrix(x, label=y)
    return xgb.train(hp.booster_params(seed), dtrain, num_boost_round=hp.num_round)


def predict(booster: xgb.Booster, x: np.ndarray) -> np.ndarray:
    """Scores as the container computes them (float32 DMatrix, all trees)."""
    scores: np.ndarray = booster.inplace_predict(x.astype(np.float32), validate_features=False)
    return scores.astype(np.float64)


def out_of_fold(x: np.ndarray, y: np.ndarray, hp: Hyperparameters, folds: int, seed: int) -> np.ndarray:
    """Each row scored by a model that never saw it: cutoff selection without touching test."""
    scores = np.empty(len(y))
    for train_idx, held_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        scores[held_idx] = predict(fit(x[train_idx], y[train_idx], hp, seed), x[held_idx])
    return scores


def importance(booster: xgb.Booster, columns: list[str]) -> dict[str, float]:
    """Total gain by model column name (the container model has no names: map f<i>)."""
    gains = booster.get_score(importance_type="total_gain")
    named: dict[str, float] = {}
    for key, value in gains.items():
        index = int(key[1:]) if key.startswith("f") and key[1:].isdigit() else None
        # total_gain is one number per feature (a list only for vector-leaf models, not ours)
        named[columns[index] if index is not None else key] = float(value if isinstance(value, float) else sum(value))
    return dict(sorted(named.items(), key=lambda kv: -kv[1]))
