"""AWS's documented rules that the emulators let through, checked on a real Terraform plan.

moto and the mock provider accept requests that SageMaker, Lambda, IAM, S3 and API Gateway
reject (issue 9: a serverless endpoint with network isolation, a model replaced under its
own name, ...). Each rule here is one such constraint: an id, a one-line statement, the URL of
the AWS (or provider) document it comes from, and a check over the JSON of a saved plan
(``terraform plan -out f && terraform show -json f``). ``evaluate(plan)`` runs them all and
returns the findings (rule, resource address, message) plus, per rule, the resources it
looked at, so a test can tell "passed" from "found nothing to check".

Limits are read from botocore's service models where the model carries them (name patterns,
min/max, enums: the same data the AWS API reference is generated from); the rest is typed
here with its source. Values Terraform cannot know at plan time (ARNs, generated names) are
skipped, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# -- the plan -----------------------------------------------------------------------------


class _Unknown:
    """A value Terraform will only know after apply."""

    def __repr__(self) -> str:
        return "(known after apply)"


UNKNOWN: Any = _Unknown()


@dataclass
class Resource:
    """One managed resource as it will be after the apply (or as it was, for ``before``)."""

    address: str
    type: str
    module: str  # "" for the root, else e.g. "module.invoker[0]"
    actions: tuple[str, ...]
    after: dict[str, Any]
    unknown: Any
    before: dict[str, Any] | None

    def get(self, *path: str | int) -> Any:
        """The planned value at ``path`` (attribute, then list index / map key), UNKNOWN, or None."""
        value: Any = self.after
        unknown: Any = self.unknown
        for key in path:
            if unknown is True:
                return UNKNOWN
            unknown = _step(unknown, key)
            value = _step(value, key)
        if unknown is True:
            return UNKNOWN
        return value

    def known(self, *path: str | int) -> bool:
        return self.get(*path) is not UNKNOWN

    @property
    def replaced(self) -> bool:
        return "create" in self.actions and "delete" in self.actions

    def sibling(self, local_address: str) -> str:
        """Full address of a resource of the same module ("aws_x.this[0]" -> "module.m.aws_x.this[0]")."""
        return f"{self.module}.{local_address}" if self.module else local_address


def _step(node: Any, key: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int):
        return node[key] if 0 <= key < len(node) else None
    return None


class Plan:
    """Index over ``terraform show -json`` of a saved plan."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self._resources: list[Resource] = []
        for rc in doc.get("resource_changes", []):
            actions = tuple(rc["change"]["actions"])
            if rc.get("mode") != "managed" or actions == ("delete",):
                continue
            self._resources.append(
                Resource(
                    address=rc["address"],
                    type=rc["type"],
                    module=rc.get("module_address", ""),
                    actions=actions,
                    after=rc["change"].get("after") or {},
                    unknown=rc["change"].get("after_unknown") or {},
                    before=rc["change"].get("before"),
                )
            )
        self._prior: list[dict[str, Any]] = []
        prior = (doc.get("prior_state") or {}).get("values", {}).get("root_module")
        if prior:
            self._walk_state(prior)

    def _walk_state(self, module: dict[str, Any]) -> None:
        for r in module.get("resources", []):
            if r.get("mode") == "managed":
                self._prior.append(r)
        for child in module.get("child_modules", []):
            self._walk_state(child)

    def resources(self, *types: str) -> list[Resource]:
        return [r for r in self._resources if not types or r.type in types]

    def resource(self, address: str) -> Resource | None:
        return next((r for r in self._resources if r.address == address), None)

    def prior(self, *types: str) -> list[dict[str, Any]]:
        """Resources of the state the plan starts from (``address``, ``type``, ``values``)."""
        return [r for r in self._prior if not types or r["type"] in types]

    def references(self, res: Resource, *path: str | int) -> list[str]:
        """Full addresses of the resources the configuration expression at ``path`` refers to."""
        config = self._config_module(res.module)
        local = re.sub(r"\[[^\]]*\]$", "", res.address[len(res.module) + 1 :] if res.module else res.address)
        for r in (config or {}).get("resources", []):
            if r["address"] == local:
                node: Any = r.get("expressions", {})
                for key in path:
                    node = _step(node, key)
                refs = (node or {}).get("references", []) if isinstance(node, dict) else []
                # ["aws_x.this[0].name", "aws_x.this[0]", "aws_x.this"]: keep resource addresses
                out = []
                for ref in refs:
                    m = re.match(r"^((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+(?:\[[^\]]+\])?)", ref)
                    if m and not ref.startswith(("var.", "local.", "module.", "each.", "count.")):
                        out.append(res.sibling(m.group(1)))
                return sorted(set(out), key=len, reverse=True)
        return []

    def _config_module(self, module_address: str) -> dict[str, Any] | None:
        node = self.doc.get("configuration", {}).get("root_module", {})
        for name in re.findall(r"module\.([^.\[]+)", module_address):
            node = node.get("module_calls", {}).get(name, {}).get("module")
            if node is None:
                return None
        return node


# -- rules --------------------------------------------------------------------------------

Check = Iterator[tuple[str, str | None]]  # (address, None) = looked at and fine; (address, message) = broken


@dataclass(frozen=True)
class Rule:
    id: str
    statement: str
    source: str
    check: Callable[[Plan], Check]


@dataclass(frozen=True)
class Finding:
    rule: str
    address: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.address}: {self.message} (source: {self.source})"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, set[str]] = field(default_factory=dict)

    def for_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule_id]

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self.findings) or "no findings"


RULES: list[Rule] = []


def rule(rule_id: str, statement: str, source: str) -> Callable[[Callable[[Plan], Check]], Callable[[Plan], Check]]:
    def register(fn: Callable[[Plan], Check]) -> Callable[[Plan], Check]:
        assert all(r.id != rule_id for r in RULES), rule_id
        RULES.append(Rule(rule_id, statement, source, fn))
        return fn

    return register


def evaluate(doc: dict[str, Any] | Plan, rules: list[Rule] | None = None) -> Report:
    plan = doc if isinstance(doc, Plan) else Plan(doc)
    report = Report()
    for r in rules if rules is not None else RULES:
        seen = report.checked.setdefault(r.id, set())
        for address, message in r.check(plan):
            seen.add(address)
            if message is not None:
                report.findings.append(Finding(r.id, address, message, r.source))
    return report


# -- shared constraints -------------------------------------------------------------------


@cache
def _shape(service: str, name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service).shape_for(name)


@cache
def _member(service: str, operation: str, member: str) -> Any:
    import botocore.session

    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    assert shape is not None, operation
    return shape.members[member]


def _string_problem(value: str, shape: Any, what: str) -> str | None:
    """The botocore shape's pattern / min / max, applied (boto3 itself skips the pattern)."""
    meta = shape.metadata
    if "max" in meta and len(value) > meta["max"]:
        return f"{what} {value!r} is {len(value)} characters, over the API's maximum of {meta['max']}"
    if "min" in meta and len(value) < meta["min"]:
        return f"{what} {value!r} is shorter than the API's minimum of {meta['min']} characters"
    if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
        return f"{what} {value!r} does not match the API's pattern {meta['pattern']}"
    return None


def _policy(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text:
        return None
    return json.loads(text)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return _as_list(policy.get("Statement"))


def _service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        return list(_as_list(principal.get("Service")))
    return []


SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths")


def _has_source_condition(statement: dict[str, Any]) -> bool:
    for _operator, keys in (statement.get("Condition") or {}).items():
        if any(k.lower() in SOURCE_KEYS for k in keys):
            return True
    return False


def _variants(cfg: Resource) -> list[dict[str, Any]]:
    return [v for v in _as_list(cfg.get("production_variants")) if isinstance(v, dict)]


def _is_serverless(variant: dict[str, Any]) -> bool:
    return bool(variant.get("serverless_config"))


def _config_of_endpoint(plan: Plan, endpoint: Resource) -> Resource | None:
    """The endpoint configuration the endpoint will use after the apply."""
    name = endpoint.get("endpoint_config_name")
    if name not in (None, UNKNOWN):
        for cfg in plan.resources("aws_sagemaker_endpoint_configuration"):
            if cfg.get("name") == name:
                return cfg
    for address in plan.references(endpoint, "endpoint_config_name"):
        found = plan.resource(address)
        if found is not None:
            return found
    return None


def _prior_config(plan: Plan, name: Any) -> dict[str, Any] | None:
    for r in plan.prior("aws_sagemaker_endpoint_configuration"):
        if r["values"].get("name") == name:
            return r["values"]
    return None


def _models_of_config(plan: Plan, cfg: Resource) -> list[tuple[dict[str, Any], Resource | None]]:
    out = []
    for i, variant in enumerate(_variants(cfg)):
        name = variant.get("model_name")
        model = next((m for m in plan.resources("aws_sagemaker_model") if m.get("name") == name), None)
        if model is None:
            refs = plan.references(cfg, "production_variants", i, "model_name")
            model = next((plan.resource(a) for a in refs if plan.resource(a) is not None), None)
        out.append((variant, model))
    return out


SM_SERVERLESS = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html"


# -- SageMaker ----------------------------------------------------------------------------


@rule(
    "SM-SERVERLESS-ISOLATION",
    "A model served by a serverless endpoint has no network isolation and no VPC configuration "
    "(serverless endpoints do not support either; CreateEndpoint fails with a ValidationException).",
    SM_SERVERLESS + " (Feature exclusions)",
)
def _sm_serverless_isolation(plan: Plan) -> Check:
    for cfg in plan.resources("aws_sagemaker_endpoint_configuration"):
        for variant, model in _models_of_config(plan, cfg):
            if not _is_serverless(variant) or model is None:
                continue
            if model.get("enable_network_isolation") is True:
                yield (
                    model.address,
                    (
                        f"enable_network_isolation = true, but the model serves the serverless variant "
                        f"{variant.get('variant_name')!r} of {cfg.address}: serverless endpoints do not support "
                        "network isolation (isolate only realtime models and batch transform)"
                    ),
                )
            elif model.get("vpc_config"):
                yield model.address, f"vpc_config is set, but the model serves a serverless variant of {cfg.address}"
            else:
                yield model.address, None


@rule(
    "SM-SERVERLESS-CAPTURE",
    "An endpoint configuration with a serverless variant has no data capture (serverless endpoints "
    "do not support Model Monitor / data capture).",
    SM_SERVERLESS + " (Feature exclusions)",
)
def _sm_serverless_capture(plan: Plan) -> Check:
    for cfg in plan.resources("aws_sagemaker_endpoint_configuration"):
        if not any(_is_serverless(v) for v in _variants(cfg)):
            continue
        if cfg.get("data_capture_config"):
            yield (
                cfg.address,
                "data_capture_config is set on a serverless endpoint configuration: data capture is realtime only",
            )
        else:
            yield cfg.address, None


@rule(
    "SM-SERVERLESS-LIMITS",
    "A serverless variant has 1024-6144 MB of memory in 1 GB steps and a max concurrency of 1-200.",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html",
)
def _sm_serverless_limits(plan: Plan) -> Check:
    memory, concurrency = (
        _shape("sagemaker", "ServerlessMemorySizeInMB"),
        _shape("sagemaker", "ServerlessMaxConcurrency"),
    )
    for cfg in plan.resources("aws_sagemaker_endpoint_configuration"):
        for variant in _variants(cfg):
            for sc in _as_list(variant.get("serverless_config")):
                mb, mc = sc.get("memory_size_in_mb"), sc.get("max_concurrency")
                lo, hi = memory.metadata["min"], memory.metadata["max"]
                if not (isinstance(mb, int) and lo <= mb <= hi and mb % 1024 == 0):
                    yield cfg.address, f"serverless memory_size_in_mb = {mb}: must be {lo}-{hi} MB in steps of 1024"
                elif not (isinstance(mc, int) and concurrency.metadata["min"] <= mc <= concurrency.metadata["max"]):
                    yield (
                        cfg.address,
                        (
                            f"serverless max_concurrency = {mc}: must be "
                            f"{concurrency.metadata['min']}-{concurrency.metadata['max']}"
                        ),
                    )
                else:
                    yield cfg.address, None


@rule(
    "SM-VARIANT-KIND",
    "A production variant is either serverless (serverless_config, no instance type or count) or "
    "instance-based (instance_type and initial_instance_count), never both or neither.",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html",
)
def _sm_variant_kind(plan: Plan) -> Check:
    for cfg in plan.resources("aws_sagemaker_endpoint_configuration"):
        for v in _variants(cfg):
            serverless = _is_serverless(v)
            instance = v.get("instance_type") is not None or v.get("initial_instance_count") is not None
            complete = v.get("instance_type") is not None and v.get("initial_instance_count") is not None
            name = v.get("variant_name")
            if serverless and instance:
                yield cfg.address, f"variant {name!r} has serverless_config and an instance type/count: choose one"
            elif not serverless and not complete:
                yield (
                    cfg.address,
                    f"variant {name!r} needs instance_type and initial_instance_count (or serverless_config)",
                )
            else:
                yield cfg.address, None


@rule(
    "SM-INSTANCE-TYPE",
    "An instance-based variant's instance type is one SageMaker hosting offers (ProductionVariantInstanceType).",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html",
)
def _sm_instance_type(plan: Plan) -> Check:
    allowed = set(_shape("sagemaker", "ProductionVariantInstanceType").enum)
    for cfg in plan.resources("aws_sagemaker_endpoint_configuration"):
        for v in _variants(cfg):
            it = v.get("instance_type")
            if it is None or _is_serverless(v):
                continue
            if it not in allowed:
                yield cfg.address, f"instance_type {it!r} is not a SageMaker hosting instance type"
            else:
                yield cfg.address, None


@rule(
    "SM-NAMES",
    "SageMaker model, endpoint, endpoint configuration and variant names match the API's pattern "
    "(letters, digits, single hyphens inside) and are at most 63 characters; a name_prefix leaves "
    "26 characters for the suffix Terraform appends.",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html#API_CreateEndpoint_RequestSyntax",
)
def _sm_names(plan: Plan) -> Check:
    shapes = {
        "aws_sagemaker_model": ("ModelName", "name"),
        "aws_sagemaker_endpoint": ("EndpointName", "name"),
        "aws_sagemaker_endpoint_configuration": ("EndpointConfigName", "name"),
    }
    for res in plan.resources(*shapes):
        shape_name, attr = shapes[res.type]
        name = res.get(attr)
        problems: list[str | None] = []
        if name is UNKNOWN:
            prefix = res.get("name_prefix")
            if isinstance(prefix, str):
                if len(prefix) > 63 - 26:
                    problems.append(
                        f"name_prefix {prefix!r} is over 37 characters (63 minus Terraform's 26-character suffix)"
                    )
                elif not re.fullmatch(r"[a-zA-Z0-9](-?[a-zA-Z0-9])*-?", prefix):
                    problems.append(f"name_prefix {prefix!r} would not give a name matching the API's pattern")
        elif isinstance(name, str):
            problems.append(_string_problem(name, _shape("sagemaker", shape_name), f"{shape_name}"))
        if res.type == "aws_sagemaker_endpoint_configuration":
            for v in _variants(res):
                if isinstance(v.get("variant_name"), str):
                    problems.append(
                        _string_problem(v["variant_name"], _shape("sagemaker", "VariantName"), "VariantName")
                    )
        found = [p for p in problems if p]
        yield res.address, "; ".join(found) if found else None


@rule(
    "SM-MODEL-CONTAINER",
    "A model's container: image at most 255 characters without whitespace, model data URL an "
    "s3:// or https:// URL of at most 1024 characters, at most 100 environment variables whose names "
    "match [a-zA-Z_][a-zA-Z0-9_]* and whose values are at most 1024 characters.",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html",
)
def _sm_model_container(plan: Plan) -> Check:
    for model in plan.resources("aws_sagemaker_model"):
        problems: list[str | None] = []
        for c in _as_list(model.get("primary_container")) + _as_list(model.get("container")):
            if isinstance(c.get("image"), str):
                problems.append(_string_problem(c["image"], _shape("sagemaker", "ContainerImage"), "image"))
            if isinstance(c.get("model_data_url"), str):
                problems.append(_string_problem(c["model_data_url"], _shape("sagemaker", "Url"), "model_data_url"))
            env = c.get("environment") or {}
            if isinstance(env, dict):
                if len(env) > _shape("sagemaker", "EnvironmentMap").metadata["max"]:
                    problems.append(f"{len(env)} environment variables, over the API's 100")
                for k, v in env.items():
                    problems.append(_string_problem(k, _shape("sagemaker", "EnvironmentKey"), "environment name"))
                    problems.append(
                        _string_problem(str(v), _shape("sagemaker", "EnvironmentValue"), f"environment {k}")
                    )
        found = [p for p in problems if p]
        yield model.address, "; ".join(found) if found else None


@rule(
    "SM-DATA-CAPTURE",
    "Data capture samples 0-100 % of requests into an s3:// URI and captures Input and/or Output.",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html",
)
def _sm_data_capture(plan: Plan) -> Check:
    for cfg in plan.resources("aws_sagemaker_endpoint_configuration"):
        for dc in _as_list(cfg.get("data_capture_config")):
            pct, dest = dc.get("initial_sampling_percentage"), dc.get("destination_s3_uri")
            modes = [o.get("capture_mode") for o in _as_list(dc.get("capture_options"))]
            if not (isinstance(pct, int) and 0 <= pct <= 100):
                yield cfg.address, f"initial_sampling_percentage = {pct}: must be 0-100"
            elif isinstance(dest, str) and not re.fullmatch(r"(https|s3)://[^/]+/?.*", dest):
                yield cfg.address, f"destination_s3_uri {dest!r} is not an s3:// URI"
            elif not modes or any(m not in ("Input", "Output") for m in modes) or len(set(modes)) != len(modes):
                yield cfg.address, f"capture_options {modes}: one or both of Input and Output, each once"
            else:
                yield cfg.address, None


NAME_ATTRIBUTES = {
    "aws_sagemaker_model": "name",
    "aws_sagemaker_endpoint": "name",
    "aws_sagemaker_endpoint_configuration": "name",
    "aws_iam_role": "name",
    "aws_lambda_function": "function_name",
    "aws_cloudwatch_log_group": "name",
    "aws_s3_bucket": "bucket",
    "aws_apigatewayv2_api": "name",
    "aws_sns_topic": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
}


@rule(
    "REPLACE-NEW-NAME",
    "A resource replaced with create_before_destroy gets a new name: the replacement is created while "
    'the old one still holds its name ("Cannot create already existing model"). Every argument of '
    "aws_sagemaker_model forces a replacement, so the model's name must change with each of them.",
    "https://github.com/hashicorp/terraform-provider-aws/blob/v5.100.0/internal/service/sagemaker/model.go "
    "(every argument ForceNew) and "
    "https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle#create_before_destroy",
)
def _replace_new_name(plan: Plan) -> Check:
    for res in plan.resources(*NAME_ATTRIBUTES):
        if res.actions != ("create", "delete"):
            continue
        attr = NAME_ATTRIBUTES[res.type]
        old, new = (res.before or {}).get(attr), res.get(attr)
        if new is not UNKNOWN and new == old:
            yield (
                res.address,
                (
                    f"replaced with create_before_destroy under the same {attr} {new!r}: AWS refuses to create "
                    "the replacement while the old one exists; derive the name from every input that forces "
                    "a replacement (or let Terraform generate it)"
                ),
            )
        else:
            yield res.address, None


@rule(
    "SM-MODE-SWITCH",
    "An endpoint is never updated in place between serverless and instance-based variants "
    "(UpdateEndpoint does not support it): switching mode needs a new endpoint.",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-update.html",
)
def _sm_mode_switch(plan: Plan) -> Check:
    for ep in plan.resources("aws_sagemaker_endpoint"):
        old_cfg = _prior_config(plan, (ep.before or {}).get("endpoint_config_name"))
        new_cfg = _config_of_endpoint(plan, ep)
        if ep.actions != ("update",) or old_cfg is None or new_cfg is None:
            yield ep.address, None  # created, replaced or kept: no UpdateEndpoint
            continue
        old = {v.get("variant_name"): _is_serverless(v) for v in _as_list(old_cfg.get("production_variants"))}
        new = {v.get("variant_name"): _is_serverless(v) for v in _variants(new_cfg)}
        flipped = [n for n in new if n in old and old[n] != new[n]]
        if flipped:
            kinds = {True: "a serverless", False: "an instance-based"}
            yield (
                ep.address,
                (
                    f"updated in place from {kinds[old[flipped[0]]]} to {kinds[new[flipped[0]]]} variant "
                    f"({flipped[0]!r}): UpdateEndpoint rejects the switch; give the new mode a new endpoint name "
                    "(created before the old one is destroyed)"
                ),
            )
        else:
            yield ep.address, None


@rule(
    "SM-AUTOSCALING-INSTANCE-TYPE",
    "An endpoint registered with Application Auto Scaling is not updated in place to a different "
    "instance type (UpdateEndpoint fails until the scalable target is deregistered).",
    "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html",
)
def _sm_autoscaling_instance_type(plan: Plan) -> Check:
    targets = {r["values"].get("resource_id") for r in plan.prior("aws_appautoscaling_target")}
    for ep in plan.resources("aws_sagemaker_endpoint"):
        old_cfg = _prior_config(plan, (ep.before or {}).get("endpoint_config_name"))
        new_cfg = _config_of_endpoint(plan, ep)
        if ep.actions != ("update",) or old_cfg is None or new_cfg is None:
            yield ep.address, None  # created, replaced or kept: no UpdateEndpoint
            continue
        old = {v.get("variant_name"): v.get("instance_type") for v in _as_list(old_cfg.get("production_variants"))}
        problem = None
        for v in _variants(new_cfg):
            name = v.get("variant_name")
            registered = f"endpoint/{ep.before.get('name') if ep.before else ''}/variant/{name}" in targets
            if registered and name in old and old[name] != v.get("instance_type"):
                problem = (
                    f"variant {name!r} changes instance type {old[name]} -> {v.get('instance_type')} by an in-place "
                    "UpdateEndpoint while it is an autoscaling target: SageMaker rejects it; replace the endpoint "
                    "(new name) or deregister the scalable target first"
                )
        yield ep.address, problem


@rule(
    "SM-INVOKER-ENDPOINT",
    "A Lambda whose ENDPOINT_NAME names a SageMaker endpoint invokes one that this plan keeps "
    "(InvokeEndpoint on a missing endpoint fails: ValidationError, endpoint not found).",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html",
)
def _sm_invoker_endpoint(plan: Plan) -> Check:
    endpoints = {e.get("name") for e in plan.resources("aws_sagemaker_endpoint")}
    if not endpoints:
        return
    for fn in plan.resources("aws_lambda_function"):
        name = fn.get("environment", 0, "variables", "ENDPOINT_NAME")
        if name in (None, UNKNOWN):
            continue
        if name not in endpoints:
            yield fn.address, f"ENDPOINT_NAME = {name!r}, but the plan's endpoints are {sorted(map(str, endpoints))}"
        else:
            yield fn.address, None


@rule(
    "AAS-SAGEMAKER-TARGET",
    "A SageMaker scalable target names an endpoint variant of the plan as endpoint/<name>/variant/<variant>, "
    "scales sagemaker:variant:DesiredInstanceCount of an instance-based variant, with 1 <= min <= max.",
    "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html",
)
def _aas_sagemaker_target(plan: Plan) -> Check:
    variants: dict[str, bool] = {}
    for ep in plan.resources("aws_sagemaker_endpoint"):
        cfg = _config_of_endpoint(plan, ep)
        if cfg is not None and isinstance(ep.get("name"), str):
            for v in _variants(cfg):
                variants[f"endpoint/{ep.get('name')}/variant/{v.get('variant_name')}"] = _is_serverless(v)
    for t in plan.resources("aws_appautoscaling_target"):
        if t.get("service_namespace") != "sagemaker":
            continue
        rid, lo, hi = t.get("resource_id"), t.get("min_capacity"), t.get("max_capacity")
        if rid is UNKNOWN:
            continue
        if rid not in variants:
            yield t.address, f"resource_id {rid!r} names no endpoint variant of this plan ({sorted(variants)})"
        elif variants[rid] and t.get("scalable_dimension") == "sagemaker:variant:DesiredInstanceCount":
            yield t.address, f"{rid} is a serverless variant: it has no instance count to scale"
        elif not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
            yield t.address, f"min_capacity = {lo}, max_capacity = {hi}: need 1 <= min <= max"
        else:
            yield t.address, None


# -- IAM ----------------------------------------------------------------------------------


@rule(
    "IAM-CONFUSED-DEPUTY",
    "A role that an AWS service assumes trusts it only with aws:SourceAccount or aws:SourceArn in "
    "the condition (cross-service confused deputy prevention).",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
)
def _iam_confused_deputy(plan: Plan) -> Check:
    for role in plan.resources("aws_iam_role"):
        policy = _policy(role.get("assume_role_policy"))
        if policy is None:
            continue
        bad = [
            ", ".join(_service_principals(s))
            for s in _statements(policy)
            if s.get("Effect") == "Allow" and _service_principals(s) and not _has_source_condition(s)
        ]
        if bad:
            yield (
                role.address,
                (
                    f"trusts {'; '.join(bad)} with no aws:SourceAccount / aws:SourceArn condition: any account's use "
                    "of that service could act through this role; add the condition with this account's ID"
                ),
            )
        else:
            yield role.address, None


@rule(
    "RESOURCE-POLICY-SOURCE",
    "A resource policy (Lambda permission, bucket policy) that lets an AWS service in names the source "
    "(source_arn / source_account; aws:SourceArn / aws:SourceAccount).",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
)
def _resource_policy_source(plan: Plan) -> Check:
    for perm in plan.resources("aws_lambda_permission"):
        principal = perm.get("principal")
        if not isinstance(principal, str) or not principal.endswith(".amazonaws.com"):
            continue
        if perm.get("source_arn") is None and perm.get("source_account") is None:
            yield (
                perm.address,
                f"lets {principal} invoke the function from any source: set source_arn (or source_account)",
            )
        else:
            yield perm.address, None
    for bp in plan.resources("aws_s3_bucket_policy"):
        policy = _policy(bp.get("policy"))
        if policy is None:
            continue
        bad = [
            ", ".join(_service_principals(s))
            for s in _statements(policy)
            if s.get("Effect") == "Allow" and _service_principals(s) and not _has_source_condition(s)
        ]
        yield bp.address, (f"allows {'; '.join(bad)} without aws:SourceArn / aws:SourceAccount" if bad else None)


@rule(
    "IAM-NAMES",
    "IAM role names are 1-64 characters of [\\w+=,.@-] (a name_prefix at most 38), paths / or /.../ up to "
    "512 characters, inline policy names 1-128 characters; max session 1-12 hours.",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
)
def _iam_names(plan: Plan) -> Check:
    for role in plan.resources("aws_iam_role"):
        problems: list[str | None] = []
        name = role.get("name")
        if isinstance(name, str):
            problems.append(_string_problem(name, _member("iam", "CreateRole", "RoleName"), "role name"))
        elif isinstance(role.get("name_prefix"), str) and len(role.get("name_prefix")) > 38:
            problems.append(f"name_prefix {role.get('name_prefix')!r} is over 38 characters")
        if isinstance(role.get("path"), str):
            problems.append(_string_problem(role.get("path"), _member("iam", "CreateRole", "Path"), "path"))
        msd = role.get("max_session_duration")
        if isinstance(msd, int) and not 3600 <= msd <= 43200:
            problems.append(f"max_session_duration = {msd}: must be 3600-43200 seconds")
        found = [p for p in problems if p]
        yield role.address, "; ".join(found) if found else None
    for pol in plan.resources("aws_iam_role_policy"):
        name = pol.get("name")
        if isinstance(name, str):
            yield pol.address, _string_problem(name, _member("iam", "PutRolePolicy", "PolicyName"), "policy name")


def _policy_chars(policy: dict[str, Any]) -> int:
    """IAM counts policy size without whitespace."""
    return len(re.sub(r"\s", "", json.dumps(policy, separators=(",", ":"))))


@rule(
    "IAM-POLICY-SIZE",
    "A role's trust policy is at most 2,048 characters and its inline policies together at most "
    "10,240 characters (whitespace not counted; the account's default quotas).",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
)
def _iam_policy_size(plan: Plan) -> Check:
    inline: dict[str, int] = {}
    for pol in plan.resources("aws_iam_role_policy"):
        policy, role = _policy(pol.get("policy")), pol.get("role")
        if policy is not None and isinstance(role, str):
            inline[role] = inline.get(role, 0) + _policy_chars(policy)
    for role in plan.resources("aws_iam_role"):
        trust = _policy(role.get("assume_role_policy"))
        if trust is None:
            continue
        size, total = _policy_chars(trust), inline.get(role.get("name"), 0)
        if size > 2048:
            yield role.address, f"trust policy is {size} characters, over the 2,048 quota"
        elif total > 10240:
            yield role.address, f"inline policies total {total} characters, over the 10,240 quota"
        else:
            yield role.address, None


# -- Lambda -------------------------------------------------------------------------------

LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"


@rule(
    "LAMBDA-NAME-HANDLER",
    "A function name is 1-64 characters of letters, digits, - and _; the handler at most 128 "
    "characters without whitespace.",
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
)
def _lambda_name(plan: Plan) -> Check:
    for fn in plan.resources("aws_lambda_function"):
        problems: list[str | None] = []
        name = fn.get("function_name")
        if isinstance(name, str) and not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):
            problems.append(f"function_name {name!r} must be 1-64 characters of a-z, A-Z, 0-9, - and _")
        handler = fn.get("handler")
        if isinstance(handler, str):
            problems.append(_string_problem(handler, _member("lambda", "CreateFunction", "Handler"), "handler"))
        found = [p for p in problems if p]
        yield fn.address, "; ".join(found) if found else None


@rule(
    "LAMBDA-LIMITS",
    "A function's timeout is 1-900 seconds and its memory 128-10,240 MB.",
    LAMBDA_QUOTAS,
)
def _lambda_limits(plan: Plan) -> Check:
    for fn in plan.resources("aws_lambda_function"):
        timeout, memory = fn.get("timeout"), fn.get("memory_size")
        if isinstance(timeout, int) and not 1 <= timeout <= 900:
            yield fn.address, f"timeout = {timeout} s: Lambda allows 1-900"
        elif isinstance(memory, int) and not 128 <= memory <= 10240:
            yield fn.address, f"memory_size = {memory} MB: Lambda allows 128-10,240"
        else:
            yield fn.address, None


# Set by the Lambda runtime; CreateFunction refuses them in the function's environment.
LAMBDA_RESERVED_ENV = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}  # fmt: skip


@rule(
    "LAMBDA-ENV",
    "A function's environment is at most 4 KB (names and values), its names match [a-zA-Z][a-zA-Z0-9_]+ "
    "and none is one of the runtime's reserved variables.",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html",
)
def _lambda_env(plan: Plan) -> Check:
    pattern = _shape("lambda", "EnvironmentVariableName").metadata["pattern"]
    for fn in plan.resources("aws_lambda_function"):
        env = fn.get("environment", 0, "variables")
        if env is UNKNOWN or not isinstance(env, dict):
            continue
        size = sum(len(k.encode()) + len(str(v).encode()) for k, v in env.items())
        bad_names = [k for k in env if not re.fullmatch(pattern, k)]
        reserved = sorted(set(env) & LAMBDA_RESERVED_ENV)
        if size > 4096:
            yield fn.address, f"environment is {size} bytes, over Lambda's 4 KB"
        elif bad_names:
            yield fn.address, f"environment names {bad_names} do not match {pattern}"
        elif reserved:
            yield fn.address, f"environment sets reserved variables {reserved}: the runtime owns them"
        else:
            yield fn.address, None


def invoke_budget_s(connect: float, read: float, attempts: int) -> float:
    """The invoker's worst case (functions/invoker/handler.py invoke_budget_s; Terraform's precondition)."""
    return attempts * (connect + read) + sum(min(2**i, 20) for i in range(attempts - 1))


@rule(
    "LAMBDA-INVOKE-BUDGET",
    "A function that calls a SageMaker endpoint (ENDPOINT_NAME) declares its invoke budget (INVOKE_*) and "
    "finishes its worst case (attempts x (connect + read) + botocore's retry backoff, + 1 s of own work) "
    "before its own timeout, so it answers its 504 instead of being killed.",
    "https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html and " + LAMBDA_QUOTAS,
)
def _lambda_invoke_budget(plan: Plan) -> Check:
    for fn in plan.resources("aws_lambda_function"):
        env, timeout = fn.get("environment", 0, "variables"), fn.get("timeout")
        if not isinstance(env, dict) or "ENDPOINT_NAME" not in env or not isinstance(timeout, int):
            continue
        if "INVOKE_READ_TIMEOUT" not in env:
            yield (
                fn.address,
                (
                    f"calls endpoint {env['ENDPOINT_NAME']!r} but its environment declares no invoke budget "
                    f"(INVOKE_CONNECT_TIMEOUT, INVOKE_READ_TIMEOUT, INVOKE_MAX_ATTEMPTS): the handler's built-in "
                    f"defaults cannot be checked against the {timeout} s timeout"
                ),
            )
            continue
        connect, read = float(env.get("INVOKE_CONNECT_TIMEOUT", 2)), float(env["INVOKE_READ_TIMEOUT"])
        attempts = int(env.get("INVOKE_MAX_ATTEMPTS", 1))
        budget = invoke_budget_s(connect, read, attempts)
        if budget + 1 > timeout:
            yield (
                fn.address,
                (
                    f"invoke budget {attempts} x ({connect:g} s + {read:g} s) + backoff = {budget:g} s, plus 1 s of "
                    f"handler work, exceeds the function timeout {timeout} s: Lambda kills the handler before its 504"
                ),
            )
        else:
            yield fn.address, None


# -- API Gateway (HTTP APIs) --------------------------------------------------------------

HTTP_API_QUOTAS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html"


@rule(
    "APIGW-INTEGRATION",
    "An HTTP API integration times out after 50-30,000 ms (30 s: the maximum and the default); a "
    "Lambda proxy integration uses payload format 1.0 or 2.0.",
    HTTP_API_QUOTAS,
)
def _apigw_integration(plan: Plan) -> Check:
    shape = _member("apigatewayv2", "CreateIntegration", "TimeoutInMillis")
    for integ in plan.resources("aws_apigatewayv2_integration"):
        ms = integ.get("timeout_milliseconds")
        if isinstance(ms, int) and not shape.metadata["min"] <= ms <= shape.metadata["max"]:
            yield integ.address, f"timeout_milliseconds = {ms}: HTTP APIs allow 50-30000"
        elif integ.get("integration_type") == "AWS_PROXY" and integ.get("payload_format_version") not in ("1.0", "2.0"):
            yield integ.address, f"payload_format_version {integ.get('payload_format_version')!r}: 1.0 or 2.0"
        else:
            yield integ.address, None


@rule(
    "APIGW-LAMBDA-TIMEOUT",
    "A Lambda behind an HTTP API times out before the integration does (else the API answers a bare 503 "
    "instead of the function's own error), leaving a second for the function's cold start.",
    HTTP_API_QUOTAS,
)
def _apigw_lambda_timeout(plan: Plan) -> Check:
    integrations = [
        i for i in plan.resources("aws_apigatewayv2_integration") if i.get("integration_type") == "AWS_PROXY"
    ]
    functions = plan.resources("aws_lambda_function")
    for integ in integrations:
        ms = integ.get("timeout_milliseconds")
        limit_s = ms / 1000 if isinstance(ms, int) else 30.0  # unset: the HTTP API default, 30 s
        uri = integ.get("integration_uri")
        named = re.search(r":function:([^/:]+)", uri) if isinstance(uri, str) else None
        targets = [f for f in functions if named and f.get("function_name") == named.group(1)]
        for fn in targets or functions:  # uri unknown at plan: hold every function to it
            timeout = fn.get("timeout")
            if isinstance(timeout, int) and timeout + 1 > limit_s:
                yield (
                    fn.address,
                    (
                        f"timeout {timeout} s does not leave 1 s under the HTTP API integration timeout "
                        f"({limit_s:g} s) of {integ.address}: the API would answer 503 before the function's own error"
                    ),
                )
            else:
                yield fn.address, None


@rule(
    "APIGW-THROTTLING",
    "A stage's throttling stays within the account quota (10,000 requests/s, burst 5,000) and lets "
    "requests through (rate > 0, burst >= 1).",
    HTTP_API_QUOTAS,
)
def _apigw_throttling(plan: Plan) -> Check:
    for stage in plan.resources("aws_apigatewayv2_stage"):
        for s in _as_list(stage.get("default_route_settings")):
            rate, burst = s.get("throttling_rate_limit"), s.get("throttling_burst_limit")
            if isinstance(rate, (int, float)) and not 0 < rate <= 10000:
                yield stage.address, f"throttling_rate_limit = {rate}: must be above 0 and at most 10,000"
            elif isinstance(burst, int) and not 1 <= burst <= 5000:
                yield stage.address, f"throttling_burst_limit = {burst}: must be 1-5,000"
            else:
                yield stage.address, None


# -- S3 -----------------------------------------------------------------------------------


def _bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return f"bucket name {name!r} is {len(name)} characters: 3-63 allowed"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        return f"bucket name {name!r}: only a-z, 0-9, '.', '-', starting and ending with a letter or digit"
    if ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return f"bucket name {name!r}: no adjacent periods, not an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3")
    ):
        return f"bucket name {name!r} uses a prefix or suffix S3 reserves"
    return None


@rule(
    "S3-BUCKET-NAME",
    "Bucket names are 3-63 characters of a-z, 0-9, '.' and '-', begin and end with a letter or digit, "
    "avoid reserved prefixes and suffixes; a bucket_prefix leaves 26 characters for Terraform's suffix.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
)
def _s3_bucket_name(plan: Plan) -> Check:
    for b in plan.resources("aws_s3_bucket"):
        name, prefix = b.get("bucket"), b.get("bucket_prefix")
        if isinstance(name, str):
            yield b.address, _bucket_name_problem(name)
        elif isinstance(prefix, str):
            if len(prefix) > 37:
                yield b.address, f"bucket_prefix {prefix!r} is over 37 characters (63 minus the 26 Terraform appends)"
            else:
                yield b.address, _bucket_name_problem(prefix + "20250101000000000000000001")


@rule(
    "S3-OBJECT-KEY",
    "Object keys are 1-1,024 bytes of UTF-8.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html",
)
def _s3_object_key(plan: Plan) -> Check:
    for o in plan.resources("aws_s3_object"):
        key = o.get("key")
        if isinstance(key, str):
            n = len(key.encode())
            yield o.address, (f"key is {n} bytes: S3 allows 1-1,024" if not 1 <= n <= 1024 else None)


def _is_public_statement(s: dict[str, Any]) -> bool:
    principal = s.get("Principal")
    everyone = principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS")))
    return s.get("Effect") == "Allow" and everyone and not s.get("Condition")


@rule(
    "S3-BUCKET-POLICY",
    "A bucket policy is at most 20 KB, and a public one (Allow to * without conditions) is refused "
    "while the bucket's Block Public Access blocks public policies.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
)
def _s3_bucket_policy(plan: Plan) -> Check:
    blocks = {}
    for pab in plan.resources("aws_s3_bucket_public_access_block"):
        blocks[pab.get("bucket")] = pab.get("block_public_policy") is True
        for address in plan.references(pab, "bucket"):
            blocks[address] = pab.get("block_public_policy") is True
    for bp in plan.resources("aws_s3_bucket_policy"):
        text, policy = bp.get("policy"), _policy(bp.get("policy"))
        if policy is None:
            continue
        keys = [bp.get("bucket"), *plan.references(bp, "bucket")]
        blocked = any(blocks.get(k) for k in keys if isinstance(k, str))
        public = [s.get("Sid", "(no Sid)") for s in _statements(policy) if _is_public_statement(s)]
        if len(text.encode()) > 20 * 1024:
            yield bp.address, f"policy is {len(text.encode())} bytes, over S3's 20 KB"
        elif public and blocked:
            yield (
                bp.address,
                (
                    f"statements {public} make the policy public, but the bucket's public access block has "
                    "block_public_policy = true: PutBucketPolicy is refused (AccessDenied)"
                ),
            )
        else:
            yield bp.address, None


@rule(
    "S3-LIFECYCLE",
    "Lifecycle day counts (expiration, noncurrent version expiration, abort incomplete upload) are positive.",
    "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html",
)
def _s3_lifecycle(plan: Plan) -> Check:
    for lc in plan.resources("aws_s3_bucket_lifecycle_configuration"):
        bad = []
        for r in _as_list(lc.get("rule")):
            for block, attr in (
                ("noncurrent_version_expiration", "noncurrent_days"),
                ("abort_incomplete_multipart_upload", "days_after_initiation"),
                ("expiration", "days"),
            ):
                for b in _as_list(r.get(block)):
                    days = b.get(attr)
                    if (
                        isinstance(days, int)
                        and days < 1
                        and not (block == "expiration" and days == 0 and b.get("date"))
                    ):
                        bad.append(f"{r.get('id')}: {block}.{attr} = {days}")
        yield lc.address, (f"day counts must be positive: {bad}" if bad else None)


# -- CloudWatch Logs ----------------------------------------------------------------------


@cache
def retention_days() -> tuple[int, ...]:
    """The values PutRetentionPolicy accepts, as the service model documents them."""
    doc = _member("logs", "PutRetentionPolicy", "retentionInDays").documentation
    listed = re.search(r"Possible values are:(.*?)\.", doc, re.S)
    assert listed, "botocore no longer lists the retention values"
    return tuple(int(n) for n in re.findall(r"\d+", listed.group(1)))


@rule(
    "LOGS-RETENTION",
    "A log group's retention is one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653 days).",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html",
)
def _logs_retention(plan: Plan) -> Check:
    allowed = retention_days()
    for g in plan.resources("aws_cloudwatch_log_group"):
        days = g.get("retention_in_days")
        if isinstance(days, int) and days != 0 and days not in allowed:
            yield g.address, f"retention_in_days = {days}: CloudWatch Logs accepts {', '.join(map(str, allowed))}"
        else:
            yield g.address, None


@rule(
    "LOGS-GROUP-NAME",
    "A log group name is 1-512 characters of letters, digits and . - _ / #.",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
)
def _logs_group_name(plan: Plan) -> Check:
    shape = _member("logs", "CreateLogGroup", "logGroupName")
    for g in plan.resources("aws_cloudwatch_log_group"):
        name = g.get("name")
        if isinstance(name, str):
            yield g.address, _string_problem(name, shape, "log group name")
