"""Every tunable fact of the pipeline, in one frozen settings object.

The hyperparameters, the cost matrix, the split and the cutoff method live here and
nowhere else; the SageMaker backend, the bundle and the report read them from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DATASET_URL = "https://dataminingconsultant.com/DKD2e_data_sets.zip"
DATASET_MEMBER = "Data sets/churn.txt"
SAGEMAKER_XGBOOST_VERSION = "3.0-5"  # container tag; the local library is xgboost 3.0.5


@dataclass(frozen=True)
class CostMatrix:
    """Dollars per outcome: a retention offer costs $100; a lost customer $500."""

    tn: float = 0.0
    fp: float = 100.0
    tp: float = 100.0
    fn: float = 500.0

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Hyperparameters:
    """XGBoost parameters, named as the SageMaker built-in container names them."""

    max_depth: int = 5
    eta: float = 0.2
    gamma: float = 4.0
    min_child_weight: float = 6.0
    subsample: float = 0.8
    colsample_bytree: float = 1.0
    num_round: int = 100
    objective: str = "binary:logistic"
    eval_metric: str = "auc"

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def booster_params(self, seed: int) -> dict[str, object]:
        """Parameters for ``xgboost.train`` (num_round is its own argument)."""
        params = {k: v for k, v in self.as_dict().items() if k != "num_round"}
        return {**params, "seed": seed, "nthread": 0, "tree_method": "hist"}

    def sagemaker(self) -> dict[str, str]:
        """The container takes every hyperparameter as a string."""
        return {k: str(v) for k, v in self.as_dict().items()}


@dataclass(frozen=True)
class Settings:
    preset: str = "default"
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    costs: CostMatrix = field(default_factory=CostMatrix)
    # Train / validation / test fractions and the lab's shuffle seed.
    split: tuple[float, float, float] = (0.7, 0.2, 0.1)
    seed: int = 1729
    # Engineered features on top of the lab's 69 columns (see ml.features.schema.DERIVED).
    derived_features: bool = True
    # "validation": cutoff minimising cost on the validation split (model fit on train).
    # "cv": cutoff minimising cost on out-of-fold predictions over train+validation.
    cutoff_method: str = "cv"
    cv_folds: int = 5
    # Refit on train+validation before scoring the held-out test split.
    final_fit_on_train_and_validation: bool = True
    cutoff_grid: tuple[float, float, float] = (0.01, 0.99, 0.01)

    def __post_init__(self) -> None:
        if abs(sum(self.split) - 1.0) > 1e-9 or min(self.split) <= 0:
            raise ValueError(f"split fractions must be positive and sum to 1, got {self.split}")
        if self.cutoff_method not in ("validation", "cv"):
            raise ValueError(f"cutoff_method must be 'validation' or 'cv', got {self.cutoff_method!r}")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


# The lab's recipe exactly: 69 columns, its hyperparameters, model fit on train,
# (cutoff on validation here, where the notebook used the test split).
NOTEBOOK = Settings(
    preset="notebook",
    derived_features=False,
    cutoff_method="validation",
    final_fit_on_train_and_validation=False,
)
# The lab's hyperparameters, plus the bill as a feature, a cutoff from cross-validation
# and a final fit on train+validation: docs/ml.md "Model quality" has the measurements.
DEFAULT = Settings()

PRESETS = {s.preset: s for s in (DEFAULT, NOTEBOOK)}
