"""Facts of the SageMaker side (instances, limits, tuning ranges, S3 layout), in one frozen object.

The model's own settings (hyperparameters, split, costs) stay in ``ml.config``: a SageMaker
run uses them unchanged, so it is measured exactly like a local one.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the instance types SageMaker accepts, as Literal types (types-boto3, dev only)
    from types_boto3_sagemaker.literals import TrainingInstanceTypeType, TransformInstanceTypeType

# Where the Terraform role lets SageMaker read and write (modules/endpoint: training_data_prefix
# and artifact_prefix): data under data/, everything SageMaker writes under models/.
DATA_PREFIX = "data/"
ARTIFACT_PREFIX = "models/"

# The stack's NAME (make NAME=, terraform's name_prefix, the same rule): the deploy role may act only
# on SageMaker jobs and models named "<NAME>-*" (terraform/bootstrap), so every name we give starts so.
NAME = re.compile(r"[a-z][a-z0-9-]{0,14}[a-z0-9]")
DEFAULT_NAME = "churn"

# A training job name is at most 63 characters of [a-zA-Z0-9](-*[a-zA-Z0-9])*
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html);
# ml.sagemaker.training.job_name appends "-YYYYmmdd-HHMMSS-xxxx" to "<NAME>-xgb" (at most 41 in all).
JOB_NAME_SUFFIX_LENGTH = 21


def check_name(name: str) -> str:
    """``name`` if it is a valid stack NAME, else ValueError saying the rule."""
    if not NAME.fullmatch(name):
        raise ValueError(
            f"name {name!r} must be 2-16 characters of a-z, 0-9 and '-', start with a letter and not end"
            " with '-' (the stack's NAME, terraform's name_prefix)"
        )
    return name


@dataclass(frozen=True)
class Range:
    name: str
    kind: str  # "continuous" | "integer"
    low: float
    high: float


@dataclass(frozen=True)
class SageMakerSettings:
    instance_type: TrainingInstanceTypeType = "ml.m5.xlarge"
    instance_count: int = 1
    volume_gb: int = 10
    use_spot: bool = True
    max_run_s: int = 3600  # training time limit
    max_wait_s: int = 7200  # training + waiting for spot capacity (must be >= max_run_s)
    # --tune: Bayesian search over the same parameters the local preset sets.
    tuning_max_jobs: int = 20
    tuning_max_parallel_jobs: int = 2
    tuning_objective: str = "validation:auc"
    tuning_ranges: tuple[Range, ...] = (
        Range("eta", "continuous", 0.05, 0.5),
        Range("max_depth", "integer", 2, 10),
        Range("min_child_weight", "continuous", 1.0, 10.0),
        Range("gamma", "continuous", 0.0, 10.0),
        Range("subsample", "continuous", 0.5, 1.0),
        Range("num_round", "integer", 50, 300),
    )
    transform_instance_type: TransformInstanceTypeType = "ml.m5.large"
    transform_instance_count: int = 1
    name: str = DEFAULT_NAME  # the stack's NAME: every job and model name starts "<name>-"
    poll_s: float = 30.0  # describe every N seconds while waiting

    def __post_init__(self) -> None:
        if self.instance_count < 1:
            raise ValueError(f"instance_count must be at least 1, got {self.instance_count}")
        if self.use_spot and self.max_wait_s < self.max_run_s:
            raise ValueError("max_wait_s must be at least max_run_s for managed spot training")
        check_name(self.name)

    @property
    def base_job_name(self) -> str:
        """Training jobs: "<name>-xgb-<time>-<hex>" (ml.sagemaker.training.job_name)."""
        return f"{self.name}-xgb"

    def replace(self, **changes: Any) -> SageMakerSettings:
        return dataclasses.replace(self, **changes)


DEFAULT = SageMakerSettings()
