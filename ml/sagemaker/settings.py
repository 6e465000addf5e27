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

# A training job name is at most 63 characters of [a-zA-Z0-9](-*[a-zA-Z0-9])*
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html);
# ml.sagemaker.training.job_name appends "-YYYYmmdd-HHMMSS-xxxx" to the base name.
JOB_NAME_SUFFIX_LENGTH = 21
BASE_JOB_NAME = re.compile(rf"[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{63 - JOB_NAME_SUFFIX_LENGTH - 1}}}")


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
    base_job_name: str = "churn-xgb"
    poll_s: float = 30.0  # describe every N seconds while waiting

    def __post_init__(self) -> None:
        if self.instance_count < 1:
            raise ValueError(f"instance_count must be at least 1, got {self.instance_count}")
        if self.use_spot and self.max_wait_s < self.max_run_s:
            raise ValueError("max_wait_s must be at least max_run_s for managed spot training")
        if not BASE_JOB_NAME.fullmatch(self.base_job_name):
            raise ValueError(
                f"base_job_name {self.base_job_name!r} must be 1-{63 - JOB_NAME_SUFFIX_LENGTH} letters, digits"
                " and inner hyphens (SageMaker job names: at most 63 characters, with the time appended)"
            )

    def replace(self, **changes: Any) -> SageMakerSettings:
        return dataclasses.replace(self, **changes)


DEFAULT = SageMakerSettings()
