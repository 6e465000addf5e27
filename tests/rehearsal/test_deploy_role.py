"""The deploy role's policy against what a deploy really calls.

Input: every request the rehearsal made with the deploy role's key (Terraform's provider and S3
backend, the SageMaker SDK, boto3; the harness's own calls aside), as IAM actions on the ARNs they target,
plus what AWS services call with the caller's rights (tests/rehearsal/actions.py names each
with its source). The policy: terraform/bootstrap's deploy-role policy, as the rehearsal's
bootstrap apply stored it in IAM.

Evaluator: iam-simulate (@cloud-copilot/iam-simulate, npm, pinned in tests/rehearsal/iam/). Chosen
over moto's IAMPolicy, measured on this policy: moto evaluates only StringEquals conditions and
passes any other operator (StringLike on s3:prefix always matched), matches action names case
sensitively, turns an unmet Allow condition into an explicit Deny of the whole policy, and accepts
action names IAM does not have. iam-simulate evaluates every condition operator, validates each
action against the Service Authorization Reference and each ARN against the action's resource
types, so a misnamed action in actions.py fails the check rather than passing it.
What it cannot evaluate here: context keys the log does not carry (only s3:prefix,
iam:PassedToService and iam:AWSServiceName are given; global keys such as aws:SourceArn are not),
resource policies (the buckets' TLS-only deny: the request's transport is not known), SCPs,
permission boundaries and session policies (none are used by this project).
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from shutil import which
from typing import Any

import pytest

from tests.rehearsal.actions import ACCOUNT, Call, all_calls
from tests.rehearsal.conftest import Rehearsal
from tests.rehearsal.harness import DEPLOY_KEY
from tests.terraform.tf_helpers import missing_tool

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.xdist_group("deploy-rehearsal")]

EVALUATOR = Path(__file__).with_name("iam") / "evaluate.mjs"


def evaluate(
    policies: dict[str, dict[str, Any]], calls: list[Call], only: dict[str, list[int]] | None = None
) -> dict[str, dict[int, str]]:
    """Policy name -> iam-simulate's result by call index ('Allowed', 'ImplicitlyDenied', 'Error: …'),
    for every call, or for the indices ``only`` names for that policy.

    Calls whose action has no resource types in the Service Authorization Reference (API
    Gateway's method actions) are evaluated unvalidated (tests/rehearsal/iam/evaluate.mjs).
    """
    if not (EVALUATOR.parent / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir() or not which("node"):
        missing_tool("iam-simulate is not installed (make test runs npm ci in tests/rehearsal/iam; needs Node.js)")
    encoded = [{"action": c.action, "resource": c.resource, "context": c.context_dict()} for c in calls]
    # One node process per core, each with half the policies (iam-simulate validates every call anew).
    names = list(policies)
    halves = [names[i::2] for i in range(2)] if len(names) > 1 else [names]

    def run(half: list[str]) -> dict[str, list[dict[str, Any]]]:
        payload = {"account": ACCOUNT, "policies": {n: policies[n] for n in half}, "calls": encoded}
        if only is not None:
            payload["only"] = {n: only[n] for n in half}
        proc = subprocess.run(
            ["node", str(EVALUATOR)], input=json.dumps(payload), capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        result: dict[str, list[dict[str, Any]]] = json.loads(proc.stdout)
        return result

    raw: dict[str, list[dict[str, Any]]] = {}
    with ThreadPoolExecutor(len(halves)) as pool:
        for part in pool.map(run, halves):
            raw.update(part)
    return {
        name: {
            r["index"]: r["result"] if r["errors"] is None else f"Error: {json.dumps(r['errors'])}" for r in raw[name]
        }
        for name in names
    }


@pytest.fixture(scope="module")
def calls(rehearsal: Rehearsal) -> list[Call]:
    found = all_calls(rehearsal.requests(), DEPLOY_KEY)
    assert len(found) > 100, "the team path made too few calls to be a deploy"
    return found


def without(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    return dict(policy, Statement=[s for s in policy["Statement"] if s.get("Sid") != sid])


def describe(call: Call) -> str:
    return f"{call.action} on {call.resource} ({call.why})"


def test_every_call_of_the_deploy_is_allowed(rehearsal: Rehearsal, calls: list[Call]):
    (results,) = evaluate({"deploy": rehearsal.policy}, calls).values()
    errors = [f"{describe(c)}: {results[i]}" for i, c in enumerate(calls) if results[i].startswith("Error")]
    assert not errors, "not evaluable (a misnamed action or ARN in tests/rehearsal/actions.py?):\n" + "\n".join(errors)
    denied = [describe(c) for i, c in enumerate(calls) if results[i] != "Allowed"]
    assert not denied, f"{len(denied)} of {len(calls)} calls denied:\n" + "\n".join(denied)


def test_the_calls_cover_what_services_do_with_the_callers_rights(calls: list[Call]):
    actions = {c.action for c in calls}
    assert {"logs:CreateLogDelivery", "logs:PutResourcePolicy"} <= actions, "HTTP API access logging"
    assert {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"} <= {
        c.action for c in calls if ":alarm:TargetTracking-" in c.resource
    }, "target tracking alarms"
    passed = {c.context_dict().get("iam:PassedToService") for c in calls if c.action == "iam:PassRole"}
    assert passed == {"sagemaker.amazonaws.com", "lambda.amazonaws.com"}
    kinds = Counter(c.action.split(":", 1)[0] for c in calls)
    assert {"s3", "iam", "sagemaker", "lambda", "apigateway", "cloudfront", "logs", "cloudwatch", "sns"} <= set(kinds)


def grants(statement: dict[str, Any], action: str) -> bool:
    """Whether an Allow statement's Action patterns (IAM wildcards, case-insensitive) name ``action``."""
    patterns = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def test_removing_any_statement_denies_a_named_call(rehearsal: Rehearsal, calls: list[Call]):
    """Mutation test: every statement of the policy is needed by some call the rehearsal made.

    Without statement S, only a call S grants can become denied (every statement is an Allow
    with Action patterns: checked here), so each S is evaluated on those calls alone."""
    statements = rehearsal.policy["Statement"]
    sids = [s.get("Sid") for s in statements]
    assert all(sids) and len(set(sids)) == len(sids), "every statement needs a unique Sid"
    assert all(s["Effect"] == "Allow" and "Action" in s and "NotAction" not in s for s in statements)
    only = {s["Sid"]: [i for i, c in enumerate(calls) if grants(s, c.action)] for s in statements}
    results = evaluate({sid: without(rehearsal.policy, sid) for sid in sids}, calls, only)
    unneeded, report = [], []
    for sid in sids:
        denied = sorted({calls[i].action for i, r in results[sid].items() if r != "Allowed"})
        report.append(f"{sid}: {', '.join(denied[:4])}{' …' if len(denied) > 4 else ''}")
        if not denied:
            unneeded.append(sid)
    print(f"{len(sids)} statements, {len(calls)} calls, {len({c.action for c in calls})} actions")
    print("\n".join(report))
    assert not unneeded, f"statements no call of the rehearsal needs: {unneeded}"


def test_the_policy_before_the_fix_fails_on_log_delivery_and_autoscaling_alarms(
    rehearsal: Rehearsal, calls: list[Call]
):
    """main 0bf9d6d's policy had neither statement: CreateStage and PutScalingPolicy failed under it."""
    before = without(without(rehearsal.policy, "HttpApiAccessLogDelivery"), "AutoscalingTargetTrackingAlarms")
    (results,) = evaluate({"before": before}, calls).values()
    denied = {calls[i].action for i, r in results.items() if r != "Allowed"}
    assert {"logs:CreateLogDelivery", "logs:DescribeResourcePolicies"} <= denied
    assert {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"} <= denied
