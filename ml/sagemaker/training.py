"""`python -m ml train --backend sagemaker`: the local pipeline's data, trained by SageMaker.

prepare (same Settings, schema, split as local) -> upload train/validation/test CSVs
(label first, no header; unchanged files skipped) -> managed spot training job, or a
hyperparameter tuning job (--tune) and its best training job -> download model.tar.gz
-> cutoff on validation (the job fits on train only) -> the same bundle as local
-> build/model.auto.tfvars.json for Terraform.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.config import PRESETS, Hyperparameters, Settings
from ml.data.dataset import load
from ml.features.encoder import format_csv
from ml.model.bundle import load_archive
from ml.model.pipeline import Prepared, build, cutoff_from, prepare, summary
from ml.model.train import predict
from ml.sagemaker import handoff, tf_outputs
from ml.sagemaker.aws import (
    Aws,
    JobFailed,
    clock_text,
    download,
    image_uri,
    import_sagemaker,
    run_cli,
    upload_if_changed,
    wait_for,
)
from ml.sagemaker.settings import (
    ARTIFACT_PREFIX,
    DATA_PREFIX,
    DEFAULT,
    SageMakerSettings,
)


@dataclass(frozen=True)
class Channels:
    prefix: str  # s3://bucket/data/runs/<sha12>-<preset>/
    train: str
    validation: str
    test: str
    uploaded: tuple[str, ...]
    unchanged: tuple[str, ...]


def labelled_csv(x: np.ndarray, y: np.ndarray) -> bytes:
    """The container's training CSV: label in the first column, no header."""
    return format_csv(np.column_stack([y, x])).encode("ascii")


def run_prefix(prep: Prepared, settings: Settings) -> str:
    return f"{DATA_PREFIX}runs/{prep.provenance.sha256[:12]}-{settings.preset}/"


def split_files(prep: Prepared, instance_count: int) -> dict[str, bytes]:
    """Relative key -> bytes. With N instances the train split is N shard files in a folder of its own."""
    files = {}
    if instance_count == 1:
        files["train/train.csv"] = labelled_csv(prep.x["train"], prep.y["train"])
    else:
        shards = np.array_split(np.arange(len(prep.y["train"])), instance_count)
        for i, rows in enumerate(shards):
            files[f"train-{instance_count}-shards/part-{i:05d}.csv"] = labelled_csv(
                prep.x["train"][rows], prep.y["train"][rows]
            )
    for name in ("validation", "test"):
        files[f"{name}/{name}.csv"] = labelled_csv(prep.x[name], prep.y[name])
    return files


def upload_splits(s3, bucket: str, prep: Prepared, settings: Settings, instance_count: int = 1) -> Channels:
    prefix = run_prefix(prep, settings)
    uploaded, unchanged = [], []
    for rel, body in split_files(prep, instance_count).items():
        key = prefix + rel
        (uploaded if upload_if_changed(s3, bucket, key, body) else unchanged).append(key)
    base = f"s3://{bucket}/{prefix}"
    train_dir = "train/" if instance_count == 1 else f"train-{instance_count}-shards/"
    return Channels(base, base + train_dir, base + "validation/", base + "test/", tuple(uploaded), tuple(unchanged))


def estimator(aws: Aws, bucket: str, role_arn: str, image: str, settings: Settings, sm: SageMakerSettings, run: str):
    import_sagemaker()
    from sagemaker.estimator import Estimator

    spot = {}
    if sm.use_spot:
        spot = {
            "use_spot_instances": True,
            "max_wait": sm.max_wait_s,
            "checkpoint_s3_uri": f"s3://{bucket}/{ARTIFACT_PREFIX}checkpoints/{run}/",
        }
    return Estimator(
        image_uri=image,
        role=role_arn,
        instance_count=sm.instance_count,
        instance_type=sm.instance_type,
        volume_size=sm.volume_gb,
        max_run=sm.max_run_s,
        output_path=f"s3://{bucket}/{ARTIFACT_PREFIX}training/",
        hyperparameters=settings.hyperparameters.sagemaker(),
        base_job_name=sm.base_job_name,
        sagemaker_session=aws.sagemaker_session(bucket),
        disable_profiler=True,
        **spot,
    )


def inputs(channels: Channels, instance_count: int) -> dict[str, Any]:
    import_sagemaker()
    from sagemaker.inputs import TrainingInput

    distribution = "ShardedByS3Key" if instance_count > 1 else "FullyReplicated"
    return {
        "train": TrainingInput(channels.train, content_type="text/csv", distribution=distribution),
        "validation": TrainingInput(channels.validation, content_type="text/csv", distribution="FullyReplicated"),
    }


def tuner(est, sm: SageMakerSettings):
    import_sagemaker()
    from sagemaker.tuner import (
        ContinuousParameter,
        HyperparameterTuner,
        IntegerParameter,
    )

    kinds = {"continuous": ContinuousParameter, "integer": IntegerParameter}
    ranges = {r.name: kinds[r.kind](r.low, r.high) for r in sm.tuning_ranges}
    return HyperparameterTuner(
        est,
        objective_metric_name=sm.tuning_objective,
        hyperparameter_ranges=ranges,
        objective_type="Maximize",
        max_jobs=sm.tuning_max_jobs,
        max_parallel_jobs=sm.tuning_max_parallel_jobs,
        strategy="Bayesian",
    )


def start_training(aws: Aws, est, channel_inputs: dict[str, Any], sm: SageMakerSettings, say) -> str:
    est.fit(channel_inputs, wait=False, logs=False)
    name = est.latest_training_job.name
    say(f"training  job {name}: {sm.instance_count} x {sm.instance_type}" + (" (managed spot)" if sm.use_spot else ""))
    return name


def start_tuning(aws: Aws, est, channel_inputs: dict[str, Any], sm: SageMakerSettings, say) -> str:
    job_name = f"churn-hpo-{time.strftime('%y%m%d-%H%M%S')}"  # tuning job names: at most 32 characters
    tuner(est, sm).fit(channel_inputs, job_name=job_name, wait=False)
    say(
        f"tuning    job {job_name}: {sm.tuning_max_jobs} jobs, {sm.tuning_max_parallel_jobs} at a time, maximising {sm.tuning_objective}"
    )
    return job_name


def wait_training(aws: Aws, name: str, sm: SageMakerSettings, say, sleep=time.sleep) -> dict[str, Any]:
    return wait_for(
        lambda: aws.sm.describe_training_job(TrainingJobName=name),
        "training job",
        name,
        "TrainingJobStatus",
        sm.poll_s,
        say,
        sleep,
    )


def wait_tuning(aws: Aws, name: str, sm: SageMakerSettings, say, sleep=time.sleep) -> str:
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
    best = desc.get("BestTrainingJob") or {}
    if not best.get("TrainingJobName"):
        raise JobFailed(f"tuning job {name} completed without a best training job (did every job fail?)")
    metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    say(
        f"tuning    best job {best['TrainingJobName']}: {metric.get('MetricName', sm.tuning_objective)} = {metric.get('Value')}"
    )
    return best["TrainingJobName"]


def spot_report(job: dict[str, Any]) -> str:
    training, billable = job.get("TrainingTimeInSeconds"), job.get("BillableTimeInSeconds")
    if not training:
        return "time      not reported"
    text = f"time      {training}s training, {billable if billable is not None else '?'}s billable"
    if billable is not None and job.get("EnableManagedSpotTraining"):
        text += f", managed spot saved {100.0 * (1 - billable / training):.0f}%"
    return text


def tuned_hyperparameters(base: Hyperparameters, job_hps: dict[str, str]) -> Hyperparameters:
    """The job's (string) hyperparameters back into the dataclass; unknown keys ignored."""
    changes = {}
    for f in dataclasses.fields(Hyperparameters):
        if f.name in job_hps:
            default = getattr(base, f.name)
            raw = str(job_hps[f.name]).strip('"')
            changes[f.name] = (
                int(float(raw)) if isinstance(default, int) else float(raw) if isinstance(default, float) else raw
            )
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class Result:
    job: dict[str, Any]
    model_data_url: str
    image_uri: str
    metrics: dict[str, Any]
    tfvars_path: Path
    channels: Channels


def train(
    aws: Aws,
    prep: Prepared,
    settings: Settings,
    bucket: str,
    role_arn: str,
    out_dir: Path,
    sm: SageMakerSettings = DEFAULT,
    tune: bool = False,
    say: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    channels = upload_splits(aws.s3, bucket, prep, settings, sm.instance_count)
    say(f"data      {channels.prefix}: {len(channels.uploaded)} uploaded, {len(channels.unchanged)} unchanged")
    image = image_uri(aws.region)
    run = channels.prefix.rstrip("/").rsplit("/", 1)[-1]
    est = estimator(aws, bucket, role_arn, image, settings, sm, run)
    channel_inputs = inputs(channels, sm.instance_count)
    try:
        if tune:
            name = wait_tuning(aws, start_tuning(aws, est, channel_inputs, sm, say), sm, say, sleep)
        else:
            name = start_training(aws, est, channel_inputs, sm, say)
        job = wait_training(aws, name, sm, say, sleep)
    except KeyboardInterrupt:
        say(
            "interrupted: the job keeps running (and billing) in SageMaker; stop it in the console or with `aws sagemaker stop-training-job`"
        )
        raise
    say(spot_report(job))
    model_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    with tempfile.TemporaryDirectory() as tmp:
        booster = load_archive(download(aws.s3, model_url, Path(tmp) / "model.tar.gz"))
    used = settings.replace(
        hyperparameters=tuned_hyperparameters(settings.hyperparameters, job.get("HyperParameters", {}))
    )
    scores = predict(booster, prep.x["validation"])
    cutoff = cutoff_from(
        prep.y["validation"],
        scores,
        used,
        "validation",
        f"validation split, model fit on train by SageMaker job {job['TrainingJobName']}",
    )
    bundle, metrics = build(booster, prep, used, cutoff, {"validation": scores}, "train", out_dir)
    tfvars_path, _values = handoff.write_tfvars(bundle.path, model_url, image)
    return Result(job, model_url, image, metrics, tfvars_path, channels)


def main(args) -> int:
    settings = PRESETS[args.preset]
    started = time.perf_counter()

    def run() -> int:
        sm = DEFAULT.replace(instance_count=args.instance_count)
        bucket = tf_outputs.resolve("data_bucket", args.bucket)
        role = tf_outputs.resolve("sagemaker_role_arn", args.role_arn)
        frame, provenance = load(args.data, args.rows, args.seed)
        prep = prepare(settings, frame, provenance)
        result = train(Aws.create(), prep, settings, bucket, role, args.out, sm, tune=args.tune)
        print(summary(result.metrics))
        print(f"model     {result.model_data_url}")
        print(f"bundle    {args.out}/ and {result.tfvars_path} in {clock_text(time.perf_counter() - started)}")
        return 0

    return run_cli(run)
