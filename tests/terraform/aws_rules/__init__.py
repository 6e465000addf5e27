"""AWS's documented rules that the emulators let through, checked on a real Terraform plan.

moto and the mock provider accept requests that SageMaker, Lambda, IAM, S3, API Gateway,
CloudFront, CloudWatch and SNS reject (issue 9: a serverless endpoint with network isolation,
a model replaced under its own name, ...). Each rule is one such constraint: an id, a one-line
statement, the URL of the AWS (or provider) document it comes from, and a check over the JSON
of a saved plan (``terraform plan -out f && terraform show -json f``). ``evaluate(plan)`` runs
them all and returns the findings (rule, resource address, message) plus, per rule, the
resources it looked at, so a test can tell "passed" from "found nothing to check".

Limits are read from botocore's service models where the model carries them (name patterns,
min/max, enums and the documentation text the AWS API reference is generated from); the rest
is typed here with its source. Values Terraform cannot know at plan time (ARNs, generated
names) are skipped, never guessed.

One module per service; importing them registers their rules in ``RULES``.
"""

from tests.terraform.aws_rules import cloudfront, cloudwatch, guardrails, iam, lambda_api, logs, s3, sagemaker, sns
from tests.terraform.aws_rules.core import RULES, UNKNOWN, Finding, Plan, Report, Resource, Rule, _step, evaluate
from tests.terraform.aws_rules.lambda_api import invoke_budget_s
from tests.terraform.aws_rules.logs import retention_days

__all__ = [
    "RULES",
    "UNKNOWN",
    "Finding",
    "Plan",
    "Report",
    "Resource",
    "Rule",
    "_step",
    "cloudfront",
    "cloudwatch",
    "evaluate",
    "guardrails",
    "iam",
    "invoke_budget_s",
    "lambda_api",
    "logs",
    "retention_days",
    "s3",
    "sagemaker",
    "sns",
]
