"""The botocore-shape validator (tests/botocore_shapes.py) that checks every request of these tests."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from tests.botocore_shapes import InvalidRequest, RequestValidator, request_violations
from tests.java_regex import compiled, java_regex
from tests.sagemaker.sm_fixtures import BUCKET, REGION, ROLE

IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:3.0-5"
NAME_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"


def channel(name: str) -> dict[str, Any]:
    uri = f"s3://{BUCKET}/data/{name}/"
    return {"ChannelName": name, "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}


def training_request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": "churn-xgb-20261129-214800-ab12",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [channel("train"), channel("validation")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models/training/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        "HyperParameters": {"eta": "0.2", "num_round": "100"},
        "EnableManagedSpotTraining": True,
        "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/models/checkpoints/churn-xgb-20261129-214800-ab12/"},
    }
    request.update(changes)
    return request


def check(request: dict[str, Any]) -> list[str]:
    return request_violations("sagemaker", "CreateTrainingJob", request)


def test_a_valid_request_passes() -> None:
    assert check(training_request()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"TrainingJobName": "a_b"}, [f"TrainingJobName: 'a_b' does not match {NAME_PATTERN}"]),
        (
            {"TrainingJobName": "a" * 64},
            [
                "TrainingJobName: length 64 is over the maximum 63",
                f"TrainingJobName: '{'a' * 64}' does not match {NAME_PATTERN}",
            ],
        ),
        (
            {"AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "Stream"}},
            ["AlgorithmSpecification.TrainingInputMode: 'Stream' is not one of ['Pipe', 'File', 'FastFile']"],
        ),
        ({"RoleArn": None}, ["RoleArn: expected a string, got None"]),
        (
            {"InputDataConfig": [channel(f"c{i}") for i in range(21)]},
            ["InputDataConfig: list length 21 is over the maximum 20"],
        ),
        ({"InputDataConfig": []}, ["InputDataConfig: list length 0 is under the minimum 1"]),
        (
            {"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": -1}},
            ["ResourceConfig.InstanceCount: -1 is under the minimum 0"],
        ),
        ({"EnableManagedSpotTraining": "true"}, ["EnableManagedSpotTraining: expected a boolean, got 'true'"]),
        (
            {"HyperParameters": {"eta": "x" * 2501}},
            ["HyperParameters['eta']: length 2501 is over the maximum 2500"],
        ),
        (
            {"CheckpointConfig": {"S3Uri": "/local/checkpoints"}},
            ["CheckpointConfig.S3Uri: '/local/checkpoints' does not match ^(https|s3)://([^/]+)/?(.*)$"],
        ),
        ({"Checkpoint": {}}, ["Checkpoint: unknown member"]),
        (
            {"InputDataConfig": [{"ChannelName": "train"}]},
            ["InputDataConfig[0].DataSource: required member is missing"],
        ),
    ],
)
def test_malformed_requests_are_caught_with_their_path(changes: dict[str, Any], expected: list[str]) -> None:
    assert check(training_request(**changes)) == expected


def test_a_missing_required_member_is_caught() -> None:
    request = training_request()
    del request["RoleArn"], request["OutputDataConfig"]
    assert check(request) == ["RoleArn: required member is missing", "OutputDataConfig: required member is missing"]


def test_every_violation_is_reported_not_only_the_first() -> None:
    request = training_request(TrainingJobName="a_b", RoleArn="role")
    assert len(check(request)) == 3  # the name's pattern, the role's length and the role's pattern


def test_numbers_and_maps_of_other_operations() -> None:
    tuning = request_violations(
        "sagemaker",
        "CreateHyperParameterTuningJob",
        {
            "HyperParameterTuningJobName": "churn-hpo-" + "x" * 30,
            "HyperParameterTuningJobConfig": {
                "Strategy": "Bayesian",
                "ResourceLimits": {"MaxParallelTrainingJobs": 0},
            },
        },
    )
    assert "HyperParameterTuningJobName: length 40 is over the maximum 32" in tuning
    assert "HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs: 0 is under the minimum 1" in tuning
    put = request_violations("s3", "PutObject", {"Bucket": BUCKET, "Key": "k", "Body": 3, "Metadata": {"a": 1}})
    assert put == ["Body: expected bytes or a file, got 3", "Metadata['a']: expected a string, got 1"]


# --------------------------------------------------------------- Java patterns, read by regex


def test_posix_and_predefined_classes_are_ascii_as_in_java() -> None:
    assert java_regex(r"arn:[\p{Alnum}\-]+") == r"arn:[0-9A-Za-z\-]+"
    assert java_regex(r"\p{Alnum}+") == "[0-9A-Za-z]+"
    assert compiled(r"[\p{Alnum}]+").fullmatch("abc9")
    # Unicode-wide in the regex module, ASCII in Java:
    assert not compiled(r"[\p{Alnum}]+").fullmatch("é")
    assert not compiled(r"\d").fullmatch("\u0663")  # ARABIC-INDIC DIGIT THREE
    assert compiled(r"\S").fullmatch("\u00a0") and not compiled(r"\S").fullmatch("\t")
    assert compiled(r"[\s\S]+").fullmatch("a \U0001f600\n")  # a negation inside [...] too
    assert compiled(r"[\p{L}]+").fullmatch("é")  # general categories mean the same in both


def test_dot_stops_at_every_java_line_terminator() -> None:
    assert compiled(".*").fullmatch("a b")
    for terminator in ("\n", "\r", "\x85", "\u2028", "\u2029"):
        assert not compiled(".*").fullmatch(f"a{terminator}b")


def test_surrogate_pairs_become_code_points() -> None:
    pattern = r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*"
    assert r"\U00010000-\U0010FFFF" in java_regex(pattern)
    assert compiled(pattern).fullmatch("a\U0001f600\t")
    assert not compiled(pattern).fullmatch("\x01")


def test_end_of_input_and_refused_constructs() -> None:
    assert compiled(r"\A\S[\p{Print}]*\z").fullmatch("ab c")
    assert not compiled(r"\A\S[\p{Print}]*\z").fullmatch("ab\n")
    for pattern in (r"\Qa.b\E", r"[a-z&&[^e]]", r"a\Z", r"[a[b]]", r"[]a]"):
        with pytest.raises(ValueError, match="not translated"):
            java_regex(pattern)


@pytest.mark.parametrize("service", ["sagemaker", "sagemaker-runtime", "s3"])
def test_every_pattern_of_the_services_we_call_translates(service: str) -> None:
    model = botocore.session.get_session().get_service_model(service)
    patterns = {p for n in model.shape_names if (p := model.shape_for(n).metadata.get("pattern"))}
    assert patterns
    for pattern in patterns:
        compiled(pattern)  # raises on Java syntax the translation does not know


# --------------------------------------------------------------- the hook on a session


def test_the_hook_checks_each_call_of_each_client_created_after_install() -> None:
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    validator = RequestValidator()
    validator.install(session)
    # Port 9 on loopback refuses connections: were the hook to let the call through, it would not leave the machine.
    client = session.client("sagemaker", endpoint_url="http://127.0.0.1:9", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(InvalidRequest, match=r"ModelName: 'bad_name' does not match"):
        client.delete_model(ModelName="bad_name")
    with Stubber(client) as stub:  # botocore's own stub answers the valid call
        stub.add_response("delete_model", {}, {"ModelName": "ok-name"})
        client.delete_model(ModelName="ok-name")
    assert validator.checked == [("sagemaker", "DeleteModel")] * 2
    assert len(validator.failures) == 1 and "would be rejected by AWS" in validator.failures[0]
