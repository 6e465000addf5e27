"""What the rehearsal asked AWS to do, as IAM sees it: (action, resource ARN, condition context).

Each logged request (tests/rehearsal/aws_server.py) is matched to its API operation with
botocore's own service models (X-Amz-Target for JSON services, Action= for query services, the
method and URI template for REST services), then named as IAM names it: mostly
``<prefix>:<Operation>``; S3 and HTTP APIs name theirs differently (tables below, from the
Service Authorization Reference). Then the calls that AWS services make with the caller's
permissions are added, each with its source:
- iam:PassRole for every role handed to SageMaker or Lambda (IAM user guide, "Granting a user
  permissions to pass a role to an AWS service"), with iam:PassedToService;
- the seven CloudWatch Logs delivery actions on "*" when an HTTP API stage turns on access
  logging (API Gateway developer guide, "Configuring logging for an HTTP API");
- cloudwatch:PutMetricAlarm / DescribeAlarms / DeleteAlarms on the TargetTracking-… alarms that
  Application Auto Scaling creates and deletes for a target tracking policy (Application Auto
  Scaling user guide, "Identity-based policy examples", SageMaker), and
  iam:CreateServiceLinkedRole for its service-linked role on the first RegisterScalableTarget.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"

# Operation -> IAM action where S3 names them differently.
S3_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "ListObjectVersions": "ListBucketVersions",
    "DeleteObjects": "DeleteObject",
    "CopyObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "PutLifecycleConfiguration",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "DeleteBucketEncryption": "PutEncryptionConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "GetBucketReplication": "GetReplicationConfiguration",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
    "GetBucketCors": "GetBucketCORS",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "DeleteBucketTagging": "PutBucketTagging",
    "GetBucketLifecycle": "GetLifecycleConfiguration",
    "PutBucketLifecycle": "PutLifecycleConfiguration",
}
# IAM's prefix where it is not the signing name.
PREFIX = {"monitoring": "cloudwatch"}
# Calls IAM never checks.
UNCHECKED = {"sts:GetCallerIdentity"}
LOG_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
]
EXAMPLE_UUID = "8e2d1c9a-4b7f-4a53-9c1e-0f6a2b3c4d5e"
SAGEMAKER_KINDS = {
    "ModelName": "model",
    "EndpointConfigName": "endpoint-config",
    "EndpointName": "endpoint",
    "TrainingJobName": "training-job",
    "HyperParameterTuningJobName": "hyper-parameter-tuning-job",
    "TransformJobName": "transform-job",
}


@dataclass(frozen=True)
class Call:
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = ""  # the API operation it came from, or the service that makes it

    def context_dict(self) -> dict[str, str]:
        return dict(self.context)


@dataclass
class Operation:
    service: str  # botocore service name
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@cache
def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@dataclass(frozen=True)
class Template:
    """A REST operation's HTTP binding, as botocore's service model gives it."""

    operation: str
    method: str
    path: re.Pattern[str]
    # "?lifecycle" needs the key; "?x-id=DeleteObject" needs the key with that value.
    query: tuple[tuple[str, str], ...]
    literal: int  # characters of the path that are not labels: the more, the more specific
    labels: tuple[str, ...]

    def match(self, method: str, path: str, present: dict[str, list[str]]) -> dict[str, str] | None:
        found = self.path.match(path)
        if method != self.method or found is None:
            return None
        if not all(k in present and v in ("", present[k][0]) for k, v in self.query):
            return None
        return {label: unquote(v) for label, v in zip(self.labels, found.groups(), strict=True)}


@cache
def _rest_templates(service: str) -> list[Template]:
    templates = []
    model = _model(service)
    for name in model.operation_names:
        op = model.operation_model(name)
        http = op.http
        path, _, query = http["requestUri"].partition("?")
        # Required query-string members count too (AbortMultipartUpload needs uploadId).
        shape = op.input_shape
        required = [
            (shape.members[m].serialization["name"], "")
            for m in (shape.required_members if shape else [])
            if shape.members[m].serialization.get("location") == "querystring"
        ]
        regex = re.sub(r"\\\{[^}]+\\\+\\\}", "(.+)", re.escape(path))
        regex = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", regex)
        templates.append(
            Template(
                name,
                http["method"],
                re.compile(f"^{regex}/?$"),
                tuple((q.partition("=")[0], q.partition("=")[2]) for q in query.split("&") if q) + tuple(required),
                len(re.sub(r"\{[^}]+\}", "", path)),
                tuple(re.findall(r"\{([^}+]+)\+?\}", path)),
            )
        )
    return templates


def _rest(services: tuple[str, ...], method: str, path: str, query: str) -> Operation | None:
    present = parse_qs(query, keep_blank_values=True)
    best: tuple[tuple[int, int], Operation] | None = None
    for service in services:
        for template in _rest_templates(service):
            params = template.match(method, path, present)
            score = (len(template.query), template.literal)
            if params is not None and (best is None or score > best[0]):
                params.update({k: v[0] for k, v in present.items()})
                best = (score, Operation(service, template.operation, params))
    return best[1] if best else None


@cache
def _json_services() -> dict[str, str]:
    return {
        _model(s).metadata["targetPrefix"]: s
        for s in ("sagemaker", "logs", "application-autoscaling", "cloudwatch", "sagemaker-runtime")
        if _model(s).metadata.get("targetPrefix")
    }


def operation(entry: dict[str, Any]) -> Operation:
    """The API operation of one logged request; raises when none matches (a gap in this table)."""
    body = entry.get("body") or ""
    if entry["target"]:
        prefix, name = entry["target"].split(".", 1)
        return Operation(_json_services()[prefix], name, json.loads(body) if body.strip() else {})
    if "x-www-form-urlencoded" in entry["content_type"]:
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        service = {"monitoring": "cloudwatch"}.get(entry["service"], entry["service"])
        return Operation(service, form.pop("Action"), form)
    path = entry["path"]
    candidates = {"apigateway": ("apigatewayv2",), "sagemaker": ("sagemaker-runtime",)}.get(
        entry["service"], (entry["service"],)
    )
    op = _rest(candidates, entry["method"], path, entry["query"])
    if op is None:
        raise LookupError(f"no {entry['service']} operation for {entry['method']} {path}?{entry['query']}")
    if body.strip().startswith("{"):
        op.params.update(json.loads(body))
    if op.name == "DeleteObjects":
        op.params["keys"] = [unquote(k) for k in re.findall(r"<Key>(.*?)</Key>", body)]
    return op


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _sagemaker(op: Operation) -> list[Call]:
    calls: list[Call] = []
    resource = "*"
    for key, kind in SAGEMAKER_KINDS.items():
        if key in op.params and not op.name.startswith("List"):
            resource = _arn("sagemaker", f"{kind}/{op.params[key].lower()}")
            break
    if "ResourceArn" in op.params:
        resource = op.params["ResourceArn"]
    calls.append(Call(f"sagemaker:{op.name}", resource, why=op.name))
    if op.params.get("Tags") and op.name.startswith("Create"):  # tagging on create is checked as AddTags
        calls.append(Call("sagemaker:AddTags", resource, why=f"{op.name} with Tags"))
    roles = [op.params.get("ExecutionRoleArn"), op.params.get("RoleArn")]
    roles.append(op.params.get("TrainingJobDefinition", {}).get("RoleArn"))
    calls += [
        Call("iam:PassRole", role, (("iam:PassedToService", "sagemaker.amazonaws.com"),), f"{op.name} passes its role")
        for role in filter(None, roles)
    ]
    return calls


def _s3(op: Operation) -> list[Call]:
    bucket, key = op.params.get("Bucket", ""), op.params.get("Key")
    action = "s3:" + S3_ACTIONS.get(op.name, op.name)
    if op.name == "ListBuckets":
        return [Call("s3:ListAllMyBuckets", "*", why=op.name)]
    resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")
    context = (
        (("s3:prefix", op.params.get("prefix", "")),) if action == "s3:ListBucket" and op.name != "HeadBucket" else ()
    )
    if op.name == "DeleteObjects":
        return [Call(action, f"arn:aws:s3:::{bucket}/{k}", why=op.name) for k in op.params.get("keys", [])] or [
            Call(action, f"arn:aws:s3:::{bucket}/*", why=op.name)
        ]
    return [Call(action, resource, context, op.name)]


def _apigateway(op: Operation, method: str, path: str) -> list[Call]:
    resource = f"arn:aws:apigateway:{REGION}::{path.removeprefix('/v2')}"
    calls = [Call(f"apigateway:{method}", resource, why=op.name)]
    if op.name in ("CreateStage", "UpdateStage") and op.params.get("accessLogSettings"):
        calls += [Call(a, "*", why=f"{op.name} with access logs (API Gateway log delivery)") for a in LOG_DELIVERY]
    return calls


def _autoscaling(op: Operation) -> list[Call]:
    calls = [Call(f"application-autoscaling:{op.name}", "*", why=op.name)]
    rid = op.params.get("ResourceId", "")
    # The alarms' names end in a UUID Application Auto Scaling picks: one stands for it.
    alarms = [_arn("cloudwatch", f"alarm:TargetTracking-{rid}-Alarm{side}-{EXAMPLE_UUID}") for side in ("High", "Low")]
    why = f"{op.name}: Application Auto Scaling's target tracking alarms"
    if op.name == "PutScalingPolicy" and op.params.get("PolicyType") == "TargetTrackingScaling":
        calls += [
            Call(a, arn, why=why) for arn in alarms for a in ("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms")
        ]
    if op.name == "DeleteScalingPolicy":
        calls += [
            Call(a, arn, why=why) for arn in alarms for a in ("cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms")
        ]
    if op.name == "RegisterScalableTarget" and op.params.get("ServiceNamespace") == "sagemaker":
        role = (
            "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
        )
        calls.append(
            Call(
                "iam:CreateServiceLinkedRole",
                f"arn:aws:iam::{ACCOUNT}:{role}",
                (("iam:AWSServiceName", "sagemaker.application-autoscaling.amazonaws.com"),),
                "RegisterScalableTarget creates its service-linked role",
            )
        )
    return calls


def _named(op: Operation, prefix: str) -> list[Call]:
    """IAM, Lambda, Logs, CloudWatch, SNS, CloudFront: the resource from the request's name or ARN."""
    p = op.params
    resource = "*"
    if prefix == "iam":
        if "RoleName" in p:
            resource = f"arn:aws:iam::{ACCOUNT}:role/{p['RoleName']}"
        elif "PolicyArn" in p:
            resource = p["PolicyArn"]
    elif prefix == "lambda" and "FunctionName" in p:
        name = p["FunctionName"].rsplit(":function:", 1)[-1].split(":")[0]
        resource = _arn("lambda", f"function:{name}")
    elif prefix == "logs":
        if "logGroupName" in p:
            resource = _arn("logs", f"log-group:{p['logGroupName']}:*")
        elif "resourceArn" in p:
            resource = p["resourceArn"]
    elif prefix == "cloudwatch":
        names = [v for k, v in p.items() if re.fullmatch(r"AlarmName|AlarmNames\.member\.\d+", k)]
        dashboards = [v for k, v in p.items() if re.fullmatch(r"DashboardName|DashboardNames\.member\.\d+", k)]
        if names:  # DescribeAlarms too: its resource type is the alarm (Service Authorization Reference)
            return [Call(f"cloudwatch:{op.name}", _arn("cloudwatch", f"alarm:{n}"), why=op.name) for n in names]
        if dashboards:
            return [
                Call(f"cloudwatch:{op.name}", f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{d}", why=op.name)
                for d in dashboards
            ]
        resource = p.get("ResourceARN", "*")
    elif prefix == "sns":
        resource = p.get("TopicArn") or p.get("ResourceArn") or (_arn("sns", p["Name"]) if "Name" in p else "*")
        if "SubscriptionArn" in p:
            resource = p["SubscriptionArn"].rsplit(":", 1)[0]
    elif prefix == "cloudfront" and "Id" in p:
        kind = (
            "distribution"
            if "Distribution" in op.name
            else "origin-access-control"
            if "OriginAccessControl" in op.name
            else ""
        )
        resource = f"arn:aws:cloudfront::{ACCOUNT}:{kind}/{p['Id']}" if kind else "*"
    if prefix == "cloudfront" and op.name == "CreateDistributionWithTags":  # not an IAM action of its own
        return [
            Call("cloudfront:CreateDistribution", resource, why=op.name),
            Call("cloudfront:TagResource", resource, why=op.name),
        ]
    calls = [Call(f"{prefix}:{op.name}", resource, why=op.name)]
    if prefix == "lambda" and "Role" in p:
        calls.append(
            Call(
                "iam:PassRole",
                p["Role"],
                (("iam:PassedToService", "lambda.amazonaws.com"),),
                f"{op.name} passes its role",
            )
        )
    if prefix == "iam" and op.name == "CreateRole" and any(k.startswith("Tags.member") for k in p):
        calls.append(Call("iam:TagRole", resource, why="CreateRole with Tags"))
    return calls


def calls(entry: dict[str, Any]) -> list[Call]:
    """The IAM calls of one logged request (none for a call IAM never checks)."""
    op = operation(entry)
    prefix = PREFIX.get(entry["service"], entry["service"])
    if op.service == "sagemaker":
        found = _sagemaker(op)
    elif op.service == "s3":
        found = _s3(op)
    elif op.service == "apigatewayv2":
        found = _apigateway(op, entry["method"], entry["path"])
    elif op.service == "application-autoscaling":
        found = _autoscaling(op)
    else:
        found = _named(op, prefix)
    return [c for c in found if c.action not in UNCHECKED]


def all_calls(entries: list[dict[str, Any]], key: str) -> list[Call]:
    """Every distinct IAM call signed with ``key`` (the deploy's key), in first-seen order."""
    seen: dict[Call, None] = {}
    for entry in entries:
        if entry.get("key") == key and "method" in entry:
            for call in calls(entry):
                seen.setdefault(call, None)
    return list(seen)
