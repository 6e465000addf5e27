"""`python -m ml train --backend sagemaker`: the local pipeline's data, trained by SageMaker.

prepare (same Settings, schema, split as local) -> upload train/validation/test CSVs
(label first, no header; unchanged files skipped) -> managed spot training job, or a
hyperparameter tuning job (--tune) and its best training job -> download model.tar.gz
-> cutoff on validation (the job fits on train only) -> the same bundle as local
-> registered in the model registry, pending manual approval (build/registered.json).
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.config import PRESETS, Settings
from ml.data.dataset import load
from ml.model.bundle import load_archive
from ml.model.pipeline import Prepared, build, cutoff_from, labelled_csv, prepare, summary
from ml.model.train import predict
from ml.sagemaker import registry, tf_outputs, tuning
from ml.sagemaker.aws import (
    Aws,
    clock_text,
    download,
    image_uri,
    import_sagemaker,
    run_cli,
    upload_if_changed,
    wait_for,
)
from ml.sagemaker.publish import held_out_csv, register, upload_model
from ml.sagemaker.settings import (
    ARTIFACT_PREFIX,
    DATA_PREFIX,
    DEFAULT,
    SageMakerSettings,
)

if TYPE_CHECKING:
    from sagemaker.estimator import Estimator
    from sagemaker.inputs import TrainingInput
    from sagemaker.workflow.entities import PipelineVariable
    from types_boto3_s3 import S3Client


@dataclass(frozen=True)
class Channels:
    prefix: str  # s3://bucket/data/runs/<sha12>-<preset>/
    train: str
    validation: str
    test: str
    uploaded: tuple[str, ...]
    unchanged: tuple[str, ...]


def run_prefix(prep: Prepared, settings: Settings) -> str:
    return f"{DATA_PREFIX}runs/{prep.provenance.sha256[:12]}-{settings.preset}/"


def split_files(prep: Prepared, instance_count: int) -> dict[str, bytes]:
    """Relative key -> bytes. With N instances the train split is N shard files in a folder of its own."""
    files: dict[str, bytes] = {}
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


def upload_splits(s3: S3Client, bucket: str, prep: Prepared, settings: Settings, instance_count: int = 1) -> Channels:
    prefix = run_prefix(prep, settings)
    uploaded: list[str] = []
    unchanged: list[str] = []
    for rel, body in split_files(prep, instance_count).items():
        key = prefix + rel
        (uploaded if upload_if_changed(s3, bucket, key, body) else unchanged).append(key)
    base = f"s3://{bucket}/{prefix}"
    train_dir = "train/" if instance_count == 1 else f"train-{instance_count}-shards/"
    return Channels(base, base + train_dir, base + "validation/", base + "test/", tuple(uploaded), tuple(unchanged))


def job_name(base: str, now: float | None = None) -> str:
    """A training job name of our own (so its checkpoint prefix can carry it): base, UTC time, 4 random hex.

    Names: at most 63 characters of ``[a-zA-Z0-9](-*[a-zA-Z0-9])*``
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTrainingJob.html).
    """
    return f"{base}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{secrets.token_hex(2)}"


def checkpoint_uri(bucket: str, job: str) -> str:
    """Each job's own checkpoint prefix. SageMaker copies the prefix into /opt/ml/checkpoints when a job
    starts (https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints-resume.html) and the XGBoost
    container (aws/sagemaker-xgboost-container, algorithm_mode/train.py and checkpointing.py) resumes
    from the newest ``xgboost-checkpoint.N`` there, training only num_round - N - 1 more rounds: a
    prefix shared by reruns or trials would hand a job another job's booster.
    """
    return f"s3://{bucket}/{ARTIFACT_PREFIX}checkpoints/{job}/"


def estimator(
    aws: Aws,
    bucket: str,
    role_arn: str,
    image: str,
    settings: Settings,
    sm: SageMakerSettings,
    checkpoint: str | None,
) -> Estimator:
    """``checkpoint``: the S3 prefix of this one job's spot checkpoints, or None for none."""
    import_sagemaker()
    from sagemaker.estimator import Estimator

    hyperparameters: dict[str, str | PipelineVariable] = dict(settings.hyperparameters.sagemaker())
    return Estimator(
        image_uri=image,
        role=role_arn,
        instance_count=sm.instance_count,
        instance_type=sm.instance_type,
        volume_size=sm.volume_gb,
        max_run=sm.max_run_s,
        output_path=f"s3://{bucket}/{ARTIFACT_PREFIX}training/",
        hyperparameters=hyperparameters,
        base_job_name=sm.base_job_name,
        sagemaker_session=aws.sagemaker_session(bucket),
        disable_profiler=True,
        use_spot_instances=sm.use_spot,
        max_wait=sm.max_wait_s if sm.use_spot else None,
        checkpoint_s3_uri=checkpoint if sm.use_spot else None,
    )


def inputs(channels: Channels, instance_count: int) -> dict[str, TrainingInput]:
    import_sagemaker()
    from sagemaker.inputs import TrainingInput

    distribution = "ShardedByS3Key" if instance_count > 1 else "FullyReplicated"
    return {
        "train": TrainingInput(channels.train, content_type="text/csv", distribution=distribution),
        "validation": TrainingInput(channels.validation, content_type="text/csv", distribution="FullyReplicated"),
    }


def start_training(
    est: Estimator,
    channel_inputs: dict[str, TrainingInput],
    name: str,
    sm: SageMakerSettings,
    say: Callable[[str], None],
) -> str:
    est.fit(channel_inputs, job_name=name, wait=False, logs=False)
    say(f"training  job {name}: {sm.instance_count} x {sm.instance_type}" + (" (managed spot)" if sm.use_spot else ""))
    return name


def wait_training(
    aws: Aws, name: str, sm: SageMakerSettings, say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep
) -> Mapping[str, Any]:
    return wait_for(
        lambda: aws.sm.describe_training_job(TrainingJobName=name),
        "training job",
        name,
        "TrainingJobStatus",
        sm.poll_s,
        say,
        sleep,
    )


def spot_report(job: Mapping[str, Any]) -> str:
    training, billable = job.get("TrainingTimeInSeconds"), job.get("BillableTimeInSeconds")
    if not training:
        return "time      not reported"
    text = f"time      {training}s training, {billable if billable is not None else '?'}s billable"
    if billable is not None and job.get("EnableManagedSpotTraining"):
        text += f", managed spot saved {100.0 * (1 - billable / training):.0f}%"
    return text


@dataclass(frozen=True)
class Result:
    job: Mapping[str, Any]
    model_data_url: str
    image_uri: str
    metrics: dict[str, Any]
    channels: Channels
    model_package_arn: str


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
    channel_inputs = inputs(channels, sm.instance_count)
    try:
        if tune:  # no checkpoints: one prefix would be shared by every trial (ml.sagemaker.tuning)
            est = estimator(aws, bucket, role_arn, image, settings, sm, checkpoint=None)
            name = tuning.wait(aws, tuning.start(est, channel_inputs, sm, say), sm, say, sleep)
        else:
            name = job_name(sm.base_job_name)
            est = estimator(aws, bucket, role_arn, image, settings, sm, checkpoint_uri(bucket, name))
            start_training(est, channel_inputs, name, sm, say)
        job = wait_training(aws, name, sm, say, sleep)
    except KeyboardInterrupt:
        say(
            "interrupted: the job keeps running (and billing) in SageMaker;"
            " stop it in the console or with `aws sagemaker stop-training-job`"
        )
        raise
    say(spot_report(job))
    model_url = str(job["ModelArtifacts"]["S3ModelArtifacts"])
    with tempfile.TemporaryDirectory() as tmp:
        booster = load_archive(download(aws.s3, model_url, Path(tmp) / "model.tar.gz"))
    used = settings.replace(
        hyperparameters=tuning.tuned_hyperparameters(settings.hyperparameters, job.get("HyperParameters", {}))
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
    # The job's archive holds the booster alone (algorithm mode); the endpoint serves the bundle's,
    # the same booster with the inference script, under its own content-addressed key.
    served_url, _ = upload_model(aws.s3, bucket, bundle)
    # The group Terraform created is named after the stack (name_prefix), as every job is.
    package = register(aws, bundle, served_url, sm.name, held_out_csv(prep))
    say(f"registry  {package} ({registry.PENDING}: {registry.next_step(package)})")
    return Result(job, served_url, image, metrics, channels, package)


def main(args: argparse.Namespace) -> int:
    settings = PRESETS[args.preset]
    started = time.perf_counter()

    def run() -> int:
        sm = DEFAULT.replace(instance_count=args.instance_count, name=args.name)
        bucket = tf_outputs.resolve("data_bucket", args.bucket)
        role = tf_outputs.resolve("sagemaker_role_arn", args.role_arn)
        frame, provenance = load(args.data, args.rows, args.seed)
        prep = prepare(settings, frame, provenance)
        result = train(Aws.create(), prep, settings, bucket, role, args.out, sm, tune=args.tune)
        print(summary(result.metrics))
        print(f"model     {result.model_data_url}")
        print(f"bundle    {args.out}/ in {clock_text(time.perf_counter() - started)}")
        return 0

    return run_cli(run)
