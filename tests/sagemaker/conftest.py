"""Fixtures of the SageMaker backend tests: everything runs against moto's in-process AWS.

moto completes every job at once and writes nothing: tests place the artifacts (a real
model.tar.gz, a real transform output) where SageMaker would have written them. moto also
accepts requests AWS would reject, so every request of the ``aws`` fixture is checked against
its botocore shape (tests/botocore_shapes.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"
from ml.config import Settings
from ml.model.pipeline import Prepared
from ml.sagemaker.aws import Aws
from ml.sagemaker.settings import DEFAULT_NAME
from tests.botocore_shapes import RequestValidator
from tests.sagemaker.sm_fixtures import BUCKET, REGION
from tests.shared import made_once


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
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
def shape_check() -> Iterator[RequestValidator]:
    """Checks every request of the ``aws`` fixture. A bad request fails at the call, and again at
    teardown in case the code under test caught the error."""
    validator = RequestValidator()
    yield validator
    assert not validator.failures, "\n".join(validator.failures)


@pytest.fixture
def aws(shape_check: RequestValidator) -> Iterator[Aws]:
    """An ``Aws`` over moto with the data bucket and the model package group created; every request
    it sends is shape-checked."""
    from moto import mock_aws

    with mock_aws():
        handle = Aws.create(REGION)
        shape_check.install(handle.session)  # before the first client: clients copy the session's hooks
        # See Aws: the opt-out config costs seconds per job; moto absorbs the telemetry GET.
        handle.telemetry_opt_out = False
        handle.s3.create_bucket(Bucket=BUCKET)
        # What stage 1 creates besides the bucket: training and publish register models in it.
        handle.sm.create_model_package_group(ModelPackageGroupName=DEFAULT_NAME)
        yield handle


@pytest.fixture(scope="session")
def small_settings() -> Settings:
    """The default preset, smaller: 2 CV folds, 20 rounds (seconds, not minutes)."""
    from ml.config import DEFAULT

    return DEFAULT.replace(cv_folds=2, hyperparameters=dataclasses.replace(DEFAULT.hyperparameters, num_round=20))


@pytest.fixture(scope="session")
def prep(small_settings: Settings) -> Prepared:
    from ml.data.dataset import load
    from ml.model.pipeline import prepare

    frame, provenance = load("synthetic", 600, 42)
    return prepare(small_settings, frame, provenance)


@pytest.fixture(scope="session")
def local_bundle(tmp_path_factory: pytest.TempPathFactory, small_settings: Settings) -> Path:
    """A real bundle trained locally on the same 600 synthetic rows: its model.tar.gz plays SageMaker's.

    Made once per session (tests/shared.py); the tests only read it.
    """
    from ml.model import pipeline

    def make(out: Path) -> None:
        out.mkdir(exist_ok=True)
        pipeline.run(small_settings, "synthetic", out / "model", rows=600, seed=42)  # whole or not at all

    return made_once(tmp_path_factory, "local-bundle", make) / "model"
