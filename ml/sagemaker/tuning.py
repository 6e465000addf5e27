"""`--tune`: a hyperparameter tuning job over the training job's estimator, and its best job.

Its trials keep no checkpoints: one CheckpointConfig covers every trial of a tuning job
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HyperParameterTrainingJobDefinition.html),
and the XGBoost container resumes from the newest ``xgboost-checkpoint.N`` it finds there, so a
trial would continue another trial's booster (see ``ml.sagemaker.training``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ml.config import Hyperparameters
from ml.sagemaker.aws import Aws, JobFailed, import_sagemaker, wait_for
from ml.sagemaker.settings import SageMakerSettings, check_name

if TYPE_CHECKING:
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.parameter import ParameterRange
    from sagemaker.tuner import HyperparameterTuner
    from sagemaker.workflow.entities import PipelineVariable


def job_name(name: str, now: float | None = None) -> str:
    """The stack's name, "-hpo-", and the time in seconds since 1970 as 8 hex digits (until 2106).

    Unique per second like a readable timestamp, and short enough for a 16-character NAME
    (16 + 5 + 8 = 29), where "yymmdd-HHMMSS" would not fit. Tuning job names are at most 32 characters
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateHyperParameterTuningJob.html);
    SageMaker names each trial "<tuning job>-NNN-xxxxxxxx", so trials match "<name>-*" too."""
    return f"{check_name(name)}-hpo-{int(time.time() if now is None else now):08x}"


def tuner(est: Estimator, sm: SageMakerSettings) -> HyperparameterTuner:
    import_sagemaker()
    from sagemaker.parameter import ContinuousParameter, IntegerParameter
    from sagemaker.tuner import HyperparameterTuner

    kinds = {"continuous": ContinuousParameter, "integer": IntegerParameter}
    ranges: dict[str | PipelineVariable, ParameterRange] = {
        r.name: kinds[r.kind](r.low, r.high) for r in sm.tuning_ranges
    }
    return HyperparameterTuner(
        est,
        objective_metric_name=sm.tuning_objective,
        hyperparameter_ranges=ranges,
        objective_type="Maximize",
        max_jobs=sm.tuning_max_jobs,
        max_parallel_jobs=sm.tuning_max_parallel_jobs,
        strategy="Bayesian",
    )


def start(
    est: Estimator, channel_inputs: dict[str, TrainingInput], sm: SageMakerSettings, say: Callable[[str], None]
) -> str:
    name = job_name(sm.name)
    tuner(est, sm).fit(channel_inputs, job_name=name, wait=False)
    say(
        f"tuning    job {name}: {sm.tuning_max_jobs} jobs, {sm.tuning_max_parallel_jobs} at a time,"
        f" maximising {sm.tuning_objective}"
    )
    return name


def wait(
    aws: Aws, name: str, sm: SageMakerSettings, say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep
) -> str:
    """The best training job's name once the tuning job completes."""
    desc = wait_for(
        lambda: aws.sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "tuning job",
        name,
        "HyperParameterTuningJobStatus",
        sm.poll_s,
        say,
        sleep,
    )
    best: Mapping[str, Any] = desc.get("BestTrainingJob") or {}
    best_name = best.get("TrainingJobName")
    if not best_name:
        raise JobFailed(f"tuning job {name} completed without a best training job (did every job fail?)")
    metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    say(f"tuning    best job {best_name}: {metric.get('MetricName', sm.tuning_objective)} = {metric.get('Value')}")
    return str(best_name)


def tuned_hyperparameters(base: Hyperparameters, job_hps: Mapping[str, str]) -> Hyperparameters:
    """The job's (string) hyperparameters back into the dataclass; unknown keys ignored."""
    changes: dict[str, Any] = {}  # each value takes its field's type, int, float or str
    for f in dataclasses.fields(Hyperparameters):
        if f.name in job_hps:
            default = getattr(base, f.name)
            raw = str(job_hps[f.name]).strip('"')
            changes[f.name] = (
                int(float(raw)) if isinstance(default, int) else float(raw) if isinstance(default, float) else raw
            )
    return dataclasses.replace(base, **changes)
