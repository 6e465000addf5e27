"""SageMaker hosting and its Application Auto Scaling target (issue 9's defects)."""

from __future__ import annotations

import re
from typing import Any

from tests.terraform.aws_rules.core import (
    UNKNOWN,
    Check,
    Plan,
    Resource,
    _as_list,
    _shape,
    _string_problem,
    rule,
    verdict,
)


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
        yield verdict(res.address, problems)


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
        yield verdict(model.address, problems)


@rule(
    "SM-MODEL-PACKAGE-GROUP",
    "A model package group's name matches the API's pattern (letters, digits, single hyphens inside) "
    "and is at most 63 characters; its description is at most 1024 characters.",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackageGroup.html",
)
def _sm_model_package_group(plan: Plan) -> Check:
    for group in plan.resources("aws_sagemaker_model_package_group"):
        problems: list[str | None] = []
        name, description = group.get("model_package_group_name"), group.get("model_package_group_description")
        if isinstance(name, str):
            problems.append(_string_problem(name, _shape("sagemaker", "EntityName"), "model package group name"))
        if isinstance(description, str):
            problems.append(_string_problem(description, _shape("sagemaker", "EntityDescription"), "description"))
        yield verdict(group.address, problems)


@rule(
    "SM-MODEL-FROM-PACKAGE",
    "A model made from a model registry version names it by a versioned ARN or name of at most 176 "
    "characters in the API's pattern (VersionedArnOrName); the version must be Approved to be deployed.",
    "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html",
)
def _sm_model_from_package(plan: Plan) -> Check:
    # "Approved" is the API's rule too (CreateModelPackage, ModelApprovalStatus) but not a plan's
    # to see: make deploy-model refuses an unapproved version, the rehearsal's stand-in as AWS does.
    for model in plan.resources("aws_sagemaker_model"):
        problems: list[str | None] = []
        for c in _as_list(model.get("primary_container")) + _as_list(model.get("container")):
            name = c.get("model_package_name")
            if isinstance(name, str) and name:  # the provider reads an unset name back as ""
                problems.append(_string_problem(name, _shape("sagemaker", "VersionedArnOrName"), "model_package_name"))
        yield verdict(model.address, problems)


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
