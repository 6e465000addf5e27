"""Applies the whole stack against a moto server, checks it with boto3, then destroys it.

Flow (what `make` does against AWS, offline): apply with no model (buckets + role
only) -> upload model.tar.gz to the data bucket -> apply with the model handoff
variables (same keys as build/model.auto.tfvars.json) -> check every output and
resource -> destroy -> check that nothing is left.

moto quirk handled here: moto evaluates bucket-policy conditions without any request
context, so the data bucket's "deny unless aws:SecureTransport" statement denies every
object call, TLS or not. The test deletes the policy to upload the model; the second
apply puts it back (and the test checks it is there).

CloudFront in moto 5.2 (moto/cloudfront/urls.py): distributions, origin access controls and
invalidations exist; response headers policies, cache policies and origin request policies do
not. So this apply attaches the managed SecurityHeadersPolicy by ID (variable
website_response_headers_policy_id) and the policy the stack builds from
web/security_headers.json is checked by the mock-provider test
terraform/tests/website.tftest.hcl. moto also drops an origin's OriginAccessControlId from what
it stores, so the origin-to-OAC link is checked there too; here the OAC, the distribution and
the bucket policy that names the distribution are checked.

The /predict path (a second origin, the HTTP API, and an ordered cache behavior): moto stores
and returns the custom origin's config (protocol policy, TLS versions, ports, read timeout) and
the ordered cache behavior (path pattern, target origin, allowed and cached methods, the cache,
origin request and response headers policy IDs, viewer protocol policy), so those are checked
here against what the API really is. What moto cannot show: that the policy IDs name policies
that exist (it has no policy API; the IDs are AWS's managed ones, checked against AWS's pages),
and that a request for /predict reaches the API at all: moto serves no distribution, and its API
Gateway routes nothing to Lambda (and its Lambda needs Docker). The path users take is first
exercised for real by `make smoke`, which posts to the distribution's /predict.
"""

from __future__ import annotations

import io
import json
import tarfile
import warnings
from pathlib import Path

import pytest

from tests.terraform.tf_helpers import (
    MANAGED_SECURITY_HEADERS,
    ROOT,
    TF_DIR,
    aws_env,
    init_copy,
    lambda_zip,
    moto_server,
    run_tf,
)

pytestmark = [pytest.mark.terraform, pytest.mark.integration]

PREFIX = "tfit"
REGION = "us-east-1"
CUTOFF = 0.3
FALLBACK_SCHEMA = {"fields": {}, "decision": {"cutoff": CUTOFF}}
# Managed cache policies by ID (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
# using-managed-cache-policies.html) and the managed origin request policy AllViewerExceptHostHeader
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def model_tarball(bundle: Path | None) -> bytes:
    """The bundle's real model.tar.gz, else a tarball holding one file named xgboost-model."""
    if bundle is not None and (bundle / "model.tar.gz").exists():
        return (bundle / "model.tar.gz").read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"not a real booster; moto never loads it"
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def web_dir() -> Path:
    real = ROOT / "web"
    return real if (real / "index.html").exists() else TF_DIR / "tests" / "fixtures" / "web"


class Stack:
    """Holds the moto server, boto3 clients, terraform work dir and what each stage saw."""

    def __init__(self, workdir: Path, env: dict[str, str], url: str):
        import boto3

        self.workdir, self.env, self.url = workdir, env, url
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        self.client = lambda name: session.client(name, endpoint_url=url)
        self.stage1_outputs: dict = {}
        self.stage1_inventory: dict = {}
        self.stage1_distribution: dict = {}
        self.outputs: dict = {}
        self.model_data_url = ""
        self.schema: dict = {}
        self.destroyed = False
        self.var_files: tuple[Path, ...] = ()

    def terraform(self, *args: str, timeout: float = 600):
        return run_tf([*args, "-no-color"], self.workdir, self.env, timeout=timeout)

    def apply(self, *var_files: Path) -> dict:
        self.terraform("apply", "-auto-approve", "-input=false", *(f"-var-file={f}" for f in var_files))
        out = json.loads(run_tf(["output", "-json"], self.workdir, self.env).stdout)
        return {k: v["value"] for k, v in out.items()}

    def inventory(self) -> dict:
        """Everything of ours that exists in moto, by kind."""
        s3, lam, sm = self.client("s3"), self.client("lambda"), self.client("sagemaker")
        api, iam, logs = self.client("apigatewayv2"), self.client("iam"), self.client("logs")
        cf = self.client("cloudfront")
        return {
            "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(PREFIX)),
            "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)),
            "functions": [
                f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(PREFIX)
            ],
            "models": [m["ModelName"] for m in sm.list_models()["Models"] if m["ModelName"].startswith(PREFIX)],
            "endpoint_configs": [
                c["EndpointConfigName"]
                for c in sm.list_endpoint_configs()["EndpointConfigs"]
                if c["EndpointConfigName"].startswith(PREFIX)
            ],
            "endpoints": [
                e["EndpointName"] for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"].startswith(PREFIX)
            ],
            "apis": [a["Name"] for a in api.get_apis()["Items"] if a["Name"].startswith(PREFIX)],
            "log_groups": [
                g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if PREFIX in g["logGroupName"]
            ],
            "topics": [
                t["TopicArn"] for t in self.client("sns").list_topics()["Topics"] if f":{PREFIX}-" in t["TopicArn"]
            ],
            "alarms": sorted(
                a["AlarmName"]
                for a in self.client("cloudwatch").describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]
            ),
            "dashboards": [
                d["DashboardName"]
                for d in self.client("cloudwatch").list_dashboards(DashboardNamePrefix=PREFIX)["DashboardEntries"]
            ],
            "distributions": [
                d["Id"]
                for d in cf.list_distributions()["DistributionList"].get("Items", [])
                if d["Comment"].startswith(PREFIX)
            ],
            "origin_access_controls": [
                o["Name"]
                for o in cf.list_origin_access_controls()["OriginAccessControlList"].get("Items", [])
                if o["Name"].startswith(PREFIX)
            ],
        }


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tf_env, request):
    pytest.importorskip("moto.server")
    tmp = tmp_path_factory.mktemp("moto_apply")
    workdir = init_copy(tmp / "terraform", tf_env)

    # The real bundle when the ML side can build one; the stack does not depend on it.
    bundle = None
    try:
        bundle = request.getfixturevalue("bundle_dir")
    except Exception as exc:
        warnings.warn(f"bundle_dir unavailable ({exc!r}); using a stand-in model and schema", stacklevel=1)

    with moto_server() as url:
        env = aws_env(tf_env, REGION)
        st = Stack(workdir, env, url)

        base_vars = tmp / "moto.tfvars.json"
        base_vars.write_text(
            json.dumps(
                {
                    "aws_endpoint_url": url,
                    "name_prefix": PREFIX,
                    "force_destroy": True,
                    "web_dir": str(web_dir()),
                    "website_response_headers_policy_id": MANAGED_SECURITY_HEADERS,
                    "website_wait_for_deployment": False,  # moto's distribution polls ~30 s per change
                }
            )
        )
        try:
            # Stage 1: no model yet.
            st.stage1_outputs = st.apply(base_vars)
            st.stage1_inventory = st.inventory()
            st.stage1_distribution = st.client("cloudfront").get_distribution(
                Id=st.stage1_outputs["website_distribution_id"]
            )["Distribution"]

            # Training's output lands in the data bucket (see the module docstring for the policy dance).
            s3 = st.client("s3")
            bucket = st.stage1_outputs["data_bucket"]
            s3.delete_bucket_policy(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="models/run-1/model.tar.gz", Body=model_tarball(bundle))
            st.model_data_url = f"s3://{bucket}/models/run-1/model.tar.gz"

            schema_path = bundle / "feature_schema.json" if bundle is not None else None
            if schema_path is None or not schema_path.exists():
                schema_path = tmp / "feature_schema.json"
                schema_path.write_text(json.dumps(FALLBACK_SCHEMA))
            st.schema = json.loads(schema_path.read_text())

            zip_path = tmp / "invoker.zip"
            model_vars = tmp / "model.auto.tfvars.json"  # the Makefile's handoff keys
            model_vars.write_text(
                json.dumps(
                    {
                        "model_data_url": st.model_data_url,
                        "image_uri": None,
                        "decision_cutoff": CUTOFF,
                        "feature_schema_path": str(schema_path),
                        "lambda_zip_path": str(zip_path),
                        "lambda_zip_sha256": lambda_zip(zip_path),
                        # metrics.json's monitoring block, as ml/sagemaker/handoff.py writes it
                        "expected_flagged_share": 0.125,
                        "flagged_share_band": [0.0625, 0.25],
                    }
                )
            )

            # Stage 2: everything.
            st.outputs = st.apply(base_vars, model_vars)
            st.var_files = (base_vars, model_vars)
            yield st
        finally:
            if not st.destroyed:
                run_tf(
                    ["destroy", "-auto-approve", "-input=false", "-no-color", f"-var-file={base_vars}"]
                    + (
                        [f"-var-file={tmp / 'model.auto.tfvars.json'}"]
                        if (tmp / "model.auto.tfvars.json").exists()
                        else []
                    ),
                    workdir,
                    env,
                    check=False,
                )


# --------------------------------------------------------------------------- stage 1


def test_stage1_creates_buckets_and_role_only(stack):
    inv = stack.stage1_inventory
    assert len(inv["buckets"]) == 2
    # The page's distribution exists from the start, so its origin is known before the API.
    assert len(inv["distributions"]) == 1 and inv["origin_access_controls"] == [f"{PREFIX}-web"]
    assert inv["roles"] == [f"{PREFIX}-sagemaker"]
    assert not any(
        inv[k]
        for k in (
            "functions",
            "models",
            "endpoint_configs",
            "endpoints",
            "apis",
            "log_groups",
            "topics",
            "alarms",
            "dashboards",
        )
    ), inv
    out = stack.stage1_outputs
    # `terraform output -json` leaves null outputs out.
    assert out.get("api_url") is None and out.get("endpoint_name") is None and out.get("lambda_name") is None
    assert out.get("predict_url") is None and out.get("execute_api_url") is None
    assert out["data_bucket"] in inv["buckets"] and out["website_bucket"] in inv["buckets"]


def test_stage1_distribution_has_no_api_path(stack):
    """No model, no API: the distribution serves the (empty) bucket alone, no /predict behavior;
    stage 2 adds the API to the same distribution (its domain, the page's origin, stays)."""
    config = stack.stage1_distribution["DistributionConfig"]
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == f"{stack.stage1_outputs['website_bucket']}.s3.{REGION}.amazonaws.com"
    assert config["CacheBehaviors"]["Quantity"] == 0 and not config["CacheBehaviors"].get("Items")
    assert stack.outputs["website_distribution_id"] == stack.stage1_distribution["Id"]
    assert stack.outputs["website_url"] == stack.stage1_outputs["website_url"]


# --------------------------------------------------------------------------- outputs


def test_outputs(stack):
    out = stack.outputs
    iam, api = stack.client("iam"), stack.client("apigatewayv2")
    assert out["endpoint_name"] == f"{PREFIX}-serverless"  # the name carries the mode
    assert out["lambda_name"] == f"{PREFIX}-invoker"
    assert out["data_bucket"] == stack.stage1_outputs["data_bucket"]
    assert out["sagemaker_role_arn"] == iam.get_role(RoleName=f"{PREFIX}-sagemaker")["Role"]["Arn"]
    (the_api,) = [a for a in api.get_apis()["Items"] if a["Name"] == f"{PREFIX}-api"]
    # The page's origin is the API's: the distribution sends /predict to the HTTP API.
    assert out["api_url"] == out["website_url"]
    assert out["predict_url"] == out["website_url"] + "/predict"
    assert out["execute_api_url"] == the_api["ApiEndpoint"].rstrip("/")


# --------------------------------------------------------------------------- buckets


def test_data_bucket_private_encrypted_versioned_tls_only(stack):
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


def test_website_bucket_private_readable_by_the_distribution_only(stack):
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

    site = web_dir()
    skipped = {"security_headers.json"}  # CloudFront's input, not a page file
    expected = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()} - skipped | {"config.js"}
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == expected
    for key in keys:  # none may be served stale after an apply
        assert s3.head_object(Bucket=bucket, Key=key)["CacheControl"] == "no-cache", key
    assert s3.head_object(Bucket=bucket, Key="index.html")["ContentType"].startswith("text/html")


def test_distribution_https_oac_headers(stack):
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
        o for o in cf.list_origin_access_controls()["OriginAccessControlList"]["Items"] if o["Name"] == f"{PREFIX}-web"
    ]
    oac = cf.get_origin_access_control(Id=summary["Id"])["OriginAccessControl"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )


def test_distribution_sends_predict_to_the_http_api(stack):
    """The page's origin serves POST /predict: a custom origin (this stack's HTTP API, HTTPS,
    TLS 1.2) and an ordered cache behavior for exactly /predict (see the docstring for what moto
    cannot show)."""
    cf, apigw = stack.client("cloudfront"), stack.client("apigatewayv2")
    config = cf.get_distribution(Id=stack.outputs["website_distribution_id"])["Distribution"]["DistributionConfig"]
    (the_api,) = [a for a in apigw.get_apis()["Items"] if a["Name"] == f"{PREFIX}-api"]
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


def test_config_js(stack):
    s3 = stack.client("s3")
    body = s3.get_object(Bucket=stack.outputs["website_bucket"], Key="config.js")["Body"].read().decode()
    prefix, suffix = "window.CHURN_CONFIG = ", ";"
    assert body.startswith(prefix) and body.endswith(suffix) and "\n" not in body
    config = json.loads(body[len(prefix) : -len(suffix)])
    # apiUrl "": the page posts to /predict on its own origin (the distribution above).
    assert config == {"apiUrl": "", "schema": stack.schema}


# --------------------------------------------------------------------------- endpoint


def test_sagemaker_model_endpoint(stack):
    sm = stack.client("sagemaker")
    ep = sm.describe_endpoint(EndpointName=stack.outputs["endpoint_name"])
    assert ep["EndpointStatus"] == "InService"
    cfg = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    assert ep["EndpointConfigName"].startswith(f"{PREFIX}-")
    (variant,) = cfg["ProductionVariants"]
    assert variant["ServerlessConfig"]["MemorySizeInMB"] == 2048
    assert variant["ServerlessConfig"]["MaxConcurrency"] == 5
    model = sm.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == stack.model_data_url
    assert model["PrimaryContainer"]["Image"] == f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:3.0-5"
    assert model["ExecutionRoleArn"] == stack.outputs["sagemaker_role_arn"]

    iam = stack.client("iam")
    doc = iam.get_role_policy(RoleName=f"{PREFIX}-sagemaker", PolicyName=f"{PREFIX}-sagemaker")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    reads = [
        s
        for s in doc["Statement"]
        if "s3:GetObject" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    resources = {r for s in reads for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert "arn:aws:s3:::" + stack.model_data_url.removeprefix("s3://") in resources


def test_roles_trust_services_only_for_this_account(stack):
    """Confused-deputy guard: each service may assume our roles only on behalf of this account."""
    iam = stack.client("iam")
    account = stack.client("sts").get_caller_identity()["Account"]
    for name, service in [(f"{PREFIX}-sagemaker", "sagemaker"), (f"{PREFIX}-invoker-lambda", "lambda")]:
        doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        (statement,) = (json.loads(doc) if isinstance(doc, str) else doc)["Statement"]
        assert statement["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}


# --------------------------------------------------------------------------- lambda


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_lambda_function_env_and_policy(stack):
    lam, sm, iam = stack.client("lambda"), stack.client("sagemaker"), stack.client("iam")
    fn = lam.get_function(FunctionName=stack.outputs["lambda_name"])["Configuration"]
    assert fn["Runtime"].startswith("python3.1")
    assert fn["Handler"] == "handler.handler"
    assert fn["Environment"]["Variables"] == {
        "ENDPOINT_NAME": stack.outputs["endpoint_name"],
        "DECISION_CUTOFF": str(CUTOFF),
        "INVOKE_CONNECT_TIMEOUT": "2",
        "INVOKE_READ_TIMEOUT": "10",
        "INVOKE_MAX_ATTEMPTS": "2",
    }
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
    (group,) = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{PREFIX}-invoker")["logGroups"]
    assert group["retentionInDays"] == 14

    permission = json.loads(lam.get_policy(FunctionName=stack.outputs["lambda_name"])["Policy"])
    (stmt,) = permission["Statement"]
    assert stmt["Principal"] == {"Service": "apigateway.amazonaws.com"}
    api_id = stack.outputs["execute_api_url"].split("//", 1)[1].split(".", 1)[0]
    assert f":{api_id}/" in stmt["Condition"]["ArnLike"]["AWS:SourceArn"]


# --------------------------------------------------------------------------- http api


def test_http_api_route_no_cors_throttling(stack):
    api = stack.client("apigatewayv2")
    (the_api,) = [a for a in api.get_apis()["Items"] if a["Name"] == f"{PREFIX}-api"]
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
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(f"/aws/apigateway/{PREFIX}-api")


# --------------------------------------------------------------------------- monitoring


def test_monitoring_topic_alarms_dashboard(stack):
    cw = stack.client("cloudwatch")
    inv = stack.inventory()
    (topic,) = inv["topics"]
    assert topic.endswith(f":{PREFIX}-alarms")
    assert stack.outputs["alarm_topic_arn"] == topic
    assert inv["alarms"] == sorted(
        f"{PREFIX}-{n}"
        for n in ("api-5xx-rate", "lambda-errors", "lambda-throttles", "endpoint-errors", "flagged-share-out-of-band")
    )
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic], alarm["AlarmName"]
        assert alarm["TreatMissingData"] == "notBreaching"
    errors = alarms[f"{PREFIX}-lambda-errors"]
    assert errors["Namespace"] == "AWS/Lambda" and errors["MetricName"] == "Errors"
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": stack.outputs["lambda_name"]}]
    assert errors["Threshold"] == 1 and errors["Period"] == 300
    drift = alarms[f"{PREFIX}-flagged-share-out-of-band"]  # its band comes from the handoff keys
    (expression,) = [q["Expression"] for q in drift["Metrics"] if q.get("ReturnData")]
    assert "(flagged / records < 0.0625) OR (flagged / records > 0.25)" in expression
    periods = {q["MetricStat"]["Period"] for q in drift["Metrics"] if "MetricStat" in q}
    assert periods == {3600}

    assert inv["dashboards"] == [f"{PREFIX}-service"]
    body = json.loads(cw.get_dashboard(DashboardName=f"{PREFIX}-service")["DashboardBody"])
    text = json.dumps(body)
    for name in (stack.outputs["lambda_name"], stack.outputs["endpoint_name"], "Churn/Invoker", "ModelSetupTime"):
        assert f'"{name}"' in text, name
    assert stack.outputs["monitoring_dashboard_url"].endswith(f"#dashboards/dashboard/{PREFIX}-service")


# --------------------------------------------------------------------------- destroy (last)


def test_destroy_leaves_nothing(stack):
    stack.terraform("destroy", "-auto-approve", "-input=false", *(f"-var-file={f}" for f in stack.var_files))
    stack.destroyed = True
    leftovers = {k: v for k, v in stack.inventory().items() if v}
    assert leftovers == {}
