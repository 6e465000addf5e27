"""Fixtures of the SageMaker backend tests: everything runs against moto's in-process AWS.

moto completes every job at once and writes nothing: tests place the artifacts (a real
model.tar.gz, a real transform output) where SageMaker would have written them.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"
from tests.sagemaker.sm_fixtures import BUCKET, REGION, ROLE  # noqa: F401  (shared with the test modules)


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch):
    """No real credentials, profile or endpoint can leak into a test."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
        "CHURN_DATA_BUCKET",
        "CHURN_SAGEMAKER_ROLE_ARN",
        "CHURN_ENDPOINT_NAME",
        "CHURN_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws():
    """An ``Aws`` over moto with the data bucket created."""
    from moto import mock_aws

    from ml.sagemaker.aws import Aws

    with mock_aws():
        handle = Aws.create(REGION)
        handle.telemetry_opt_out = (
            False  # see Aws: the opt-out config costs seconds per job; moto absorbs the telemetry GET
        )
        handle.s3.create_bucket(Bucket=BUCKET)
        yield handle


@pytest.fixture(scope="session")
def small_settings():
    """The default preset, smaller: 2 CV folds, 20 rounds (seconds, not minutes)."""
    from ml.config import DEFAULT

    return DEFAULT.replace(cv_folds=2, hyperparameters=dataclasses.replace(DEFAULT.hyperparameters, num_round=20))


@pytest.fixture(scope="session")
def prep(small_settings):
    from ml.data.dataset import load
    from ml.model.pipeline import prepare

    frame, provenance = load("synthetic", 600, 42)
    return prepare(small_settings, frame, provenance)


@pytest.fixture(scope="session")
def local_bundle(tmp_path_factory, small_settings) -> Path:
    """A real bundle trained locally on the same 600 synthetic rows: its model.tar.gz plays SageMaker's."""
    from ml.model import pipeline

    out = tmp_path_factory.mktemp("local") / "model"
    pipeline.run(small_settings, "synthetic", out, rows=600, seed=42)
    return out
