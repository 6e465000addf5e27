"""Training jobs against moto: the exact requests, failures, and the end-to-end bundle + tfvars."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml.config import SAGEMAKER_XGBOOST_VERSION, Settings
from ml.model.bundle import Bundle, archive_members
from ml.model.pipeline import Prepared
from ml.model.train import predict
from ml.sagemaker import registry, training, tuning
from ml.sagemaker.aws import Aws, JobFailed, wait_for
from ml.sagemaker.settings import DEFAULT, JOB_NAME_SUFFIX_LENGTH, SageMakerSettings
from tests.botocore_shapes import InvalidRequest, RequestValidator, request_violations
from tests.sagemaker.sm_fixtures import BUCKET, REGION, ROLE, answer, capture

FAST = DEFAULT.replace(poll_s=0)
IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:{SAGEMAKER_XGBOOST_VERSION}"


def no_sleep(_seconds: float) -> None:
    pass


def quiet(_line: str) -> None:
    pass


def place_artifact(aws: Aws, archive: Path) -> list[str]:
    """After each CreateTrainingJob, put a real model.tar.gz where moto says the job wrote it."""
    placed: list[str] = []
    names = capture(aws.sm, "CreateTrainingJob")

    def after(**_: Any) -> None:
        job = aws.sm.describe_training_job(TrainingJobName=names[-1]["TrainingJobName"])
        uri = job["ModelArtifacts"]["S3ModelArtifacts"]
        bucket, key = uri[5:].split("/", 1)
        aws.s3.put_object(Bucket=bucket, Key=key, Body=archive.read_bytes())
        placed.append(uri)

    aws.sm.meta.events.register("after-call.sagemaker.CreateTrainingJob", after)
    return placed


def fake_best_job(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request of the job moto's tuning job always names as its best."""
    return {
        "TrainingJobName": "FakeTrainingJobName",
        "HyperParameters": dict(hyperparameters),
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models/training/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }


@dataclass(frozen=True)
class Trained:
    result: training.Result
    requests: list[dict[str, Any]]  # CreateTrainingJob
    placed: list[str]  # where the fake job put its model.tar.gz
    lines: list[str]  # what train() said
    tmp: Path


@pytest.fixture
def trained(aws: Aws, prep: Prepared, small_settings: Settings, local_bundle: Path, tmp_path: Path) -> Trained:
    requests = capture(aws.sm, "CreateTrainingJob")
    placed = place_artifact(aws, local_bundle / "model.tar.gz")
    lines: list[str] = []
    result = training.train(
        aws, prep, small_settings, BUCKET, ROLE, tmp_path / "model", FAST, say=lines.append, sleep=no_sleep
    )
    return Trained(result, requests, placed, lines, tmp_path)


def test_create_training_job_request(trained: Trained, small_settings: Settings, prep: Prepared) -> None:
    assert len(trained.requests) == 1
    req = trained.requests[0]
    assert req["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert req["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert req["RoleArn"] == ROLE
    assert req["EnableManagedSpotTraining"] is True
    assert req["StoppingCondition"] == {
        "MaxRuntimeInSeconds": DEFAULT.max_run_s,
        "MaxWaitTimeInSeconds": DEFAULT.max_wait_s,
    }
    run = f"{prep.provenance.sha256[:12]}-{small_settings.preset}"
    assert req["CheckpointConfig"] == {"S3Uri": f"s3://{BUCKET}/models/checkpoints/{req['TrainingJobName']}/"}
    assert req["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/models/training/"
    assert req["ResourceConfig"]["InstanceCount"] == 1
    assert req["ResourceConfig"]["InstanceType"] == DEFAULT.instance_type
    hps = req["HyperParameters"]
    assert hps == small_settings.hyperparameters.sagemaker()
    assert all(isinstance(v, str) for v in hps.values())
    channels = {c["ChannelName"]: c for c in req["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    for name, channel in channels.items():
        assert channel["ContentType"] == "text/csv"
        source = channel["DataSource"]["S3DataSource"]
        assert source["S3DataType"] == "S3Prefix"
        assert source["S3Uri"] == f"s3://{BUCKET}/data/runs/{run}/{name}/"
        assert source["S3DataDistributionType"] == "FullyReplicated"


def test_reruns_never_share_a_checkpoint_prefix(
    aws: Aws, prep: Prepared, small_settings: Settings, local_bundle: Path, tmp_path: Path
) -> None:
    """Issue 9, defect 5: the container resumes from any checkpoint under the job's prefix: one prefix per job."""
    requests = capture(aws.sm, "CreateTrainingJob")
    place_artifact(aws, local_bundle / "model.tar.gz")
    for run in ("first", "second"):  # same data, same preset: the old prefix was the same
        training.train(aws, prep, small_settings, BUCKET, ROLE, tmp_path / run, FAST, say=quiet, sleep=no_sleep)
    names = [r["TrainingJobName"] for r in requests]
    prefixes = [r["CheckpointConfig"]["S3Uri"] for r in requests]
    assert len(set(names)) == 2 and len(set(prefixes)) == 2
    assert prefixes == [f"s3://{BUCKET}/models/checkpoints/{name}/" for name in names]


LONGEST_NAME = "a1234567-9abcde9"  # 16 characters: terraform's name_prefix allows no more


def test_job_names_are_valid_at_the_longest_name() -> None:
    """A 16-character NAME still gives training and tuning job names SageMaker accepts (63 and 32 characters)."""
    sm = SageMakerSettings(name=LONGEST_NAME)
    train_name = training.job_name(sm.base_job_name)
    assert train_name.startswith(f"{LONGEST_NAME}-xgb-") and len(train_name) == 16 + 4 + JOB_NAME_SUFFIX_LENGTH
    assert request_violations("sagemaker", "DescribeTrainingJob", {"TrainingJobName": train_name}) == []
    # The largest time 8 hex digits hold: the longest tuning job name this scheme makes.
    for now in (0.0, 1_765_000_000.0, 2.0**32 - 1):
        tune_name = tuning.job_name(LONGEST_NAME, now)
        assert tune_name.startswith(f"{LONGEST_NAME}-hpo-") and len(tune_name) == 29
        tuning_request = {"HyperParameterTuningJobName": tune_name}
        assert request_violations("sagemaker", "DescribeHyperParameterTuningJob", tuning_request) == []
    assert tuning.job_name("churn", 1) != tuning.job_name("churn", 2)


@pytest.mark.parametrize("bad", ["a", LONGEST_NAME + "x", "Churn", "churn_b", "-churn", "churn-", "9churn", ""])
def test_a_name_terraform_would_reject_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match=r"2-16 characters of a-z, 0-9 and '-'"):
        SageMakerSettings(name=bad)
    with pytest.raises(ValueError, match="name_prefix"):
        tuning.job_name(bad)


def test_another_name_names_every_training_and_tuning_job(
    aws: Aws, prep: Prepared, small_settings: Settings, local_bundle: Path, tmp_path: Path
) -> None:
    """Issue: another stack NAME broke training. The deploy role allows SageMaker only on
    training-job/<NAME>-* and hyper-parameter-tuning-job/<NAME>-* (terraform/bootstrap/github.tf)."""
    sm = FAST.replace(name="team-b2")
    aws.sm.create_model_package_group(ModelPackageGroupName="team-b2")  # that stack's Terraform would
    registered = capture(aws.sm, "CreateModelPackage")
    trainings = capture(aws.sm, "CreateTrainingJob")
    tunings = capture(aws.sm, "CreateHyperParameterTuningJob")
    place_artifact(aws, local_bundle / "model.tar.gz")
    training.train(aws, prep, small_settings, BUCKET, ROLE, tmp_path / "plain", sm, say=quiet, sleep=no_sleep)
    # moto's tuning job names "FakeTrainingJobName" as its best job, whatever the name: only the request is ours.
    aws.sm.create_training_job(**fake_best_job(small_settings.hyperparameters.sagemaker()))
    training.train(
        aws, prep, small_settings, BUCKET, ROLE, tmp_path / "tuned", sm, tune=True, say=quiet, sleep=no_sleep
    )
    names = [r["TrainingJobName"] for r in trainings[:1]] + [r["HyperParameterTuningJobName"] for r in tunings]
    assert len(names) == 2 and all(fnmatch.fnmatchcase(n, "team-b2-*") for n in names), names
    assert names[0].startswith("team-b2-xgb-") and names[1].startswith("team-b2-hpo-")
    assert not any(n.startswith("churn") for n in names)
    assert [r["ModelPackageGroupName"] for r in registered] == ["team-b2", "team-b2"]  # its own registry


def test_a_request_aws_would_reject_fails_the_test(
    aws: Aws, prep: Prepared, small_settings: Settings, tmp_path: Path, shape_check: RequestValidator
) -> None:
    """moto would run this job; SageMaker rejects the instance type: the shape check stops it first."""
    with pytest.raises(InvalidRequest, match=r"ResourceConfig.InstanceType: 'ml.m5.huge' is not one of \["):
        training.train(
            aws,
            prep,
            small_settings,
            BUCKET,
            ROLE,
            tmp_path / "model",
            FAST.replace(instance_type="ml.m5.huge"),
            say=quiet,
            sleep=no_sleep,
        )
    assert len(shape_check.failures) == 1
    shape_check.failures.clear()  # seen and expected: the fixture's teardown would fail on it


def test_every_request_was_shape_checked(trained: Trained, shape_check: RequestValidator) -> None:
    assert {"CreateTrainingJob", "DescribeTrainingJob"} <= shape_check.operations("sagemaker")
    assert {"PutObject", "HeadObject", "GetObject"} <= shape_check.operations("s3")


def test_end_to_end_bundle_zip_and_registration(aws: Aws, trained: Trained, local_bundle: Path) -> None:
    result, placed, tmp = trained.result, trained.placed, trained.tmp
    bundle = Bundle(tmp / "model")
    # Served: the bundle's archive (the job's booster with the inference script), content-addressed
    # beside the job's own output, which stays as the job wrote it.
    assert result.model_data_url != placed[0]
    assert result.model_data_url == f"s3://{BUCKET}/{registry.model_key(bundle.model_archive)}"
    served = aws.s3.get_object(Bucket=BUCKET, Key=registry.model_key(bundle.model_archive))["Body"].read()
    assert served == bundle.model_archive.read_bytes()
    assert list(archive_members(bundle.model_archive)) == ["xgboost-model", "code/inference.py"]
    metrics = bundle.metrics()
    assert metrics["model"]["fit_on"] == "train"
    assert metrics["cutoff"]["method"] == "validation"
    assert set(metrics["evaluation"]) == {"validation", "test"}
    assert metrics["evaluation"]["test"]["rows"] == metrics["split"]["rows"]["test"]
    # The booster in the bundle is the one the "job" wrote.
    x = np.random.default_rng(0).random((5, len(bundle.schema()["columns"])))
    np.testing.assert_array_equal(predict(bundle.booster(), x), predict(Bundle(local_bundle).booster(), x))
    # Registered, pending approval, with the Lambda zip built from the same bundle; no deploy
    # handoff: only make deploy-model writes one, for an Approved version.
    registered = json.loads((tmp / "registered.json").read_text())
    assert registered == {"model_package_arn": result.model_package_arn, "version": 1}
    package = aws.sm.describe_model_package(ModelPackageName=result.model_package_arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == result.model_data_url
    assert package["InferenceSpecification"]["Containers"][0]["Image"] == IMAGE
    zip_bytes = (tmp / "invoker.zip").read_bytes()
    prefix = registry.model_key(bundle.model_archive).rsplit("/", 1)[0]
    sha = aws.s3.get_object(Bucket=BUCKET, Key=f"{prefix}/invoker.zip.sha256")["Body"].read().decode()
    assert sha == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert not (tmp / "model.auto.tfvars.json").exists()
    assert any("make approve VERSION=1" in line for line in trained.lines)
    assert any("Completed" in line for line in trained.lines)


def test_sharded_training_channel(
    aws: Aws, prep: Prepared, small_settings: Settings, local_bundle: Path, tmp_path: Path
) -> None:
    requests = capture(aws.sm, "CreateTrainingJob")
    place_artifact(aws, local_bundle / "model.tar.gz")
    training.train(
        aws,
        prep,
        small_settings,
        BUCKET,
        ROLE,
        tmp_path / "model",
        FAST.replace(instance_count=2),
        say=quiet,
        sleep=no_sleep,
    )
    req = requests[0]
    assert req["ResourceConfig"]["InstanceCount"] == 2
    train = next(c for c in req["InputDataConfig"] if c["ChannelName"] == "train")["DataSource"]["S3DataSource"]
    assert train["S3DataDistributionType"] == "ShardedByS3Key"
    assert train["S3Uri"].endswith("/train-2-shards/")


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_failed_or_stopped_job_raises_with_reason(
    aws: Aws, prep: Prepared, small_settings: Settings, tmp_path: Path, status: str
) -> None:
    reason = "ClientError: validation channel: expected 70 columns, got 69"
    answer(
        aws.sm,
        "DescribeTrainingJob",
        {"TrainingJobName": "job", "TrainingJobStatus": status, "SecondaryStatus": status, "FailureReason": reason},
    )
    with pytest.raises(JobFailed, match=reason) as err:
        training.train(aws, prep, small_settings, BUCKET, ROLE, tmp_path / "model", FAST, say=quiet, sleep=no_sleep)
    assert status.lower() in str(err.value)
    assert not (tmp_path / "model").exists() and not (tmp_path / "registered.json").exists()


def test_progress_reports_transitions_and_spot_saving() -> None:
    states: Iterator[Mapping[str, Any]] = iter(
        [
            {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting"},
            {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting"},
            {
                "TrainingJobStatus": "InProgress",
                "SecondaryStatus": "Training",
                "SecondaryStatusTransitions": [{"StatusMessage": "Training image download completed"}],
            },
            {"TrainingJobStatus": "Completed", "SecondaryStatus": "Completed"},
        ],
    )
    lines: list[str] = []
    desc = wait_for(lambda: next(states), "training job", "j", "TrainingJobStatus", 0, lines.append, no_sleep)
    assert desc["TrainingJobStatus"] == "Completed"
    assert [line.split("] ", 1)[1] for line in lines] == [
        "training job j: InProgress / Starting",
        "training job j: InProgress / Training (Training image download completed)",
        "training job j: Completed",
    ]
    report = training.spot_report(
        {"TrainingTimeInSeconds": 200, "BillableTimeInSeconds": 60, "EnableManagedSpotTraining": True}
    )
    assert report.endswith("managed spot saved 70%")


def test_tuning_job_request_and_best_job(
    aws: Aws,
    prep: Prepared,
    small_settings: Settings,
    local_bundle: Path,
    tmp_path: Path,
    shape_check: RequestValidator,
) -> None:
    tunings = capture(aws.sm, "CreateHyperParameterTuningJob")
    # moto's tuning job always names "FakeTrainingJobName" as best: create that job so it can be described.
    place_artifact(aws, local_bundle / "model.tar.gz")
    tuned = {**small_settings.hyperparameters.sagemaker(), "eta": "0.31", "max_depth": "4", "num_round": "42"}
    aws.sm.create_training_job(**fake_best_job(tuned))
    result = training.train(
        aws, prep, small_settings, BUCKET, ROLE, tmp_path / "model", FAST, tune=True, say=quiet, sleep=no_sleep
    )
    req = tunings[0]
    config = req["HyperParameterTuningJobConfig"]
    assert len(req["HyperParameterTuningJobName"]) <= 32 and req["HyperParameterTuningJobName"].startswith("churn-hpo-")
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:auc"}
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": DEFAULT.tuning_max_jobs,
        "MaxParallelTrainingJobs": DEFAULT.tuning_max_parallel_jobs,
    }
    ranges = config["ParameterRanges"]
    continuous = {r["Name"]: (float(r["MinValue"]), float(r["MaxValue"])) for r in ranges["ContinuousParameterRanges"]}
    integer = {r["Name"]: (int(r["MinValue"]), int(r["MaxValue"])) for r in ranges["IntegerParameterRanges"]}
    assert continuous == {
        "eta": (0.05, 0.5),
        "min_child_weight": (1.0, 10.0),
        "gamma": (0.0, 10.0),
        "subsample": (0.5, 1.0),
    }
    assert integer == {"max_depth": (2, 10), "num_round": (50, 300)}
    definition = req["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True
    # One CheckpointConfig would serve every trial: trial B would resume from trial A's booster (defect 5).
    assert "CheckpointConfig" not in definition
    assert "CreateHyperParameterTuningJob" in shape_check.operations("sagemaker")
    assert set(definition["StaticHyperParameters"]) == {"colsample_bytree", "objective", "eval_metric"}
    assert {c["ChannelName"] for c in definition["InputDataConfig"]} == {"train", "validation"}
    # The bundle records the best job's hyperparameters, not the preset's.
    assert result.job["TrainingJobName"] == "FakeTrainingJobName"
    assert result.model_data_url == f"s3://{BUCKET}/{registry.model_key(Bundle(tmp_path / 'model').model_archive)}"
    hp = result.metrics["hyperparameters"]
    assert (hp["eta"], hp["max_depth"], hp["num_round"]) == (0.31, 4, 42)
