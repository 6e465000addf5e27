"""`python -m ml.sagemaker.rollout_check`: after `terraform apply`, does the endpoint run what Terraform applied?

A new model reaches a live endpoint as UpdateEndpoint with a new configuration. SageMaker can
roll that update back by itself: a guarded update (realtime mode) when one of its rollback
alarms fires, any update when the new fleet does not come up. The endpoint is then InService
again on its old configuration, and the AWS provider reports the update as a success
(terraform-provider-aws#48997). The Makefile runs this after every apply: it compares
DescribeEndpoint's EndpointConfigName with the configuration Terraform applied (the
``endpoint_configuration_name`` output) and, on a mismatch, says what SageMaker did, which
rollback alarm fired, and whether the configuration the endpoint runs still exists.

Exit 0: the endpoint runs the applied configuration (or there is no endpoint yet). Exit 1:
it does not, with what to do (docs/operations.md, "Guarded rollouts"). It only reads.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ml.sagemaker import tf_outputs
from ml.sagemaker.tf_outputs import SetupError

if TYPE_CHECKING:
    from types_boto3_sagemaker import SageMakerClient

# The dev extras carry no CloudWatch stubs (types-boto3[s3,sagemaker,sagemaker-runtime]): one call.
CloudWatchClient = Any

RUNBOOK = "docs/operations.md, Guarded rollouts"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str


def _config_exists(sm: SageMakerClient, name: str) -> bool:
    try:
        sm.describe_endpoint_config(EndpointConfigName=name)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ValidationException":
            return False  # SageMaker's answer for a configuration that does not exist
        raise
    return True


def _alarm_lines(cloudwatch: CloudWatchClient, names: Sequence[str]) -> list[str]:
    """One line per rollback alarm, those in ALARM first: name, state, since when, why."""
    if not names:
        return [
            "No rollback alarms guard this endpoint (serverless, or monitoring off): SageMaker's own "
            "blue/green update rolled back because the new fleet did not become healthy."
        ]
    found = cloudwatch.describe_alarms(AlarmNames=list(names), AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = [*found.get("MetricAlarms", []), *found.get("CompositeAlarms", [])]
    alarms.sort(key=lambda a: (a.get("StateValue") != "ALARM", a.get("AlarmName", "")))
    lines = [
        f"Rollback alarm {a.get('AlarmName')} is {a.get('StateValue')} since "
        f"{a.get('StateUpdatedTimestamp'):%Y-%m-%d %H:%M:%S %Z}: {a.get('StateReason', '').strip()}"
        for a in alarms
    ]
    missing = sorted(set(names) - {str(a.get("AlarmName")) for a in alarms})
    lines += [f"Rollback alarm {n} does not exist: SageMaker could not watch it." for n in missing]
    if not any(a.get("StateValue") == "ALARM" for a in alarms):
        lines.append(
            "None is in ALARM now: it fired during the baking period and recovered since, or the new "
            "fleet did not become healthy in time (see the endpoint's failure reason)."
        )
    return lines


def check(sm: SageMakerClient, cloudwatch: CloudWatchClient, outputs: Mapping[str, Any]) -> Verdict:
    """The endpoint against the configuration Terraform applied (``outputs``: terraform output values)."""
    endpoint, applied = outputs.get("endpoint_name"), outputs.get("endpoint_configuration_name")
    if not endpoint or not applied:
        return Verdict(True, "No endpoint in Terraform's outputs (no model deployed yet): nothing to check.")
    try:
        live = sm.describe_endpoint(EndpointName=endpoint)
    except ClientError as err:
        return Verdict(False, f"Terraform applied endpoint {endpoint}, but SageMaker answers: {err}")
    running, status = live["EndpointConfigName"], live.get("EndpointStatus", "")
    if running == applied:
        return Verdict(True, f"Endpoint {endpoint} runs configuration {applied}, as applied ({status}).")

    config_created = sm.describe_endpoint_config(EndpointConfigName=applied)["CreationTime"]
    if live["LastModifiedTime"] < config_created:
        return Verdict(
            False,
            f"Endpoint {endpoint} still runs configuration {running}: the apply stopped before updating it to "
            f"{applied} (see the apply's error above). `make apply` again once that is fixed.",
        )
    reason = live.get("FailureReason") or "none given"
    kept = (
        f"The configuration it runs, {running}, still exists: Terraform keeps it (and its model) until an "
        "update that sticks."
        if _config_exists(sm, running)
        else f"The configuration it runs, {running}, no longer exists: a later update of this endpoint will "
        "fail until the endpoint runs a configuration that exists (see the runbook)."
    )
    lines = [
        f"SageMaker rolled endpoint {endpoint} back to configuration {running}; Terraform applied {applied}.",
        f"Endpoint status: {status}; failure reason: {reason}.",
        *_alarm_lines(cloudwatch, outputs.get("rollback_alarm_names") or []),
        kept,
        "The endpoint serves the previous model. Find out why the new one failed (the alarm's metric, the "
        f"endpoint's logs in /aws/sagemaker/Endpoints/{endpoint}), fix it, and deploy again ({RUNBOOK}).",
    ]
    return Verdict(False, "\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.sagemaker.rollout_check", description=__doc__.split("\n")[0])
    parser.add_argument("--region", help="AWS region of the stack (default: the environment's)")
    args = parser.parse_args(argv)
    try:
        outputs = tf_outputs.outputs()
        session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
        verdict = check(session.client("sagemaker"), session.client("cloudwatch"), outputs)
    except (SetupError, BotoCoreError, ClientError) as err:
        print(f"rollout check: {err}", file=sys.stderr)
        return 1
    if verdict.ok:
        print(f"rollout check: {verdict.message}")
    else:
        print(f"rollout check FAILED: {verdict.message}", file=sys.stderr)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
