"""The AWS rules of aws_rules.py over real plans of every supported variant (issue 9).

A moto server stands in for AWS so that `terraform plan` runs offline with the real provider:
the plan JSON (`terraform plan -out` + `terraform show -json`) is the one `make plan` would show.
Stage 1 is planned from an empty state, then the website and the SageMaker role are applied
(as `make deploy`'s first apply does) and serverless stage 2 is planned on top of them, so
names, origins and the Lambda's environment are known values, not "known after apply".

Transitions need a live endpoint, so two more copies each apply one to moto and plan the next
step: serverless -> realtime (defect 3; the model's isolation changes too, defect 2), and
realtime ml.m5.large -> ml.m5.xlarge with autoscaling registered (defect 7). The second is the
realtime variant's plan: data capture on, an alarm email (an SNS subscription), the drift alarm;
a first realtime deploy from stage 1 would plan the same resources once more (12 s of CPU).
Each then plans the same step with the code before issue 9 (an override file pins the endpoint
and model names, which the old code never changed in these steps), targeted at module.endpoint,
where those names live (a third less CPU than the whole root): real broken plans, which the
rules must catch. (moto itself has no UpdateEndpoint and drops EnableNetworkIsolation; the mock provider
accepts anything.)

Stage 1 is planned without the managed response headers policy, so the page's own policy is
in that plan (planning calls no CloudFront policy API; applying would, and moto has none: the
apply and every later plan attach the managed policy). terraform/bootstrap, a root of its
own, is planned once against the same server (GitHub OIDC provider, deploy role, state bucket).

Every rule also gets one broken variant of a real plan (one value edited in the JSON), which
must fail with a message naming the problem and the rule's source.
"""

from __future__ import annotations

import copy
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.shared import made_once
from tests.terraform import aws_rules
from tests.terraform.moto_gaps import moto_gaps_filled
from tests.terraform.tf_helpers import (
    MANAGED_SECURITY_HEADERS,
    TF_DIR,
    aws_env,
    init_bootstrap_copy,
    init_copy,
    lambda_zip,
    moto_server,
    run_tf,
)

pytestmark = [pytest.mark.terraform, pytest.mark.integration]

PREFIX = "rules"
REGION = "us-east-1"

# Stage 2 from stage 1: serverless (the default).
VARIANTS: dict[str, dict[str, Any]] = {"serverless": {}}
# The live endpoint of the realtime transition: data capture on is a superset of plain realtime
# (same model, endpoint, autoscaling and Lambda), and its alarm email puts an SNS subscription
# in the plan.
REALTIME_CAPTURE = {"endpoint_mode": "realtime", "enable_data_capture": True, "alarm_email": "ops@example.com"}
GITHUB_REPOSITORY = "octo-org/churn"
MODEL_DATA_URL = f"s3://{PREFIX}-data-20250101000000000000000001/models/run-{{run}}/model.tar.gz"
NEXT_MODEL = MODEL_DATA_URL.format(run=2)  # a retrained model for a live endpoint
PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{PREFIX}"  # + "/<version>"

# Before issue 9 the endpoint module named the endpoint "<prefix>-endpoint" and the model by its
# artifact and image only: names that neither a mode switch nor a new instance type changes. On a
# live endpoint, pinning both names to the live ones is therefore the old code's next plan. The old
# code had no deployment guardrails either: where the live endpoint has none (serverless), the
# override leaves them out too (their ForceNew rollback alarms would turn the old code's in-place
# update into a replacement, another defect than the one the plan stands for).
OLD_NAMES_OVERRIDE = """
resource "aws_sagemaker_model" "this" {{
  name = local.create ? "{model}" : null
}}

resource "aws_sagemaker_endpoint" "this" {{
  name = "{endpoint}"
{guardrails}}}
"""
NO_GUARDRAILS = """
  dynamic "deployment_config" {
    for_each = []
    content {}
  }
"""


def live_value(doc: dict[str, Any], address: str, key: str) -> Any:
    """A value of a resource in the plan's prior state (what is live)."""
    stack = [doc["prior_state"]["values"]["root_module"]]
    while stack:
        module = stack.pop()
        for resource in module.get("resources", []):
            if resource["address"] == address:
                return resource["values"][key]
        stack.extend(module.get("child_modules", []))
    raise KeyError(address)


class Terraform:
    """One working copy of terraform/ against the moto server."""

    def __init__(self, workdir: Path, env: dict[str, str], var_files: list[Path]):
        self.workdir, self.env, self.var_files = workdir, env, var_files

    def _vars(self, extra: dict[str, Any]) -> list[str]:
        args = [f"-var-file={f}" for f in self.var_files]
        for name, value in extra.items():
            args.append(f"-var={name}={json.dumps(value) if not isinstance(value, str) else value}")
        return args

    def plan(self, name: str, refresh: bool = False, targets: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
        out = self.workdir / f"{name}.tfplan"
        args = ["plan", "-input=false", "-no-color", "-lock=false", f"-out={out}", *self._vars(extra)]
        args += [f"-target={t}" for t in targets]
        run_tf([*args, *([] if refresh else ["-refresh=false"])], self.workdir, self.env)
        return json.loads(run_tf(["show", "-json", str(out)], self.workdir, self.env).stdout)

    def apply(self, *targets: str, **extra: Any) -> None:
        args = ["apply", "-auto-approve", "-input=false", "-no-color", *(f"-target={t}" for t in targets)]
        run_tf([*args, *self._vars(extra)], self.workdir, self.env)

    def fork(self, dest: Path) -> Terraform:
        """A copy sharing the provider install, with this copy's state."""
        shutil.copytree(self.workdir, dest, symlinks=True, ignore=shutil.ignore_patterns("*.tfplan"))
        shutil.copytree(self.workdir.parent / "web", dest.parent / "web")  # the root reads ../web (see tf_helpers)
        return Terraform(dest, self.env, self.var_files)


@pytest.fixture(scope="module")
def plans(tmp_path_factory, tf_env) -> dict[str, dict[str, Any]]:
    """Plan JSON by name: stage1, the stage-2 variants, the transitions (new and old code), bootstrap.

    Made once per test session (tests/shared.py): should xdist hand this file's tests to more
    than one worker, the plans, which take minutes, are still made once.
    """
    pytest.importorskip("moto.server")
    tmp = tmp_path_factory.mktemp("aws_rules")
    env = aws_env(tf_env, REGION)
    # AWS_MAX_ATTEMPTS: the provider gives up on an emulator gap in seconds, not after minutes of retries.
    env["AWS_MAX_ATTEMPTS"] = "2"

    def make(path: Path) -> None:
        made = json.dumps(plans_with_moto(tmp, env))
        path.with_suffix(".tmp").write_text(made)
        path.with_suffix(".tmp").rename(path)

    return json.loads(made_once(tmp_path_factory, "aws_rules_plans.json", make).read_text())


def plans_with_moto(tmp: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    with moto_gaps_filled(), moto_server() as url:
        return make_plans(tmp, env, url)


def make_plans(tmp: Path, env: dict[str, str], url: str) -> dict[str, dict[str, Any]]:
    fixtures = TF_DIR / "tests" / "fixtures"
    base = tmp / "base.tfvars.json"
    base.write_text(
        json.dumps(
            {
                "aws_endpoint_url": url,
                "name_prefix": PREFIX,
                "region": REGION,
                "force_destroy": True,
                "web_dir": str(fixtures / "web"),
                "website_wait_for_deployment": False,  # moto's distribution polls ~30 s per change
            }
        )
    )
    managed_headers = tmp / "managed_headers.tfvars.json"  # every apply, and every plan after stage 1's
    managed_headers.write_text(json.dumps({"website_response_headers_policy_id": MANAGED_SECURITY_HEADERS}))
    zip_path = tmp / "invoker.zip"
    model = tmp / "model.tfvars.json"  # the Makefile's handoff keys
    model.write_text(
        json.dumps(
            {
                "model_data_url": MODEL_DATA_URL.format(run=1),
                "image_uri": None,
                "decision_cutoff": 0.3,
                "feature_schema_path": str(fixtures / "feature_schema.json"),
                "lambda_zip_path": str(zip_path),
                "lambda_zip_sha256": lambda_zip(zip_path),
                "expected_flagged_share": 0.2,  # metrics.json's drift band: the drift alarm is planned
                "flagged_share_band": [0.1, 0.35],
            }
        )
    )
    stage1 = Terraform(init_copy(tmp / "main" / "terraform", env), env, [base])
    out = {"stage1": stage1.plan("stage1")}  # with the page's own response headers policy
    # make deploy's first apply, as far as stage 2's plan needs it: the page's origin, the role.
    Terraform(stage1.workdir, env, [base, managed_headers]).apply("module.website", "module.endpoint")
    deployed = Terraform(stage1.workdir, env, [base, managed_headers, model])

    forks = {tag: deployed.fork(tmp / tag / "terraform") for tag in ("from_serverless", "from_realtime")}

    def variant(name: str) -> dict[str, dict[str, Any]]:
        return {name: deployed.plan(name, **VARIANTS[name])}

    def transition(tag: str, name: str, live: dict[str, Any], step: dict[str, Any]) -> dict[str, dict[str, Any]]:
        tf = forks[tag]
        tf.apply("module.endpoint", **live)  # a live endpoint ...
        new = tf.plan(f"new_{name}", **live, **step)  # ... the plan of the next step ...
        # ... the plan of the next model on the same endpoint (an in-place, guarded update) ...
        model = tf.plan(f"{tag}_new_model", **live, model_data_url=NEXT_MODEL)
        names = {"model": live_value(new, MODEL, "name"), "endpoint": live_value(new, EP, "name")}
        guardrails = "" if live_value(new, EP, "deployment_config") else NO_GUARDRAILS
        override = tf.workdir / "modules" / "endpoint" / "old_names_override.tf"
        override.write_text(OLD_NAMES_OVERRIDE.format(**names, guardrails=guardrails))
        old = tf.plan(f"old_{name}", targets=("module.endpoint",), **live, **step)  # ... and the old code's
        return {f"new_{name}": new, f"old_{name}": old, f"{tag}_new_model": model}

    def bootstrap() -> dict[str, dict[str, Any]]:
        # The bootstrap provider has no endpoint settings: the SDK's variable points it at moto.
        boot_env = dict(env, AWS_ENDPOINT_URL=url)
        tf = Terraform(init_bootstrap_copy(tmp / "bootstrap", boot_env), boot_env, [])
        return {"bootstrap": tf.plan("bootstrap", github_repository=GITHUB_REPOSITORY, name_prefix=PREFIX)}

    to_realtime = {"endpoint_mode": "realtime"}  # defect 3 (and the model's isolation, defect 2)
    bigger = {"instance_type": "ml.m5.xlarge"}  # defect 7: under autoscaling
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [pool.submit(bootstrap)]
        jobs += [pool.submit(variant, name) for name in VARIANTS]
        jobs.append(pool.submit(transition, "from_serverless", "to_realtime", VARIANTS["serverless"], to_realtime))
        jobs.append(pool.submit(transition, "from_realtime", "bigger_instance", REALTIME_CAPTURE, bigger))
        for job in jobs:
            out.update(job.result())
    return out


def changes(doc: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [rc for rc in doc["resource_changes"] if rc["type"] == rtype and rc["mode"] == "managed"]


# -- every variant passes every rule ------------------------------------------------------


@pytest.mark.parametrize("variant", ["stage1", *VARIANTS, "bootstrap"])
def test_variant_passes_every_rule(plans, variant):
    report = aws_rules.evaluate(plans[variant])
    assert not report.findings, f"{variant}:\n{report}"


@pytest.mark.parametrize(
    "transition", ["new_to_realtime", "new_bigger_instance", "from_serverless_new_model", "from_realtime_new_model"]
)
def test_transition_passes_every_rule(plans, transition):
    report = aws_rules.evaluate(plans[transition])
    assert not report.findings, f"{transition}:\n{report}"


def test_every_rule_looks_at_something(plans):
    """No rule passes by finding nothing to check: each sees a resource in some plan."""
    seen: dict[str, set[str]] = {r.id: set() for r in aws_rules.RULES}
    for name, doc in plans.items():
        if name.startswith("old_"):
            continue
        for rule_id, addresses in aws_rules.evaluate(doc).checked.items():
            seen[rule_id] |= addresses
    assert not [rule_id for rule_id, addresses in seen.items() if not addresses]


def test_variant_plans_are_what_they_say(plans):
    """The plans differ where they should (else the variants would prove nothing)."""
    assert not changes(plans["stage1"], "aws_sagemaker_endpoint") and not changes(
        plans["stage1"], "aws_lambda_function"
    )
    (ep,) = changes(plans["serverless"], "aws_sagemaker_endpoint")
    assert ep["change"]["after"]["name"] == f"{PREFIX}-serverless"
    (cfg,) = changes(plans["new_bigger_instance"], "aws_sagemaker_endpoint_configuration")
    assert (
        cfg["change"]["after"]["data_capture_config"]
        and cfg["change"]["after"]["production_variants"][0]["instance_type"]
    )
    (fn,) = changes(plans["new_bigger_instance"], "aws_lambda_function")
    assert fn["change"]["after"]["environment"][0]["variables"]["ENDPOINT_NAME"] == f"{PREFIX}-rt-m5-xlarge"
    # Stage 1 plans the page's own response headers policy; the apply attached the managed one.
    assert changes(plans["stage1"], "aws_cloudfront_response_headers_policy")
    assert not changes(plans["serverless"], "aws_cloudfront_response_headers_policy")
    assert changes(plans["new_bigger_instance"], "aws_sns_topic_subscription")
    # Stage 1 has no API, so no /predict path; stage 2 adds the API origin and its behavior.
    (stage1_dist,) = changes(plans["stage1"], "aws_cloudfront_distribution")
    assert len(stage1_dist["change"]["after"]["origin"]) == 1
    assert not stage1_dist["change"]["after"]["ordered_cache_behavior"]
    (dist,) = changes(plans["serverless"], "aws_cloudfront_distribution")
    assert sorted(o["origin_id"] for o in dist["change"]["after"]["origin"]) == ["http-api", "s3-site"]
    (predict,) = dist["change"]["after"]["ordered_cache_behavior"]
    assert predict["path_pattern"] == "/predict" and "POST" in predict["allowed_methods"]
    assert changes(plans["bootstrap"], "aws_iam_openid_connect_provider") and changes(
        plans["bootstrap"], "aws_iam_role"
    )


# -- the transitions: what the fix does, and what the old code did ------------------------


def test_mode_switch_creates_the_new_endpoint_first(plans):
    """Defect 3: serverless -> realtime is a new endpoint, created before the old is destroyed."""
    (ep,) = changes(plans["new_to_realtime"], "aws_sagemaker_endpoint")
    assert ep["change"]["actions"] == ["create", "delete"]
    assert (ep["change"]["before"]["name"], ep["change"]["after"]["name"]) == (
        f"{PREFIX}-serverless",
        f"{PREFIX}-rt-m5-large",
    )
    (model,) = changes(plans["new_to_realtime"], "aws_sagemaker_model")  # isolation on: defect 2 too
    assert model["change"]["actions"] == ["create", "delete"]
    assert model["change"]["before"]["name"] != model["change"]["after"]["name"]
    assert model["change"]["after"]["enable_network_isolation"] is True


def test_instance_type_change_replaces_endpoint_and_scalable_target(plans):
    """Defect 7: the new instance type gets a new endpoint with its own target; no UpdateEndpoint."""
    doc = plans["new_bigger_instance"]
    (ep,) = changes(doc, "aws_sagemaker_endpoint")
    assert ep["change"]["actions"] == ["create", "delete"] and ep["change"]["after"]["name"] == f"{PREFIX}-rt-m5-xlarge"
    (target,) = changes(doc, "aws_appautoscaling_target")
    assert "delete" in target["change"]["actions"] and "create" in target["change"]["actions"]
    assert target["change"]["after"]["resource_id"] == f"endpoint/{PREFIX}-rt-m5-xlarge/variant/AllTraffic"


@pytest.mark.parametrize("tag", ["from_serverless", "from_realtime"])
def test_new_model_updates_the_endpoint_in_place(plans, tag):
    """A retrained model: a new model and configuration, and UpdateEndpoint on the same endpoint.

    Never delete and recreate: the endpoint keeps its name (the Lambda and the alarms point at
    it) and its guardrails, and SageMaker moves the traffic (blue/green) without downtime.
    """
    doc = plans[f"{tag}_new_model"]
    (ep,) = changes(doc, "aws_sagemaker_endpoint")
    assert ep["change"]["actions"] == ["update"], ep["change"]["actions"]
    before, after = ep["change"]["before"], ep["change"]["after"]
    assert after["name"] == before["name"]
    assert ep["change"]["after_unknown"].get("endpoint_config_name") is True  # the new configuration's name
    (cfg,) = changes(doc, "aws_sagemaker_endpoint_configuration")
    assert cfg["change"]["actions"] == ["create", "delete"], "the new configuration comes first"
    (model,) = changes(doc, "aws_sagemaker_model")
    assert model["change"]["actions"] == ["create", "delete"]
    assert model["change"]["after"]["primary_container"][0]["model_data_url"] == NEXT_MODEL
    assert after["deployment_config"] == before["deployment_config"], "the guardrails stay as they are"
    if tag == "from_realtime":
        (policy,) = after["deployment_config"][0]["blue_green_update_policy"]
        assert policy["traffic_routing_configuration"][0]["type"] == "ALL_AT_ONCE"  # one instance: no canary
        alarms = {a["alarm_name"] for a in after["deployment_config"][0]["auto_rollback_configuration"][0]["alarms"]}
        assert alarms == {f"{PREFIX}-endpoint-errors", f"{PREFIX}-api-5xx-rate"}
    else:
        assert after["deployment_config"] == []  # serverless: no guardrails


@pytest.mark.parametrize(
    ("transition", "rule_id", "address"),
    [
        ("old_to_realtime", "SM-MODE-SWITCH", "module.endpoint.aws_sagemaker_endpoint.this[0]"),
        ("old_to_realtime", "REPLACE-NEW-NAME", "module.endpoint.aws_sagemaker_model.this[0]"),
        ("old_bigger_instance", "SM-AUTOSCALING-INSTANCE-TYPE", "module.endpoint.aws_sagemaker_endpoint.this[0]"),
    ],
)
def test_old_naming_is_caught(plans, transition, rule_id, address):
    """The code before issue 9, planned for real: moto applied these, AWS would not."""
    findings = aws_rules.evaluate(plans[transition]).for_rule(rule_id)
    assert [f.address for f in findings] == [address], aws_rules.evaluate(plans[transition])


# -- one broken variant per rule ----------------------------------------------------------


def _resource(doc: dict[str, Any], address: str) -> dict[str, Any]:
    (rc,) = [rc for rc in doc["resource_changes"] if rc["address"] == address]
    return rc


def set_after(doc: dict[str, Any], address: str, path: tuple[str | int, ...], value: Any) -> None:
    """Set a planned value (and mark it known)."""
    change = _resource(doc, address)["change"]
    node: Any = change["after"]
    unknown: Any = change.setdefault("after_unknown", {})
    for key in path[:-1]:
        node = node[key]
        unknown = aws_rules._step(unknown, key) or {}  # after_unknown mirrors after, where it has anything
    node[path[-1]] = value
    if isinstance(unknown, dict):
        unknown.pop(path[-1], None)


EP = "module.endpoint.aws_sagemaker_endpoint.this[0]"
CFG = "module.endpoint.aws_sagemaker_endpoint_configuration.this[0]"
MODEL = "module.endpoint.aws_sagemaker_model.this[0]"
GROUP = "module.model_registry.aws_sagemaker_model_package_group.this"
FN = "module.invoker[0].aws_lambda_function.this"
SM_ROLE = "module.endpoint.aws_iam_role.this"


def _same_name_in_place(doc: dict[str, Any], address: str) -> None:
    rc = _resource(doc, address)
    rc["change"]["actions"] = ["update"]
    rc["change"]["after"]["name"] = rc["change"]["before"]["name"]


def _untrusting(doc: dict[str, Any]) -> None:
    policy = json.loads(_resource(doc, SM_ROLE)["change"]["after"]["assume_role_policy"])
    for statement in policy["Statement"]:
        statement.pop("Condition", None)
    set_after(doc, SM_ROLE, ("assume_role_policy",), json.dumps(policy))


def _padded_trust(doc: dict[str, Any]) -> None:
    policy = json.loads(_resource(doc, SM_ROLE)["change"]["after"]["assume_role_policy"])
    policy["Statement"][0]["Sid"] = "x" * 2100
    set_after(doc, SM_ROLE, ("assume_role_policy",), json.dumps(policy))


def _public_data_bucket_policy(doc: dict[str, Any]) -> None:
    address = "module.data_bucket.aws_s3_bucket_policy.this"
    policy = json.loads(_resource(doc, address)["change"]["after"]["policy"])
    policy["Statement"].append(
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    )
    set_after(doc, address, ("policy",), json.dumps(policy))


def _reserved_env(doc: dict[str, Any]) -> None:
    env = dict(_resource(doc, FN)["change"]["after"]["environment"][0]["variables"], AWS_REGION="us-east-1")
    set_after(doc, FN, ("environment", 0, "variables"), env)


def _renamed_endpoint_env(doc: dict[str, Any]) -> None:
    env = dict(_resource(doc, FN)["change"]["after"]["environment"][0]["variables"], ENDPOINT_NAME=f"{PREFIX}-endpoint")
    set_after(doc, FN, ("environment", 0, "variables"), env)


def origin_index(origin_id: str) -> Any:
    """A path step: the index of the distribution's origin with this id (a set: its order is the provider's)."""

    def index(doc: dict[str, Any]) -> int:
        origins = _resource(doc, DIST)["change"]["after"]["origin"]
        (i,) = [i for i, o in enumerate(origins) if o["origin_id"] == origin_id]
        return i

    return index


def setting(address: Any, *path: Any, value: Any) -> Any:
    """An edit: set one planned value (address and path steps may be functions of the plan)."""
    return lambda doc: set_after(
        doc,
        address(doc) if callable(address) else address,
        tuple(step(doc) if callable(step) else step for step in path),
        value,
    )


def first(rtype: str) -> Any:
    return lambda doc: changes(doc, rtype)[0]["address"]


DIST = "module.website.aws_cloudfront_distribution.this"
OAC = "module.website.aws_cloudfront_origin_access_control.this"
HEADERS = "module.website.aws_cloudfront_response_headers_policy.this[0]"  # stage 1 only
ALARM = "module.monitoring[0].aws_cloudwatch_metric_alarm.lambda_errors"
DASHBOARD = "module.monitoring[0].aws_cloudwatch_dashboard.this"
TOPIC = "module.monitoring[0].aws_sns_topic.this"
SUBSCRIPTION = "module.monitoring[0].aws_sns_topic_subscription.email[0]"  # REALTIME_CAPTURE's alarm email
OIDC_PROVIDER = "aws_iam_openid_connect_provider.github[0]"
DEPLOY_TRUST = "data.aws_iam_policy_document.trust[0]"  # rendered at apply: the provider's ARN is unknown


def _wildcard_subject(doc: dict[str, Any]) -> None:
    conditions = _resource(doc, DEPLOY_TRUST)["change"]["after"]["statement"][0]["condition"]
    (i,) = [i for i, c in enumerate(conditions) if c["variable"].endswith(":sub")]
    set_after(doc, DEPLOY_TRUST, ("statement", 0, "condition", i, "values"), [f"repo:{GITHUB_REPOSITORY}:*"])


def _crowded_dashboard(doc: dict[str, Any]) -> None:
    text = {"type": "text", "x": 0, "width": 24, "height": 1, "properties": {"markdown": "note"}}
    set_after(doc, DASHBOARD, ("dashboard_body",), json.dumps({"widgets": [dict(text, y=i) for i in range(501)]}))


LOG_GROUP = "module.invoker[0].aws_cloudwatch_log_group.this"
LIFECYCLE = "module.data_bucket.aws_s3_bucket_lifecycle_configuration.this"
SERVERLESS_MEMORY = ("production_variants", 0, "serverless_config", 0, "memory_size_in_mb")

GUARDED = "from_realtime_new_model"  # a live realtime endpoint's next model: a guarded in-place update
BLUE_GREEN = ("deployment_config", 0, "blue_green_update_policy", 0)
ROUTING = (*BLUE_GREEN, "traffic_routing_configuration", 0)
ALARMS = ("deployment_config", 0, "auto_rollback_configuration", 0, "alarms")
SM_ROLE_POLICY = "module.endpoint.aws_iam_role_policy.this"


def _without_alarm_access(doc: dict[str, Any]) -> None:
    policy = json.loads(_resource(doc, SM_ROLE_POLICY)["change"]["after"]["policy"])
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "ReadRollbackAlarms"]
    set_after(doc, SM_ROLE_POLICY, ("policy",), json.dumps(policy))


def _guarded_serverless(doc: dict[str, Any]) -> None:
    dc = {"blue_green_update_policy": [{"traffic_routing_configuration": [{"type": "ALL_AT_ONCE"}]}]}
    set_after(doc, EP, ("deployment_config",), [dc])


BROKEN: dict[str, tuple[str, Any, str]] = {
    # rule id: (plan to break, the edit, what the message must say)
    "SM-SERVERLESS-ISOLATION": (
        "serverless",
        setting(MODEL, "enable_network_isolation", value=True),
        "do not support network isolation",
    ),
    "SM-SERVERLESS-CAPTURE": (
        "serverless",
        setting(CFG, "data_capture_config", value=[{"enable_capture": True}]),
        "data capture is realtime only",
    ),
    "SM-SERVERLESS-LIMITS": ("serverless", setting(CFG, *SERVERLESS_MEMORY, value=1536), "steps of 1024"),
    "SM-VARIANT-KIND": (
        "serverless",
        setting(CFG, "production_variants", 0, "instance_type", value="ml.m5.large"),
        "choose one",
    ),
    "SM-INSTANCE-TYPE": (
        "new_bigger_instance",
        setting(CFG, "production_variants", 0, "instance_type", value="ml.m5.larg"),
        "not a SageMaker hosting instance type",
    ),
    "SM-NAMES": ("serverless", setting(EP, "name", value=f"{PREFIX}_serverless"), "does not match the API's pattern"),
    "SM-MODEL-CONTAINER": (
        "serverless",
        setting(MODEL, "primary_container", 0, "environment", value={"1WORKERS": "2"}),
        "environment name",
    ),
    "SM-MODEL-FROM-PACKAGE": (
        "serverless",
        setting(MODEL, "primary_container", 0, "model_package_name", value=f"{PACKAGE_ARN}_models/1"),
        "does not match the API's pattern",
    ),
    "SM-MODEL-PACKAGE-GROUP": (
        "serverless",
        setting(GROUP, "model_package_group_name", value=f"{PREFIX}_models"),
        "model package group name",
    ),
    "SM-DATA-CAPTURE": (
        "new_bigger_instance",
        setting(CFG, "data_capture_config", 0, "initial_sampling_percentage", value=150),
        "must be 0-100",
    ),
    "REPLACE-NEW-NAME": (
        "new_to_realtime",
        lambda d: set_after(d, MODEL, ("name",), _resource(d, MODEL)["change"]["before"]["name"]),
        "AWS refuses to create the replacement",
    ),
    "SM-MODE-SWITCH": ("new_to_realtime", lambda d: _same_name_in_place(d, EP), "UpdateEndpoint rejects the switch"),
    "SM-AUTOSCALING-INSTANCE-TYPE": (
        "new_bigger_instance",
        lambda d: _same_name_in_place(d, EP),
        "while it is an autoscaling target",
    ),
    "SM-INVOKER-ENDPOINT": ("serverless", _renamed_endpoint_env, "but the plan's endpoints are"),
    "SM-GUARDRAIL-WAITS": (GUARDED, setting(EP, *ROUTING, "wait_interval_in_seconds", value=3601), "accepts 0-3600 s"),
    "SM-GUARDRAIL-CANARY": (
        GUARDED,  # one instance: a one-instance canary would be the whole fleet
        setting(
            EP,
            *ROUTING,
            value={
                "type": "CANARY",
                "wait_interval_in_seconds": 600,
                "canary_size": [{"type": "INSTANCE_COUNT", "value": 1}],
            },
        ),
        "at most half the fleet",
    ),
    "SM-GUARDRAIL-ALARM-COUNT": (
        GUARDED,
        setting(EP, *ALARMS, value=[{"alarm_name": f"{PREFIX}-alarm-{i}"} for i in range(11)]),
        "SageMaker takes 1-10",
    ),
    "SM-GUARDRAIL-ALARMS-EXIST": (
        GUARDED,
        setting(EP, *ALARMS, value=[{"alarm_name": f"{PREFIX}-endpoint-error"}]),
        "no alarm of this plan",
    ),
    "SM-GUARDRAIL-ALARM-ACCESS": (GUARDED, _without_alarm_access, "may not cloudwatch:DescribeAlarms"),
    "SM-GUARDRAIL-TIMEOUT": (
        GUARDED,
        setting(EP, *BLUE_GREEN, "maximum_execution_timeout_in_seconds", value=1200),
        "not larger than the waits",
    ),
    "SM-GUARDRAIL-PROVIDER-WAIT": (
        GUARDED,
        setting(EP, *BLUE_GREEN, "maximum_execution_timeout_in_seconds", value=7200),
        "over the provider's 3600 s wait",
    ),
    "SM-GUARDRAIL-SAME-VARIANT": (
        GUARDED,
        setting(CFG, "production_variants", 0, "variant_name", value="Green"),
        "the variant names must stay the same",
    ),
    "SM-GUARDRAIL-ENDPOINT-TYPE": ("serverless", _guarded_serverless, "real-time and asynchronous endpoints only"),
    "SM-GUARDRAIL-EXCLUSIONS": (
        GUARDED,
        setting(CFG, "production_variants", 0, "instance_type", value="ml.inf1.xlarge"),
        "Inf1 endpoints fall back",
    ),
    "AAS-SAGEMAKER-TARGET": (
        "new_bigger_instance",
        setting(
            first("aws_appautoscaling_target"), "resource_id", value=f"endpoint/{PREFIX}-endpoint/variant/AllTraffic"
        ),
        "names no endpoint variant",
    ),
    "IAM-CONFUSED-DEPUTY": ("serverless", _untrusting, "no aws:SourceAccount / aws:SourceArn condition"),
    "RESOURCE-POLICY-SOURCE": (
        "serverless",
        setting(first("aws_lambda_permission"), "source_arn", value=None),
        "from any source",
    ),
    "IAM-NAMES": (
        "serverless",
        setting(SM_ROLE, "name", value=f"{PREFIX} sagemaker"),
        "does not match the API's pattern",
    ),
    "IAM-POLICY-SIZE": ("serverless", _padded_trust, "over the 2,048 quota"),
    "LAMBDA-NAME-HANDLER": ("serverless", setting(FN, "function_name", value=f"{PREFIX}.invoker"), "1-64 characters"),
    "LAMBDA-LIMITS": ("serverless", setting(FN, "timeout", value=901), "Lambda allows 1-900"),
    "LAMBDA-ENV": ("serverless", _reserved_env, "reserved variables ['AWS_REGION']"),
    "LAMBDA-INVOKE-BUDGET": ("serverless", setting(FN, "timeout", value=15), "exceeds the function timeout 15 s"),
    "APIGW-INTEGRATION": (
        "serverless",
        setting(first("aws_apigatewayv2_integration"), "timeout_milliseconds", value=60000),
        "HTTP APIs allow 50-30000",
    ),
    "APIGW-LAMBDA-TIMEOUT": ("serverless", setting(FN, "timeout", value=30), "would answer 503"),
    "APIGW-THROTTLING": (
        "serverless",
        setting(first("aws_apigatewayv2_stage"), "default_route_settings", 0, "throttling_burst_limit", value=10000),
        "must be 1-5,000",
    ),
    "S3-BUCKET-NAME": (
        "serverless",
        setting("module.data_bucket.aws_s3_bucket.this", "bucket", value="Rules_Data"),
        "only a-z, 0-9",
    ),
    "S3-OBJECT-KEY": ("serverless", setting(first("aws_s3_object"), "key", value="k" * 1025), "S3 allows 1-1,024"),
    "S3-BUCKET-POLICY": ("serverless", _public_data_bucket_policy, "block_public_policy = true"),
    "S3-LIFECYCLE": (
        "serverless",
        setting(LIFECYCLE, "rule", 0, "noncurrent_version_expiration", 0, "noncurrent_days", value=0),
        "must be positive",
    ),
    "LOGS-RETENTION": ("serverless", setting(LOG_GROUP, "retention_in_days", value=10), "CloudWatch Logs accepts"),
    "LOGS-GROUP-NAME": (
        "serverless",
        setting(LOG_GROUP, "name", value=f"/aws/lambda/{PREFIX} invoker"),
        "log group name",
    ),
    "CF-DISTRIBUTION": (
        "stage1",
        setting(DIST, "default_root_object", value="/index.html"),
        "can't begin with a forward slash",
    ),
    "CF-S3-ORIGIN-OAC": (
        "serverless",
        setting(DIST, "origin", origin_index("s3-site"), "origin_access_control_id", value=""),
        "reads an S3 bucket without an origin access control",
    ),
    "CF-CACHE-BEHAVIOR": (
        "serverless",
        setting(DIST, "ordered_cache_behavior", 0, "allowed_methods", value=["GET", "HEAD", "POST"]),
        "not one of CloudFront's three sets",
    ),
    "CF-CUSTOM-ORIGIN": (
        "serverless",
        setting(DIST, "origin", origin_index("http-api"), "custom_origin_config", 0, "origin_read_timeout", value=180),
        "CloudFront allows 1-120",
    ),
    "CF-ORIGIN-ACCESS-CONTROL": ("stage1", setting(OAC, "name", value=f"{PREFIX}-{'w' * 60}"), "allows up to 64"),
    "CF-RESPONSE-HEADERS-POLICY": (
        "stage1",
        setting(
            HEADERS,
            "security_headers_config",
            0,
            "xss_protection",
            value=[
                {"mode_block": True, "report_uri": "https://report.example.com", "override": True, "protection": True}
            ],
        ),
        "cannot specify a report_uri when mode_block is true",
    ),
    "CF-RESPONSE-HEADERS-QUOTAS": (
        "stage1",
        setting(
            HEADERS,
            "security_headers_config",
            0,
            "content_security_policy",
            0,
            "content_security_policy",
            value="default-src 'self'; " + "img-src https://images.example.com; " * 50,
        ),
        "over the quota of 1,783",
    ),
    "CW-ALARM-PERIOD": ("serverless", setting(ALARM, "evaluation_periods", value=289), "at most 86,400 s (one day)"),
    "CW-ALARM-METRIC": (
        "serverless",
        setting(ALARM, "extended_statistic", value="p99"),
        "exactly one of statistic and extended_statistic",
    ),
    "CW-ALARM-SETTINGS": (
        "serverless",
        setting(ALARM, "treat_missing_data", value="notbreaching"),
        "treat_missing_data 'notbreaching'",
    ),
    "CW-ALARM-SNS-ACTION": (
        "serverless",
        setting(ALARM, "alarm_actions", value=[f"arn:aws:sns:{REGION}:123456789012:{PREFIX}-alarm"]),
        "names no SNS topic of this plan",
    ),
    "CW-DASHBOARD": ("serverless", _crowded_dashboard, "501 widgets, over the 500"),
    "SNS-TOPIC-NAME": ("serverless", setting(TOPIC, "name", value=f"{PREFIX}.alarms"), "letters, digits, - and _"),
    "SNS-SUBSCRIPTION": (
        "new_bigger_instance",
        setting(SUBSCRIPTION, "protocol", value="e-mail"),
        "'e-mail' is not one SNS supports",
    ),
    "IAM-OIDC-PROVIDER": (
        "bootstrap",
        setting(OIDC_PROVIDER, "url", value="token.actions.githubusercontent.com"),
        "must begin with https://",
    ),
    "IAM-GITHUB-OIDC-TRUST": ("bootstrap", _wildcard_subject, "is not one repository's environment"),
}


def test_every_rule_has_a_statement_a_source_and_a_broken_variant():
    ids = [r.id for r in aws_rules.RULES]
    assert len(ids) == len(set(ids))
    for r in aws_rules.RULES:
        assert r.statement.endswith(".") and len(r.statement) > 30, r.id
        assert r.source.startswith("https://"), r.id
    assert sorted(BROKEN) == sorted(ids)


@pytest.mark.parametrize("rule_id", sorted(BROKEN))
def test_broken_variant_fails_its_rule(plans, rule_id):
    base, edit, says = BROKEN[rule_id]
    doc = copy.deepcopy(plans[base])
    assert not aws_rules.evaluate(doc).for_rule(rule_id)  # the real plan passes ...
    edit(doc)
    report = aws_rules.evaluate(doc)
    findings = report.for_rule(rule_id)  # ... and the broken one fails, saying why and where it is written
    assert findings, f"{rule_id} let the broken plan through:\n{report}"
    (rule,) = [r for r in aws_rules.RULES if r.id == rule_id]
    assert any(says in f.message for f in findings), "\n".join(map(str, findings))
    assert all(rule.source in str(f) and f.address in str(f) for f in findings)


def test_a_model_from_the_version_make_deploy_model_names_passes(plans):
    """SM-MODEL-FROM-PACKAGE accepts what the handoff writes (ml.sagemaker.handoff.MODEL_PACKAGE_ARN)."""
    from ml.sagemaker.handoff import MODEL_PACKAGE_ARN

    arn = f"{PACKAGE_ARN}/12"
    assert MODEL_PACKAGE_ARN.match(arn)
    doc = copy.deepcopy(plans["serverless"])
    setting(MODEL, "primary_container", 0, "model_package_name", value=arn)(doc)
    assert not aws_rules.evaluate(doc).for_rule("SM-MODEL-FROM-PACKAGE")


# -- the rules' own constants -------------------------------------------------------------


def test_retention_values_come_from_the_service_model():
    days = aws_rules.retention_days()
    assert days[:5] == (1, 3, 5, 7, 14) and days[-1] == 3653 and 10 not in days


def test_alarm_limits_and_sns_protocols_come_from_the_service_model():
    from tests.terraform.aws_rules import cloudwatch, sns

    assert cloudwatch.alarm_period_rules() == {
        "alarm_periods": (10, 20, 30),
        "metric_periods": (1, 5, 10, 20, 30, 60),
        "longest": 604800,
        "sub_hour": 3600,
        "sub_hour_longest": 86400,
    }
    assert cloudwatch.treat_missing_data_values() == ("breaching", "notBreaching", "ignore", "missing")
    assert {"email", "https", "sqs", "lambda"} <= set(sns.subscription_protocols())


def test_terraform_validation_accepts_the_service_models_retention_values():
    """variables.tf lists the same values CloudWatch Logs documents."""
    import re

    text = (TF_DIR / "variables.tf").read_text()
    block = text[text.index('variable "log_retention_days"') :]
    listed = re.search(r"contains\(\[([0-9, ]+)\]", block)
    assert listed and tuple(int(n) for n in listed.group(1).split(",")) == aws_rules.retention_days()


def test_invoke_budget_is_the_handlers():
    import importlib
    import sys

    sys.path.insert(0, str(TF_DIR.parent / "functions" / "invoker"))
    try:
        handler = importlib.import_module("handler")
    finally:
        sys.path.pop(0)
    import dataclasses

    blank = {f.name: None for f in dataclasses.fields(handler.Settings)}
    for connect, read, attempts in [(2, 10, 2), (1, 5, 3), (2, 5, 1), (3, 7, 4)]:
        cfg = handler.Settings(**{**blank, "connect_timeout": connect, "read_timeout": read, "max_attempts": attempts})
        assert handler.invoke_budget_s(cfg) == aws_rules.invoke_budget_s(connect, read, attempts)
