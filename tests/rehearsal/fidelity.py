"""Where moto 5.2.5 answers differently from AWS on the deploy path, the stand-in answers as AWS does.

Each fix is the smallest that makes Terraform see what AWS would show it; without them the
deploy hangs (a 500 the provider retries for ever) or `make plan` after a deploy is never empty:
- bucket policies: moto evaluates conditions without a request context, so the data and state
  buckets' "deny unless aws:SecureTransport" denies every object call, TLS or not. The policy is
  kept as written and answered as written; moto gets it without its conditional Deny statements.
- Application Auto Scaling ListTagsForResource / TagResource / UntagResource: not implemented
  by moto (500); answered from the tags given at RegisterScalableTarget and since.
- SageMaker DescribeModel: moto drops EnableNetworkIsolation and adds an empty VpcConfig; AWS
  echoes the one and leaves out the other. DescribeEndpointConfig: moto adds a disabled
  DataCaptureConfig to a configuration created without one (Terraform then replaces it).
  DescribeEndpoint: moto drops CreateEndpoint's DeploymentConfig; AWS answers it as
  LastDeploymentConfig, which the provider reads deployment_config from (without it, the
  realtime endpoint's guardrails read back empty, and their rollback alarms being ForceNew,
  every plan after the deploy replaces the endpoint).
- SageMaker DeleteModelPackage and DeleteModelPackageGroup: not implemented by moto (the
  provider retries the group's deletion for ever). Answered here as AWS does: a deleted version
  leaves ListModelPackages, a group that still holds versions is refused (ConflictException:
  `make destroy` must delete them first), a deleted group is "does not exist" to Describe.
- SageMaker UpdateEndpoint: not implemented by moto. It switches the endpoint to the new
  configuration, as a deployment that sticks does; after the harness's ROLL_BACK_NEXT_UPDATE
  request, the next one is answered as SageMaker answers a guarded update it then rolled back:
  accepted, and the endpoint InService on the configuration it ran before
  (terraform-provider-aws#48997: the provider reports success).
- SageMaker CreateModel from a model package version that is not Approved: moto creates it; AWS
  refuses ("For versioned models, the value of this parameter must be set to Approved to deploy
  the model": CreateModelPackage, ModelApprovalStatus).
- CloudFront: moto drops an origin's OriginAccessControlId and adds ForwardedValues to a cache
  behaviour that names a cache policy; AWS returns the DistributionConfig as it was sent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's account; the rehearsal's region
# The harness's own request (signed with its key; no AWS API has this path): the next UpdateEndpoint is rolled back.
ROLL_BACK_NEXT_UPDATE = "/_rehearsal/roll-back-next-update"
JSON_TYPE = "application/x-amz-json-1.1"

# (parent, child) elements of a DistributionConfig that moto drops, adds or changes: answered as sent.
ECHOED = (
    ("Origin", "OriginAccessControlId"),
    ("Origin", "S3OriginConfig"),
    ("DefaultCacheBehavior", "ForwardedValues"),
    ("CacheBehavior", "ForwardedValues"),
    ("ViewerCertificate", "SSLSupportMethod"),
)


@dataclass
class Request:
    service: str  # the SigV4 signing name
    method: str
    path: str
    query: str
    target: str  # X-Amz-Target, for JSON protocols
    body: bytes


@dataclass
class Answer:
    status: str
    content_type: str
    body: bytes


def _blocks(xml: str, tag: str) -> list[re.Match[str]]:
    return list(re.finditer(rf"<{tag}>(.*?)</{tag}>", xml, re.S))


def _child(block: str, tag: str) -> str:
    found = re.search(rf"<{tag}>.*?</{tag}>", block, re.S)
    return found[0] if found else ""


def _key(block: str, parent: str) -> str:
    """What tells one origin (its Id) or cache behaviour (its PathPattern) from another."""
    return _child(block, "Id") or _child(block, "PathPattern") or parent


def _echo_config(answer: str, sent: str) -> str:
    """moto's distribution answer with the ECHOED elements as the request had them."""
    for parent, child in ECHOED:
        sent_blocks = {_key(b[1], parent): b[1] for b in _blocks(sent, parent)}
        for block in reversed(_blocks(answer, parent)):
            key = _key(block[1], parent)
            inner = re.sub(rf"<{child}>.*?</{child}>", "", block[1], flags=re.S) + _child(
                sent_blocks.get(key, ""), child
            )
            answer = answer[: block.start(1)] + inner + answer[block.end(1) :]
    return answer


def _sagemaker() -> Any:
    """moto's SageMaker backend: the stand-in's moto runs in this process."""
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[ACCOUNT][REGION]


def _error(code: str, message: str) -> Answer:
    return Answer("400 Bad Request", JSON_TYPE, json.dumps({"__type": code, "message": message}).encode())


def _statements(policy: dict) -> list[dict]:
    raw = policy.get("Statement", [])
    return raw if isinstance(raw, list) else [raw]


def _unconditional(policy: dict) -> list[dict]:
    return [s for s in _statements(policy) if not (s["Effect"] == "Deny" and "Condition" in s)]


class Fixes:
    def __init__(self) -> None:
        self.policies: dict[str, bytes] = {}  # bucket -> policy as written
        self.scaling_tags: dict[str, dict[str, str]] = {}  # scalable target ARN -> tags
        self.models: dict[str, dict] = {}  # model name -> CreateModel request
        self.endpoint_configs: dict[str, dict] = {}  # name -> CreateEndpointConfig request
        self.deployment_configs: dict[str, dict] = {}  # endpoint name -> its DeploymentConfig as sent
        self.distributions: dict[str, str] = {}  # distribution id -> the last config sent
        self.packages: dict[str, set[str]] = {}  # model package group -> its versions' ARNs, not deleted
        self.deleted_packages: set[str] = set()
        self.deleted_groups: set[str] = set()
        self.roll_back_next_update = False

    # -- before moto: answer here, or hand moto another body ----------------------------------
    def answer(self, req: Request) -> Answer | None:
        bucket = self._policy_bucket(req)
        if bucket is not None:
            if req.method == "GET" and bucket in self.policies:
                return Answer("200 OK", "application/json", self.policies[bucket])
            if req.method == "PUT":
                self.policies[bucket] = req.body
                if not _unconditional(json.loads(req.body)):
                    return Answer("204 No Content", "", b"")  # nothing left for moto to hold
            if req.method == "DELETE":
                self.policies.pop(bucket, None)
        registry = self._registry(req)
        if registry is not None:
            return registry
        if req.path == ROLL_BACK_NEXT_UPDATE:
            self.roll_back_next_update = True
            return Answer("200 OK", "text/plain", b"armed")
        if req.target == "SageMaker.UpdateEndpoint":
            return self._update_endpoint(json.loads(req.body))
        if req.target == "SageMaker.CreateModel":
            package = (json.loads(req.body).get("PrimaryContainer") or {}).get("ModelPackageName")
            status = _sagemaker().describe_model_package(package).model_approval_status if package else None
            if package and status != "Approved":
                message = f"Model package {package} is {status}: a versioned model deploys only when Approved."
                return _error("ValidationException", message)
        prefix = "AnyScaleFrontendService."
        if req.target in {prefix + op for op in ("ListTagsForResource", "TagResource", "UntagResource")}:
            request = json.loads(req.body or b"{}")
            tags = self.scaling_tags.setdefault(request["ResourceARN"], {})
            if req.target == prefix + "TagResource":
                tags.update(request.get("Tags") or {})
            for key in request.get("TagKeys") or []:
                tags.pop(key, None)
            body = {"Tags": tags} if req.target == prefix + "ListTagsForResource" else {}
            return Answer("200 OK", "application/x-amz-json-1.1", json.dumps(body).encode())
        return None

    def _registry(self, req: Request) -> Answer | None:
        json_type = "application/x-amz-json-1.1"
        if req.target == "SageMaker.DeleteModelPackage":
            arn = json.loads(req.body)["ModelPackageName"]
            self.deleted_packages.add(arn)
            for arns in self.packages.values():
                arns.discard(arn)
            return Answer("200 OK", json_type, b"{}")
        if req.target == "SageMaker.DeleteModelPackageGroup":
            group = json.loads(req.body)["ModelPackageGroupName"]
            if self.packages.get(group):
                message = f"Model Package Group {group} has model packages and cannot be deleted"
                return Answer(
                    "400 Bad Request",
                    json_type,
                    json.dumps({"__type": "ConflictException", "message": message}).encode(),
                )
            self.deleted_groups.add(group)
            return Answer("200 OK", json_type, b"{}")
        if req.target == "SageMaker.DescribeModelPackageGroup":
            group = json.loads(req.body)["ModelPackageGroupName"]
            if group in self.deleted_groups:
                message = f"ModelPackageGroup {group} does not exist."
                return Answer(
                    "400 Bad Request",
                    json_type,
                    json.dumps({"__type": "ValidationException", "message": message}).encode(),
                )
        return None

    def _update_endpoint(self, request: dict) -> Answer:
        backend = _sagemaker()
        name, config = request["EndpointName"], request["EndpointConfigName"]
        if name not in backend.endpoints:
            return _error("ValidationException", f'Could not find endpoint "{name}".')
        if config not in backend.endpoint_configs:
            return _error("ValidationException", f'Could not find endpoint configuration "{config}".')
        endpoint = backend.endpoints[name]
        endpoint.last_modified_time = datetime.now(UTC)  # updated, whether the update then sticks or not
        if self.roll_back_next_update:
            self.roll_back_next_update = False  # SageMaker rolled it back: still on the old configuration
        else:
            endpoint.endpoint_config_name = config
        if request.get("DeploymentConfig"):
            self.deployment_configs[name] = request["DeploymentConfig"]
        return Answer("200 OK", JSON_TYPE, json.dumps({"EndpointArn": endpoint.arn}).encode())

    def for_moto(self, req: Request) -> bytes:
        if req.method == "PUT" and self._policy_bucket(req) is not None:
            policy = json.loads(req.body)
            return json.dumps(dict(policy, Statement=_unconditional(policy))).encode()
        return req.body

    # -- after moto: what AWS would have answered ---------------------------------------------
    def after(self, req: Request, status: int, body: bytes) -> bytes:
        if status >= 300:
            return body
        if req.target == "AnyScaleFrontendService.RegisterScalableTarget":
            arn = json.loads(body)["ScalableTargetARN"]
            self.scaling_tags.setdefault(arn, {}).update(json.loads(req.body or b"{}").get("Tags") or {})
        elif req.target == "SageMaker.CreateModelPackage":
            group = json.loads(req.body).get("ModelPackageGroupName", "")
            self.packages.setdefault(group, set()).add(json.loads(body)["ModelPackageArn"])
        elif req.target == "SageMaker.ListModelPackages":
            listed = json.loads(body)
            listed["ModelPackageSummaryList"] = [
                p
                for p in listed.get("ModelPackageSummaryList", [])
                if p["ModelPackageArn"] not in self.deleted_packages
            ]
            return json.dumps(listed).encode()
        elif req.target == "SageMaker.CreateModel":
            sent = json.loads(req.body)
            self.models[sent["ModelName"]] = sent
        elif req.target == "SageMaker.CreateEndpointConfig":
            sent = json.loads(req.body)
            self.endpoint_configs[sent["EndpointConfigName"]] = sent
        elif req.target == "SageMaker.CreateEndpoint":
            sent = json.loads(req.body)
            if sent.get("DeploymentConfig"):
                self.deployment_configs[sent["EndpointName"]] = sent["DeploymentConfig"]
        elif req.target == "SageMaker.DeleteEndpoint":
            self.deployment_configs.pop(json.loads(req.body)["EndpointName"], None)
        elif req.target == "SageMaker.DescribeEndpoint":
            endpoint = json.loads(body)
            if endpoint.get("EndpointName") in self.deployment_configs:
                endpoint["LastDeploymentConfig"] = self.deployment_configs[endpoint["EndpointName"]]
            return json.dumps(endpoint).encode()
        elif req.target == "SageMaker.DescribeEndpointConfig":
            config = json.loads(body)
            if not self.endpoint_configs.get(config.get("EndpointConfigName", ""), {}).get("DataCaptureConfig"):
                config.pop("DataCaptureConfig", None)
            return json.dumps(config).encode()
        elif req.target == "SageMaker.DescribeModel":
            model = json.loads(body)
            sent = self.models.get(model.get("ModelName", ""), {})
            model["EnableNetworkIsolation"] = bool(sent.get("EnableNetworkIsolation", False))
            if not sent.get("VpcConfig"):
                model.pop("VpcConfig", None)
            return json.dumps(model).encode()
        elif req.service == "cloudfront":
            return self._distribution(req, body)
        return body

    def _distribution(self, req: Request, body: bytes) -> bytes:
        text = body.decode()
        parts = req.path.strip("/").split("/")  # 2020-05-31/distribution[/<id>[/config]]
        if len(parts) < 2 or parts[1] != "distribution":
            return body
        if req.method == "POST" and len(parts) == 2 and (ident := re.search(r"<Id>([^<]+)</Id>", text)):
            self.distributions[ident[1]] = req.body.decode()
        elif req.method == "PUT" and len(parts) == 4:
            self.distributions[parts[2]] = req.body.decode()
        if req.method in ("GET", "PUT") and len(parts) >= 3 and parts[2] in self.distributions:
            return _echo_config(text, self.distributions[parts[2]]).encode()
        return body

    @staticmethod
    def _policy_bucket(req: Request) -> str | None:
        parts = req.path.strip("/").split("/")
        if (
            req.service == "s3"
            and len(parts) == 1
            and parts[0]
            and "policy" in parse_qs(req.query, keep_blank_values=True)
        ):
            return parts[0]
        return None
