"""SageMaker deployment guardrails: an endpoint's deployment_config (blue/green or rolling, auto-rollback).

Ranges are read from botocore's SageMaker model (the API reference is generated from it);
the rest is typed here with its AWS (or provider) source.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from tests.terraform.aws_rules.core import (
    UNKNOWN,
    Check,
    Plan,
    Resource,
    _as_list,
    _policy_document,
    _shape,
    _statements,
    rule,
    verdict,
)
from tests.terraform.aws_rules.sagemaker import _config_of_endpoint, _is_serverless, _prior_config, _variants

GUARDRAILS = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails.html"
EXCLUSIONS = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html"
TRAFFIC_ROUTING = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html"
BLUE_GREEN = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html"
ROLLBACK_CONFIG = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AutoRollbackConfig.html"
ROLLBACK_MONITORING = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html"
PROVIDER_ENDPOINT = (
    "https://github.com/hashicorp/terraform-provider-aws/blob/v5.100.0/internal/service/sagemaker/endpoint.go"
)

# The provider waits this long for UpdateEndpoint to end InService (waitEndpointInService), then
# fails the apply: a guarded update must be over by then, rolled back or not.
PROVIDER_UPDATE_WAIT_S = 3600
# The provider's own ValidateFunc on maximum_execution_timeout_in_seconds (IntBetween(600, 14400)),
# inside the API's 600-28800: a plan beyond it fails before AWS sees it.
PROVIDER_TIMEOUT_RANGE = (600, 14400)


def _guarded(plan: Plan) -> list[tuple[Resource, dict[str, Any]]]:
    """Each endpoint with a deployment_config, and that config."""
    out = []
    for ep in plan.resources("aws_sagemaker_endpoint"):
        for dc in _as_list(ep.get("deployment_config")):
            if isinstance(dc, dict):
                out.append((ep, dc))
    return out


def _blue_green(dc: dict[str, Any]) -> dict[str, Any]:
    return next(iter(_as_list(dc.get("blue_green_update_policy"))), None) or {}


def _routing(dc: dict[str, Any]) -> dict[str, Any]:
    return next(iter(_as_list(_blue_green(dc).get("traffic_routing_configuration"))), None) or {}


def _rolling(dc: dict[str, Any]) -> dict[str, Any]:
    return next(iter(_as_list(dc.get("rolling_update_policy"))), None) or {}


def _alarm_names(dc: dict[str, Any]) -> list[Any]:
    return [
        a.get("alarm_name")
        for arc in _as_list(dc.get("auto_rollback_configuration"))
        for a in _as_list(arc.get("alarms"))
        if isinstance(a, dict)
    ]


def _in_range(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and lo <= value <= hi


@rule(
    "SM-GUARDRAIL-WAITS",
    "A guarded update's waits are whole seconds within the API's range (0-3600): the traffic "
    "routing's and a rolling update's WaitIntervalInSeconds, and TerminationWaitInSeconds.",
    TRAFFIC_ROUTING,
)
def _sm_guardrail_waits(plan: Plan) -> Check:
    wait, termination = _shape("sagemaker", "WaitIntervalInSeconds"), _shape("sagemaker", "TerminationWaitInSeconds")
    for ep, dc in _guarded(plan):
        problems: list[str | None] = []
        for where, value, shape in (
            (
                "traffic_routing_configuration.wait_interval_in_seconds",
                _routing(dc).get("wait_interval_in_seconds"),
                wait,
            ),
            ("rolling_update_policy.wait_interval_in_seconds", _rolling(dc).get("wait_interval_in_seconds"), wait),
            ("termination_wait_in_seconds", _blue_green(dc).get("termination_wait_in_seconds"), termination),
        ):
            lo, hi = shape.metadata["min"], shape.metadata["max"]
            if value is not None and value is not UNKNOWN and not _in_range(value, lo, hi):
                problems.append(f"{where} = {value}: SageMaker accepts {lo}-{hi} s")
        yield verdict(ep.address, problems)


def _instance_counts(plan: Plan, ep: Resource) -> list[int]:
    cfg = _config_of_endpoint(plan, ep)
    if cfg is None:
        return []
    return [v["initial_instance_count"] for v in _variants(cfg) if isinstance(v.get("initial_instance_count"), int)]


def _size_problem(what: str, size: dict[str, Any], counts: list[int], lo_pct: int, hi_pct: int) -> str | None:
    kind, value = size.get("type"), size.get("value")
    if kind == "CAPACITY_PERCENT":
        if not _in_range(value, lo_pct, hi_pct):
            return f"{what} = {value} % of the fleet: SageMaker wants {lo_pct}-{hi_pct} % of the variant's instances"
    elif kind == "INSTANCE_COUNT":
        for count in counts:
            if not (isinstance(value, int) and count * lo_pct <= value * 100 <= count * hi_pct):
                return (
                    f"{what} = {value} of the variant's {count} instances: SageMaker wants {lo_pct}-{hi_pct} % "
                    "of them (a canary of at most half the fleet)"
                )
    return None


@rule(
    "SM-GUARDRAIL-CANARY",
    "A CANARY shift names a canary size of at most 50 % of the variant's instance count and a LINEAR "
    "one a step of 10-50 %; ALL_AT_ONCE names neither.",
    TRAFFIC_ROUTING,
)
def _sm_guardrail_canary(plan: Plan) -> Check:
    for ep, dc in _guarded(plan):
        routing = _routing(dc)
        if not routing:
            continue
        kind = routing.get("type")
        canary = next(iter(_as_list(routing.get("canary_size"))), None)
        linear = next(iter(_as_list(routing.get("linear_step_size"))), None)
        counts = _instance_counts(plan, ep)
        problem = None
        if kind == "CANARY":
            problem = (
                _size_problem("canary_size", canary, counts, 0, 50)
                if canary
                else "a CANARY shift without canary_size: how much traffic goes first is the canary"
            )
        elif kind == "LINEAR":
            problem = (
                _size_problem("linear_step_size", linear, counts, 10, 50)
                if linear
                else "a LINEAR shift without linear_step_size"
            )
        elif canary or linear:
            problem = f"a {kind} shift with a canary or linear step size: it applies to CANARY / LINEAR only"
        yield ep.address, problem


@rule(
    "SM-GUARDRAIL-ALARM-COUNT",
    "An auto-rollback configuration names 1-10 CloudWatch alarms.",
    ROLLBACK_CONFIG,
)
def _sm_guardrail_alarm_count(plan: Plan) -> Check:
    alarms = _shape("sagemaker", "AlarmList").metadata
    for ep, dc in _guarded(plan):
        if not _as_list(dc.get("auto_rollback_configuration")):
            continue
        n = len(_alarm_names(dc))
        if not alarms["min"] <= n <= alarms["max"]:
            yield (
                ep.address,
                f"auto_rollback_configuration names {n} alarms: SageMaker takes {alarms['min']}-{alarms['max']}",
            )
        else:
            yield ep.address, None


def _alarms_of(plan: Plan) -> set[Any]:
    planned = {
        a.get("alarm_name") for a in plan.resources("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm")
    }
    live = {
        r["values"].get("alarm_name")
        for r in plan.prior("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm")
    }
    return planned | live


@rule(
    "SM-GUARDRAIL-ALARMS-EXIST",
    "Each rollback alarm is a CloudWatch alarm in the account: one this plan creates or keeps (its name "
    "is fixed, so a rename would also replace the endpoint).",
    ROLLBACK_CONFIG,
)
def _sm_guardrail_alarms_exist(plan: Plan) -> Check:
    known = _alarms_of(plan)
    for ep, dc in _guarded(plan):
        names = _alarm_names(dc)
        missing = [n for n in names if n is not UNKNOWN and n not in known]
        if missing:
            yield (
                ep.address,
                f"rollback alarms {missing} are no alarm of this plan or its state ({sorted(map(str, known))}): "
                "SageMaker would watch nothing",
            )
        elif names:
            yield ep.address, None


def _execution_roles(plan: Plan, ep: Resource) -> list[Resource]:
    """The IAM roles the endpoint's models run as (matched by ARN, or by name at the ARN's end)."""
    cfg = _config_of_endpoint(plan, ep)
    if cfg is None:
        return []
    model_names = {v.get("model_name") for v in _variants(cfg)}
    roles = []
    for model in plan.resources("aws_sagemaker_model"):
        if model.get("name") not in model_names:
            continue
        arn = model.get("execution_role_arn")
        for role in plan.resources("aws_iam_role"):
            if isinstance(arn, str) and (role.get("arn") == arn or arn.endswith(f":role/{role.get('name')}")):
                roles.append(role)
    return roles


def _role_statements(plan: Plan, role: Resource) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for policy in plan.resources("aws_iam_role_policy"):
        if policy.module == role.module and policy.get("role") in (role.get("name"), role.get("id"), UNKNOWN):
            doc, _exact = _policy_document(plan, policy, "policy")
            out += _statements(doc or {})
    return out


def _allows_describe(statement: dict[str, Any], alarm: str) -> bool:
    if statement.get("Effect") != "Allow" or "Condition" in statement:
        return False
    actions = [a.lower() for a in _as_list(statement.get("Action"))]
    if not any(fnmatch.fnmatchcase("cloudwatch:describealarms", a) for a in actions):
        return False
    for resource in _as_list(statement.get("Resource")):
        if resource == "*":
            return True
        if (
            isinstance(resource, str)
            and ":alarm:" in resource
            and fnmatch.fnmatchcase(alarm, resource.split(":alarm:", 1)[1])
        ):
            return True
    return False


@rule(
    "SM-GUARDRAIL-ALARM-ACCESS",
    "The execution role of a guarded endpoint's model may cloudwatch:DescribeAlarms each rollback "
    "alarm (SageMaker reads them with it).",
    ROLLBACK_MONITORING + " (Note)",
)
def _sm_guardrail_alarm_access(plan: Plan) -> Check:
    for ep, dc in _guarded(plan):
        names = [n for n in _alarm_names(dc) if isinstance(n, str)]
        roles = _execution_roles(plan, ep)
        if not names or not roles:
            continue
        problems: list[str | None] = []
        for role in roles:
            statements = _role_statements(plan, role)
            denied = [n for n in names if not any(_allows_describe(s, n) for s in statements)]
            if denied:
                problems.append(
                    f"the execution role {role.get('name')} may not cloudwatch:DescribeAlarms the rollback alarms "
                    f"{denied}: SageMaker cannot watch them"
                )
        yield verdict(ep.address, problems)


@rule(
    "SM-GUARDRAIL-TIMEOUT",
    "A blue/green update's maximum execution timeout is within 600-14,400 s (the provider's range, "
    "inside the API's) and larger than the waits it covers (WaitIntervalInSeconds + TerminationWaitInSeconds).",
    BLUE_GREEN,
)
def _sm_guardrail_timeout(plan: Plan) -> Check:
    api = _shape("sagemaker", "MaximumExecutionTimeoutInSeconds").metadata
    lo, hi = max(api["min"], PROVIDER_TIMEOUT_RANGE[0]), min(api["max"], PROVIDER_TIMEOUT_RANGE[1])
    for ep, dc in _guarded(plan):
        policy = _blue_green(dc)
        timeout = policy.get("maximum_execution_timeout_in_seconds")
        if not policy or timeout in (None, UNKNOWN):
            continue
        waits = (_routing(dc).get("wait_interval_in_seconds") or 0) + (policy.get("termination_wait_in_seconds") or 0)
        if not _in_range(timeout, lo, hi):
            yield ep.address, f"maximum_execution_timeout_in_seconds = {timeout}: must be {lo}-{hi} s"
        elif timeout <= waits:
            yield (
                ep.address,
                f"maximum_execution_timeout_in_seconds = {timeout} is not larger than the waits it covers ({waits} s)",
            )
        else:
            yield ep.address, None


@rule(
    "SM-GUARDRAIL-PROVIDER-WAIT",
    "A guarded update fits the provider's 60-minute wait for UpdateEndpoint: a blue/green policy sets "
    "maximum_execution_timeout_in_seconds, at most 3,600 s (a longer deployment fails the apply while "
    "SageMaker goes on).",
    PROVIDER_ENDPOINT + " (waitEndpointInService)",
)
def _sm_guardrail_provider_wait(plan: Plan) -> Check:
    for ep, dc in _guarded(plan):
        policy = _blue_green(dc)
        if not policy:
            continue
        timeout = policy.get("maximum_execution_timeout_in_seconds")
        if timeout is UNKNOWN:
            continue
        if not isinstance(timeout, int) or timeout <= 0:
            yield (
                ep.address,
                "no maximum_execution_timeout_in_seconds: the deployment may outlast the provider's 60-minute wait",
            )
        elif timeout > PROVIDER_UPDATE_WAIT_S:
            yield (
                ep.address,
                f"maximum_execution_timeout_in_seconds = {timeout}: over the provider's {PROVIDER_UPDATE_WAIT_S} s "
                "wait for UpdateEndpoint, so the apply may fail while the deployment goes on",
            )
        else:
            yield ep.address, None


@rule(
    "SM-GUARDRAIL-SAME-VARIANT",
    "An endpoint updated in place with deployment guardrails keeps its variant names: a blue/green or "
    "rolling deployment needs the new configuration's variant names to be the old one's.",
    EXCLUSIONS,
)
def _sm_guardrail_same_variant(plan: Plan) -> Check:
    for ep, _dc in _guarded(plan):
        if ep.actions != ("update",):
            continue  # created or replaced: no deployment
        old_cfg = _prior_config(plan, (ep.before or {}).get("endpoint_config_name"))
        new_cfg = _config_of_endpoint(plan, ep)
        if old_cfg is None or new_cfg is None:
            continue
        old = sorted(str(v.get("variant_name")) for v in _as_list(old_cfg.get("production_variants")))
        new = sorted(str(v.get("variant_name")) for v in _variants(new_cfg))
        if old != new:
            yield ep.address, f"a guarded update from variants {old} to {new}: the variant names must stay the same"
        else:
            yield ep.address, None


@rule(
    "SM-GUARDRAIL-ENDPOINT-TYPE",
    "Deployment guardrails (deployment_config) are set on instance-based endpoints only: they apply to "
    "real-time and asynchronous endpoints, not serverless ones.",
    GUARDRAILS + " (Note)",
)
def _sm_guardrail_endpoint_type(plan: Plan) -> Check:
    for ep in plan.resources("aws_sagemaker_endpoint"):
        cfg = _config_of_endpoint(plan, ep)
        if cfg is None:
            continue
        serverless = [v.get("variant_name") for v in _variants(cfg) if _is_serverless(v)]
        if serverless and _as_list(ep.get("deployment_config")):
            yield (
                ep.address,
                f"deployment_config on an endpoint with serverless variants {serverless}: guardrails apply to "
                "real-time and asynchronous endpoints only",
            )
        else:
            yield ep.address, None


@rule(
    "SM-GUARDRAIL-EXCLUSIONS",
    "No rolling update on a serverless or multi-variant endpoint, and no canary, linear shift or baking "
    "asked of an Inf1 endpoint (it falls back to all at once with no final baking period).",
    EXCLUSIONS,
)
def _sm_guardrail_exclusions(plan: Plan) -> Check:
    for ep, dc in _guarded(plan):
        cfg = _config_of_endpoint(plan, ep)
        if cfg is None:
            continue
        variants = _variants(cfg)
        problems: list[str | None] = []
        if _rolling(dc) and (len(variants) > 1 or any(_is_serverless(v) for v in variants)):
            problems.append("a rolling update on a serverless or multi-variant endpoint: SageMaker excludes it")
        inf1 = [v.get("instance_type") for v in variants if re.match(r"ml\.inf1\.", str(v.get("instance_type") or ""))]
        asks = (
            _routing(dc).get("type") in ("CANARY", "LINEAR")
            or (_blue_green(dc).get("termination_wait_in_seconds") or 0) > 0
        )
        if inf1 and asks:
            problems.append(
                f"canary/linear shifting or a baking period on {inf1}: Inf1 endpoints fall back to all at once "
                "with no final baking period"
            )
        yield verdict(ep.address, problems)
