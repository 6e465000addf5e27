"""What a deployed stack must hold, checked on the rehearsal's team stack (the workflows' path:
`make deploy` from a clean checkout, state in S3) between its deploy and its destroy.

Each check_* runs against the live stand-in (tests/rehearsal/conftest.py calls them all and
keeps each one's verdict; tests/rehearsal/test_deployed_stack.py reports them one by one).
They were tests/terraform/test_moto_apply.py's checks, which applied the root module by hand
with tfvars of its own: the stack they look at is now the one `make deploy` builds, with the
model SageMaker's stand-in trained, its schema and its tfvars.

CloudFront in moto 5.2 has distributions and origin access controls but no response headers
policy or cache policy API, and it drops an origin's OriginAccessControlId (the stand-in echoes
it: tests/rehearsal/fidelity.py): the deploy attaches the managed SecurityHeadersPolicy by ID
(website_response_headers_policy_id), and the policy built from web/security_headers.json is
checked by the mock-provider test terraform/tests/website.tftest.hcl. What moto cannot show:
that the managed policy IDs name policies that exist, and that a request for /predict reaches
the API at all (moto serves no distribution and routes nothing to Lambda): `make smoke` is the
first to exercise that path for real.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ml.model.bundle import MODEL_MEMBER, SCRIPT_ENVIRONMENT, SCRIPT_MEMBER, SCRIPT_SOURCE, archive_members
from tests.rehearsal.harness import REGION, Aws
from tests.terraform.tf_helpers import MANAGED_SECURITY_HEADERS

ROOT = Path(__file__).resolve().parents[2]
# Managed cache policies by ID (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
# using-managed-cache-policies.html) and the managed origin request policy AllViewerExceptHostHeader
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@dataclass
class DeployedStack:
    aws: Aws
    name: str  # NAME, every resource's prefix
    outputs: dict[str, Any]  # terraform output -json, values
    tfvars: dict[str, Any]  # build/model.auto.tfvars.json: the handoff make train wrote
    schema: dict[str, Any]  # build/model/feature_schema.json
    inventory: Callable[[], dict[str, list[str]]]

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    @property
    def model_data_url(self) -> str:
        return str(self.tfvars["model_data_url"])


# --------------------------------------------------------------------------- outputs


def check_outputs(stack: DeployedStack) -> None:
    out = stack.outputs
    iam, api = stack.client("iam"), stack.client("apigatewayv2")
    assert out["endpoint_name"] == f"{stack.name}-serverless"  # the name carries the mode
    assert out["lambda_name"] == f"{stack.name}-invoker"
    assert out["sagemaker_role_arn"] == iam.get_role(RoleName=f"{stack.name}-sagemaker")["Role"]["Arn"]
    (the_api,) = [a for a in api.get_apis()["Items"] if a["Name"] == f"{stack.name}-api"]
    # The page's origin is the API's: the distribution sends /predict to the HTTP API.
    assert out["api_url"] == out["website_url"]
    assert out["predict_url"] == out["website_url"] + "/predict"
    assert out["execute_api_url"] == the_api["ApiEndpoint"].rstrip("/")


# --------------------------------------------------------------------------- buckets


def check_data_bucket_private_encrypted_versioned_tls_only(stack: DeployedStack) -> None:
    s3, bucket = stack.client("s3"), stack.outputs["data_bucket"]
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert pab == dict.fromkeys(
        ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
    )
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (lc,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lc["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert lc["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] > 0
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])  # restored by stage 2
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow"]


def check_website_bucket_private_readable_by_the_distribution_only(stack: DeployedStack) -> None:
    from botocore.exceptions import ClientError

    s3, bucket = stack.client("s3"), stack.outputs["website_bucket"]
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert pab == dict.fromkeys(
        ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
    )
    dist = stack.client("cloudfront").get_distribution(Id=stack.outputs["website_distribution_id"])["Distribution"]
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "s3:GetObject"
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Resource"] == f"arn:aws:s3:::{bucket}/*"
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": dist["ARN"]}}
    with pytest.raises(ClientError) as no_website:
        s3.get_bucket_website(Bucket=bucket)
    assert no_website.value.response["Error"]["Code"] == "NoSuchWebsiteConfiguration"

    site = ROOT / "web"
    skipped = {"security_headers.json"}  # CloudFront's input, not a page file
    expected = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} - skipped | {"config.js"}
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == expected
    for key in keys:  # none may be served stale after an apply
        assert s3.head_object(Bucket=bucket, Key=key)["CacheControl"] == "no-cache", key
    assert s3.head_object(Bucket=bucket, Key="index.html")["ContentType"].startswith("text/html")


def check_distribution_https_oac_headers(stack: DeployedStack) -> None:
    cf = stack.client("cloudfront")
    dist = cf.get_distribution(Id=stack.outputs["website_distribution_id"])["Distribution"]
    assert stack.outputs["website_url"] == f"https://{dist['DomainName']}"
    config = dist["DistributionConfig"]
    assert config["Enabled"] and config["DefaultRootObject"] == "index.html"
    origins = {o["DomainName"]: o for o in config["Origins"]["Items"]}
    assert len(origins) == config["Origins"]["Quantity"] == 2
    origin = origins[f"{stack.outputs['website_bucket']}.s3.{REGION}.amazonaws.com"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["TargetOriginId"] == origin["Id"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["Compress"] is True
    assert behavior["CachePolicyId"] == CACHING_OPTIMIZED
    assert behavior["ResponseHeadersPolicyId"] == MANAGED_SECURITY_HEADERS

    (summary,) = [
        o
        for o in cf.list_origin_access_controls()["OriginAccessControlList"]["Items"]
        if o["Name"] == f"{stack.name}-web"
    ]
    oac = cf.get_origin_access_control(Id=summary["Id"])["OriginAccessControl"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )


def check_distribution_sends_predict_to_the_http_api(stack: DeployedStack) -> None:
    """The page's origin serves POST /predict: a custom origin (this stack's HTTP API, HTTPS,
    TLS 1.2) and an ordered cache behavior for exactly /predict (see the docstring for what moto
    cannot show)."""
    cf, apigw = stack.client("cloudfront"), stack.client("apigatewayv2")
    config = cf.get_distribution(Id=stack.outputs["website_distribution_id"])["Distribution"]["DistributionConfig"]
    (the_api,) = [a for a in apigw.get_apis()["Items"] if a["Name"] == f"{stack.name}-api"]
    api_host = the_api["ApiEndpoint"].removeprefix("https://").rstrip("/")
    (api_origin,) = [o for o in config["Origins"]["Items"] if o["DomainName"] == api_host]
    assert api_origin["OriginPath"] == ""
    custom = api_origin["CustomOriginConfig"]
    assert custom["OriginProtocolPolicy"] == "https-only" and custom["HTTPSPort"] == 443
    assert custom["OriginSslProtocols"]["Items"] == ["TLSv1.2"]
    assert custom["OriginReadTimeout"] == 30  # the HTTP API's integration limit: its own error gets through

    assert config["CacheBehaviors"]["Quantity"] == 1
    (behavior,) = config["CacheBehaviors"]["Items"]
    assert behavior["PathPattern"] == "/predict" and behavior["TargetOriginId"] == api_origin["Id"]
    assert sorted(behavior["AllowedMethods"]["Items"]) == ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    assert sorted(behavior["AllowedMethods"]["CachedMethods"]["Items"]) == ["GET", "HEAD"]
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert behavior["ResponseHeadersPolicyId"] == config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"


def check_config_js(stack: DeployedStack) -> None:
    s3 = stack.client("s3")
    body = s3.get_object(Bucket=stack.outputs["website_bucket"], Key="config.js")["Body"].read().decode()
    prefix, suffix = "window.CHURN_CONFIG = ", ";"
    assert body.startswith(prefix) and body.endswith(suffix) and "\n" not in body
    config = json.loads(body[len(prefix) : -len(suffix)])
    # apiUrl "": the page posts to /predict on its own origin (the distribution above).
    assert config == {"apiUrl": "", "schema": stack.schema}


# --------------------------------------------------------------------------- endpoint


def check_sagemaker_model_endpoint(stack: DeployedStack) -> None:
    sm = stack.client("sagemaker")
    ep = sm.describe_endpoint(EndpointName=stack.outputs["endpoint_name"])
    assert ep["EndpointStatus"] == "InService"
    cfg = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    assert ep["EndpointConfigName"].startswith(f"{stack.name}-")
    (variant,) = cfg["ProductionVariants"]
    assert variant["ServerlessConfig"]["MemorySizeInMB"] == 2048
    assert variant["ServerlessConfig"]["MaxConcurrency"] == 5
    model = sm.describe_model(ModelName=variant["ModelName"])
    # Made from the registry version itself (make deploy approved it), not from a copy of its fields.
    package_arn = stack.tfvars["model_package_arn"]
    assert model["PrimaryContainer"] == {"ModelPackageName": package_arn, "Mode": "SingleModel"}
    package = sm.describe_model_package(ModelPackageName=package_arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ModelPackageGroupName"] == stack.name
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == stack.model_data_url
    assert container["Image"] == f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:3.0-5"
    assert model["ExecutionRoleArn"] == stack.outputs["sagemaker_role_arn"]
    # Script mode: the served archive is the job's booster repacked with the inference script
    # (the stand-in job, like SageMaker's, wrote the booster alone), and the package runs that script.
    assert container.get("Environment") == SCRIPT_ENVIRONMENT
    bucket, key = stack.model_data_url.removeprefix("s3://").split("/", 1)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "model.tar.gz"
        archive.write_bytes(stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
        members = archive_members(archive)
    assert list(members) == [MODEL_MEMBER, SCRIPT_MEMBER] and members[SCRIPT_MEMBER] == SCRIPT_SOURCE.read_bytes()

    iam = stack.client("iam")
    doc = iam.get_role_policy(RoleName=f"{stack.name}-sagemaker", PolicyName=f"{stack.name}-sagemaker")[
        "PolicyDocument"
    ]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    reads = [
        s
        for s in doc["Statement"]
        if "s3:GetObject" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    resources = {r for s in reads for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert "arn:aws:s3:::" + stack.model_data_url.removeprefix("s3://") in resources


def check_roles_trust_services_only_for_this_account(stack: DeployedStack) -> None:
    """Confused-deputy guard: each service may assume our roles only on behalf of this account."""
    iam = stack.client("iam")
    account = stack.client("sts").get_caller_identity()["Account"]
    for name, service in [(f"{stack.name}-sagemaker", "sagemaker"), (f"{stack.name}-invoker-lambda", "lambda")]:
        doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        (statement,) = (json.loads(doc) if isinstance(doc, str) else doc)["Statement"]
        assert statement["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


# --------------------------------------------------------------------------- lambda


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_lambda_function_env_and_policy(stack: DeployedStack) -> None:
    lam, sm, iam = stack.client("lambda"), stack.client("sagemaker"), stack.client("iam")
    fn = lam.get_function(FunctionName=stack.outputs["lambda_name"])["Configuration"]
    assert fn["Runtime"].startswith("python3.1")
    assert fn["Handler"] == "handler.handler"
    assert fn["Environment"]["Variables"] == {
        "ENDPOINT_NAME": stack.outputs["endpoint_name"],
        "DECISION_CUTOFF": fn["Environment"]["Variables"]["DECISION_CUTOFF"],
        "INVOKE_CONNECT_TIMEOUT": "2",
        "INVOKE_READ_TIMEOUT": "10",
        "INVOKE_MAX_ATTEMPTS": "2",
        "MODEL_VERSION": stack.tfvars["model_version"],  # what the API and the page say answered
        "MODEL_APPROVED_AT": stack.tfvars["model_approved_at"],
    }
    assert float(fn["Environment"]["Variables"]["DECISION_CUTOFF"]) == stack.tfvars["decision_cutoff"]
    assert fn["Timeout"] == 28

    endpoint_arn = sm.describe_endpoint(EndpointName=stack.outputs["endpoint_name"])["EndpointArn"]
    role = fn["Role"].rsplit("/", 1)[-1]
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    statements = []
    for name in names:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        statements += (json.loads(doc) if isinstance(doc, str) else doc)["Statement"]
    sm_statements = [s for s in statements if any(a.startswith("sagemaker:") for a in as_list(s["Action"]))]
    assert [as_list(s["Action"]) for s in sm_statements] == [["sagemaker:InvokeEndpoint"]]
    assert [as_list(s["Resource"]) for s in sm_statements] == [[endpoint_arn]]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []

    logs = stack.client("logs")
    (group,) = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack.name}-invoker")["logGroups"]
    assert group["retentionInDays"] == 14

    permission = json.loads(lam.get_policy(FunctionName=stack.outputs["lambda_name"])["Policy"])
    (stmt,) = permission["Statement"]
    assert stmt["Principal"] == {"Service": "apigateway.amazonaws.com"}
    api_id = stack.outputs["execute_api_url"].split("//", 1)[1].split(".", 1)[0]
    assert f":{api_id}/" in stmt["Condition"]["ArnLike"]["AWS:SourceArn"]


# --------------------------------------------------------------------------- http api


def check_http_api_route_no_cors_throttling(stack: DeployedStack) -> None:
    api = stack.client("apigatewayv2")
    (the_api,) = [a for a in api.get_apis()["Items"] if a["Name"] == f"{stack.name}-api"]
    assert the_api["ProtocolType"] == "HTTP"
    assert not the_api.get("CorsConfiguration")  # the page calls it on its own origin: no CORS

    (route,) = api.get_routes(ApiId=the_api["ApiId"])["Items"]
    assert route["RouteKey"] == "POST /predict"
    integration_id = route["Target"].removeprefix("integrations/")
    integ = api.get_integration(ApiId=the_api["ApiId"], IntegrationId=integration_id)
    assert integ["IntegrationType"] == "AWS_PROXY"
    assert integ["PayloadFormatVersion"] == "2.0"
    assert stack.outputs["lambda_name"] in integ["IntegrationUri"]

    (stage,) = api.get_stages(ApiId=the_api["ApiId"])["Items"]
    assert stage["StageName"] == "$default" and stage["AutoDeploy"]
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(f"/aws/apigateway/{stack.name}-api")


# --------------------------------------------------------------------------- monitoring


def check_monitoring_topic_alarms_dashboard(stack: DeployedStack) -> None:
    cw = stack.client("cloudwatch")
    inv = stack.inventory()
    (topic,) = inv["topics"]
    assert topic.endswith(f":{stack.name}-alarms")
    assert stack.outputs["alarm_topic_arn"] == topic
    assert inv["alarms"] == sorted(
        f"{stack.name}-{n}"
        for n in ("api-5xx-rate", "lambda-errors", "lambda-throttles", "endpoint-errors", "flagged-share-out-of-band")
    )
    found = cw.describe_alarms(AlarmNamePrefix=f"{stack.name}-")["MetricAlarms"]
    alarms = {a["AlarmName"]: a for a in found if a["AlarmName"] in inv["alarms"]}  # not another stack's
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic], alarm["AlarmName"]
        assert alarm["TreatMissingData"] == "notBreaching"
    errors = alarms[f"{stack.name}-lambda-errors"]
    assert errors["Namespace"] == "AWS/Lambda" and errors["MetricName"] == "Errors"
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": stack.outputs["lambda_name"]}]
    assert errors["Threshold"] == 1 and errors["Period"] == 300
    drift = alarms[f"{stack.name}-flagged-share-out-of-band"]  # its band comes from the handoff keys
    (expression,) = [q["Expression"] for q in drift["Metrics"] if q.get("ReturnData")]
    low, high = (float(v) for v in re.findall(r"flagged / records [<>] ([0-9.e-]+)\)", expression))
    assert [low, high] == pytest.approx(stack.tfvars["flagged_share_band"], abs=1e-12), expression
    periods = {q["MetricStat"]["Period"] for q in drift["Metrics"] if "MetricStat" in q}
    assert periods == {3600}

    assert inv["dashboards"] == [f"{stack.name}-service"]
    body = json.loads(cw.get_dashboard(DashboardName=f"{stack.name}-service")["DashboardBody"])
    text = json.dumps(body)
    for name in (stack.outputs["lambda_name"], stack.outputs["endpoint_name"], "Churn/Invoker", "ModelSetupTime"):
        assert f'"{name}"' in text, name
    assert stack.outputs["monitoring_dashboard_url"].endswith(f"#dashboards/dashboard/{stack.name}-service")


CHECKS = {name.removeprefix("check_"): f for name, f in sorted(globals().items()) if name.startswith("check_")}


def run_all(stack: DeployedStack) -> dict[str, str]:
    """Check name -> "ok" or what failed (an assertion's message, or the error)."""
    verdicts = {}
    for name, check in CHECKS.items():
        try:
            check(stack)
            verdicts[name] = "ok"
        except Exception as exc:  # a verdict to report, not to raise here: the other checks still run
            verdicts[name] = f"{type(exc).__name__}: {exc}"
    return verdicts
