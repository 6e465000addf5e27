"""The post-apply rollout check (ml/sagemaker/rollout_check.py) against moto's in-process AWS.

SageMaker's own rollback cannot happen in moto (it has no UpdateEndpoint and no deployments):
the tests put the endpoint where a rolled-back update leaves it, behind Terraform's back: still
on the old configuration, modified after Terraform created the new one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ml.sagemaker import rollout_check, tf_outputs
from ml.sagemaker.aws import Aws
from tests.sagemaker.sm_fixtures import REGION

ROLE = "arn:aws:iam::123456789012:role/churn-sagemaker"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
ENDPOINT = "churn-rt-m5-large"
OLD, NEW = "churn-20261206000000000000000001", "churn-20261206000000000000000002"
ALARMS = ["churn-endpoint-errors", "churn-api-5xx-rate"]
APPLIED = {"endpoint_name": ENDPOINT, "endpoint_configuration_name": NEW, "rollback_alarm_names": ALARMS}


def _config(aws: Aws, name: str, model: str) -> None:
    aws.sm.create_model(
        ModelName=model,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://b/{model}.tar.gz"},
    )
    aws.sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )


def _backend_endpoint(name: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints[name]


@pytest.fixture
def stack(aws: Aws) -> Aws:
    """A live endpoint on OLD, Terraform's NEW configuration created, and the stack's two alarms."""
    _config(aws, OLD, "churn-model-aaaaaaaa")
    aws.sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=OLD)
    _config(aws, NEW, "churn-model-bbbbbbbb")
    cw = aws.session.client("cloudwatch")
    for name in ALARMS:
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    return aws


def _updated(aws: Aws, config: str, rolled_back: bool) -> None:
    """UpdateEndpoint to ``config`` as SageMaker carries it out: switched, or rolled back (still on OLD)."""
    endpoint = _backend_endpoint(ENDPOINT)
    created = aws.sm.describe_endpoint_config(EndpointConfigName=config)["CreationTime"]
    endpoint.last_modified_time = created.replace(tzinfo=None) + timedelta(seconds=90)
    if not rolled_back:
        endpoint.endpoint_config_name = config


def _check(aws: Aws, outputs: dict[str, Any] = APPLIED) -> rollout_check.Verdict:
    return rollout_check.check(aws.sm, aws.session.client("cloudwatch"), outputs)


def test_a_rolled_back_update_is_reported_and_the_old_configuration_kept(stack: Aws) -> None:
    stack.session.client("cloudwatch").set_alarm_state(
        AlarmName="churn-endpoint-errors",
        StateValue="ALARM",
        StateReason="Threshold Crossed: 1 datapoint [4.0] was greater than or equal to the threshold (1.0).",
    )
    _updated(stack, NEW, rolled_back=True)
    verdict = _check(stack)
    assert not verdict.ok
    lines = verdict.message.splitlines()
    assert lines[0] == f"SageMaker rolled endpoint {ENDPOINT} back to configuration {OLD}; Terraform applied {NEW}."
    assert lines[2].startswith("Rollback alarm churn-endpoint-errors is ALARM since ")  # the one that fired, first
    assert "Threshold Crossed: 1 datapoint [4.0]" in lines[2]
    assert lines[3].startswith("Rollback alarm churn-api-5xx-rate is OK")
    assert f"The configuration it runs, {OLD}, still exists" in verdict.message
    assert "docs/operations.md, Guarded rollouts" in verdict.message
    # The check only reads: both configurations are still there, the endpoint still on the old one.
    assert stack.sm.describe_endpoint_config(EndpointConfigName=OLD)["EndpointConfigName"] == OLD
    assert stack.sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == OLD


def test_an_endpoint_on_the_applied_configuration_passes(stack: Aws) -> None:
    _updated(stack, NEW, rolled_back=False)
    verdict = _check(stack)
    assert verdict == rollout_check.Verdict(
        True, f"Endpoint {ENDPOINT} runs configuration {NEW}, as applied (InService)."
    )


def test_an_apply_that_stopped_before_the_update_is_not_called_a_rollback(stack: Aws) -> None:
    verdict = _check(stack)  # NEW exists, the endpoint was never updated
    assert not verdict.ok
    assert verdict.message.startswith(f"Endpoint {ENDPOINT} still runs configuration {OLD}: the apply stopped before")
    assert "rolled" not in verdict.message


def test_a_rollback_onto_a_deleted_configuration_says_so(stack: Aws) -> None:
    """What create_before_destroy would leave without the endpoint's postcondition."""
    _updated(stack, NEW, rolled_back=True)
    stack.sm.delete_endpoint_config(EndpointConfigName=OLD)
    verdict = _check(stack)
    assert not verdict.ok and f"The configuration it runs, {OLD}, no longer exists" in verdict.message


def test_an_unguarded_endpoint_names_no_alarm(stack: Aws) -> None:
    _updated(stack, NEW, rolled_back=True)
    verdict = _check(stack, {**APPLIED, "rollback_alarm_names": []})
    assert not verdict.ok and "No rollback alarms guard this endpoint" in verdict.message
    assert "Rollback alarm churn-" not in verdict.message


def test_no_endpoint_nothing_to_check(stack: Aws) -> None:
    assert _check(stack, {"data_bucket": "b"}).ok  # stage 1: no model, no endpoint outputs


def test_main_exit_status_and_stream(stack: Aws, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(tf_outputs, "outputs", lambda: APPLIED)
    _updated(stack, NEW, rolled_back=True)
    assert rollout_check.main(["--region", REGION]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"rollout check FAILED: SageMaker rolled endpoint {ENDPOINT} back")
    _backend_endpoint(ENDPOINT).endpoint_config_name = NEW
    assert rollout_check.main(["--region", REGION]) == 0
    assert capsys.readouterr().out.startswith(f"rollout check: Endpoint {ENDPOINT} runs configuration {NEW}")
