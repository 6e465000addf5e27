"""The first `make deploy`, rehearsed: the Makefile's own targets, in docs/deploying.md's and the
workflows' order, from clean checkouts, against the AWS stand-in (moto plus a training container,
tests/rehearsal/). tests/rehearsal/conftest.py runs the path; this file checks each step.

Every step runs as a user or a workflow job runs it: `make TARGET` in the checkout, with
credentials, a region, NAME and an endpoint in the environment (Terraform's aws_endpoint_url
variable as TF_VAR_…), AUTO_APPROVE=1 as the deploy workflow sets it, and DATA left at its
default (the lab's URL, synthetic when offline, as here).

What it cannot check: moto cannot run the Lambda (it needs Docker) or route the HTTP API to it,
so `make deploy` runs with SMOKE=0, and `make smoke` runs on its own and must fail only on
reaching the API (what it needs before that, the api_url output and the bundle's example, must
be there). `make evaluate-endpoint` needs a live endpoint for the same reason.
"""

from __future__ import annotations

import json

import pytest

from tests.rehearsal.conftest import (
    APPLY_BASE,
    APPROVE_V1,
    APPROVE_V2,
    APPROVE_WORSE,
    COMPARE,
    DEPLOY_MODEL,
    DEPLOY_V2,
    LAPTOP_DEPLOY,
    PUBLISH_WORSE,
    ROLLBACK,
    TRAIN,
    TRAIN_V2,
    Rehearsal,
)
from tests.rehearsal.conftest import TEAM_NAME as NAME
from tests.rehearsal.harness import Step

# One xdist group with the deploy-role check, which reads the same rehearsal.
pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.xdist_group("deploy-rehearsal")]

MAKE_DEPLOY_MODEL = "make " + " ".join(DEPLOY_MODEL)  # nth: 0 version 1, 1 version 2, 2 realtime
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def package(version: int) -> str:
    return f"{ACCOUNT_ARN}:model-package/{NAME}/{version}"


def make_step(rehearsal: Rehearsal, args: tuple[str, ...], nth: int = 0) -> Step:
    return rehearsal.step("make " + " ".join(args), nth=nth)


def ok(step: Step) -> Step:
    assert step.returncode == 0, f"`{step.command}` exited {step.returncode}:\n{step.output[-6000:]}"
    return step


def nothing_left(inventory: dict[str, list[str]]) -> dict[str, list[str]]:
    """What is left, training jobs aside (SageMaker keeps their records; they cost nothing)."""
    return {k: v for k, v in inventory.items() if v and k != "training_jobs"}


def test_first_deploy_from_a_clean_checkout(rehearsal: Rehearsal):
    assert rehearsal.snapshots["clean checkout has build/"] is False
    ok(rehearsal.step("make init"))
    for args in (APPLY_BASE, TRAIN, APPROVE_V1):
        ok(make_step(rehearsal, args))
    ok(rehearsal.step(MAKE_DEPLOY_MODEL))
    inv = rehearsal.snapshots["deploy"]
    assert inv["endpoints"] == [f"{NAME}-serverless"]
    assert inv["functions"] == [f"{NAME}-invoker"] and inv["apis"] == [f"{NAME}-api"]
    assert inv["roles"] == [f"{NAME}-invoker-lambda", f"{NAME}-sagemaker"]
    assert len(inv["buckets"]) == 2 and len(inv["distributions"]) == 1
    assert inv["training_jobs"] and all(j.startswith(f"{NAME}-xgb-") for j in inv["training_jobs"])


def test_stage_one_creates_the_role_training_needs(rehearsal: Rehearsal):
    """make apply-base must leave sagemaker_role_arn set: make train reads it next."""
    stage1 = make_step(rehearsal, APPLY_BASE).output
    assert "sagemaker_role_arn = " in stage1, stage1[-3000:]
    assert "module.endpoint.aws_iam_role.this: Creation complete" in stage1


def test_smoke_fails_only_on_reaching_the_api(rehearsal: Rehearsal):
    step = rehearsal.step("make smoke")
    outputs = rehearsal.snapshots["outputs"]
    api_url = outputs["api_url"]  # the page's own origin: the smoke goes through CloudFront's /predict
    assert api_url == outputs["website_url"] and api_url.endswith(".cloudfront.net")
    assert step.returncode != 0
    assert f"{api_url}/predict" in step.output, step.output[-3000:]


def test_the_first_version_is_trained_pending_approved_by_a_person_then_deployed(rehearsal: Rehearsal):
    assert f"registry  {package(1)} (PendingManualApproval" in make_step(rehearsal, TRAIN).output
    approved = make_step(rehearsal, APPROVE_V1).output
    assert "no approved version yet: version 1 becomes the first champion" in approved
    assert "version 1 approved: the first model" in approved
    deployed = rehearsal.step(MAKE_DEPLOY_MODEL).output
    assert "version   1 (Approved " in deployed and "from the registry" in deployed, deployed[-3000:]
    served = rehearsal.snapshots["v1 serving"]
    assert served["package"] == package(1) and served["lambda"]["MODEL_VERSION"] == "1"


def test_versions_2_and_3_are_registered_pending_approval(rehearsal: Rehearsal):
    assert f"registry  {package(2)} (PendingManualApproval" in ok(make_step(rehearsal, TRAIN_V2)).output
    assert f"registry  {package(3)} (PendingManualApproval" in ok(make_step(rehearsal, PUBLISH_WORSE)).output
    assert rehearsal.snapshots["registered"] == {
        "1": "Approved",
        "2": "PendingManualApproval",
        "3": "PendingManualApproval",
    }


def test_compare_prints_both_versions_on_the_newer_ones_rows(rehearsal: Rehearsal):
    out = ok(rehearsal.step(COMPARE)).output
    assert "on version 3's test split" in out, out
    for v in (3, 2):
        assert f"version {v}: $" in out and "per 1,000 customers at cutoff" in out, out


def test_approve_refuses_the_worse_challenger_and_prints_both_figures(rehearsal: Rehearsal):
    refused = make_step(rehearsal, APPROVE_WORSE)
    assert refused.returncode != 0
    assert "refused: version 3 costs $" in refused.output and "against the champion (version 1)" in refused.output
    assert "version 3: $" in refused.output and "version 1: $" in refused.output, refused.output[-2000:]
    approved = ok(make_step(rehearsal, APPROVE_V2)).output
    assert "version 2: $" in approved and "version 1: $" in approved
    assert 'version 2 approved: the lab\'s "notebook" recipe' in approved, "the note, quotes and all"


def test_deploy_model_updates_the_endpoint_in_place_and_the_lambda_follows(rehearsal: Rehearsal):
    ok(rehearsal.step(MAKE_DEPLOY_MODEL, nth=1))
    v1, v2, tfvars = (rehearsal.snapshots[k] for k in ("v1 serving", "v2 serving", "v2 tfvars"))
    assert v2["endpoint"] == v1["endpoint"] == f"{NAME}-serverless", "the same endpoint"
    assert v2["config"] != v1["config"] and v2["model"] != v1["model"], "a new configuration and model"
    assert v2["package"] == package(2) == tfvars["model_package_arn"]
    assert v2["lambda"]["MODEL_VERSION"] == "2" and v2["lambda"]["MODEL_APPROVED_AT"] == tfvars["model_approved_at"]
    assert float(v2["lambda"]["DECISION_CUTOFF"]) == tfvars["decision_cutoff"], "the Lambda's cutoff follows"
    answer = rehearsal.snapshots["v2 answer"]
    assert answer["status"] == 200, answer
    assert answer["body"]["model"] == {"version": "2", "approved_at": tfvars["model_approved_at"]}
    assert answer["body"]["cutoff"] == tfvars["decision_cutoff"]
    requests = rehearsal.requests()
    updates = [json.loads(e["body"]) for e in requests if e.get("target") == "SageMaker.UpdateEndpoint"]
    assert {"EndpointName": v1["endpoint"], "EndpointConfigName": v2["config"]}.items() <= updates[0].items()
    created = [json.loads(e["body"])["EndpointName"] for e in requests if e.get("target") == "SageMaker.CreateEndpoint"]
    assert created.count(v1["endpoint"]) == 1, "updated in place, never deleted and created again"
    assert rehearsal.snapshots["v2 inventory"]["endpoint_configs"] == [v2["config"]], "the old configuration goes after"


def test_rollback_serves_version_1_again_and_rejects_version_2(rehearsal: Rehearsal):
    out = ok(make_step(rehearsal, ROLLBACK)).output
    assert f"rollback  {NAME}-serverless serves version 2: back to version 1" in out, out[-3000:]
    back, v1 = rehearsal.snapshots["rolled back"], rehearsal.snapshots["v1 serving"]
    assert back["endpoint"] == v1["endpoint"] and back["package"] == package(1)
    assert (
        back["lambda"]["MODEL_VERSION"] == "1" and back["lambda"]["DECISION_CUTOFF"] == v1["lambda"]["DECISION_CUTOFF"]
    )
    assert rehearsal.snapshots["after rollback"] == {"1": "Approved", "2": "Rejected", "3": "PendingManualApproval"}
    # The deployed function, run with its code and environment against the model the endpoint serves.
    answer, before = rehearsal.snapshots["answer after rollback"], rehearsal.snapshots["v2 answer"]
    assert answer["status"] == 200, answer
    assert answer["body"]["model"]["version"] == "1", "the response says version 1 answered"
    assert answer["body"]["model"]["approved_at"] == back["lambda"]["MODEL_APPROVED_AT"]
    assert answer["body"]["cutoff"] == float(v1["lambda"]["DECISION_CUTOFF"]) != before["body"]["cutoff"]


def test_realtime_deploy_model_replaces_the_endpoint_without_training(rehearsal: Rehearsal):
    ok(rehearsal.step(MAKE_DEPLOY_MODEL, nth=2))
    first_inv, inv = rehearsal.snapshots["deploy"], rehearsal.snapshots["second deploy"]
    assert inv["endpoints"] == [f"{NAME}-rt-m5-large"], "the serverless endpoint is replaced, not kept"
    assert inv["scalable_targets"] == [f"endpoint/{NAME}-rt-m5-large/variant/AllTraffic"]
    assert len(inv["models"]) == 1 and inv["models"] != first_inv["models"], "a new model"
    assert len(inv["training_jobs"]) == 2, "the two make train runs trained; deploy-model and rollback never do"
    first, now = rehearsal.snapshots["outputs"], rehearsal.snapshots["second outputs"]
    assert now["endpoint_name"] == f"{NAME}-rt-m5-large" != first["endpoint_name"]
    assert now["lambda_name"] == first["lambda_name"] and now["api_url"] == first["api_url"]
    serving = rehearsal.snapshots["realtime serving"]
    assert serving["package"] == package(1) and serving["lambda"]["ENDPOINT_NAME"] == now["endpoint_name"]


def test_an_update_sagemaker_rolled_back_fails_the_deploy_and_keeps_the_old_configuration(rehearsal: Rehearsal):
    step = make_step(rehearsal, DEPLOY_V2)
    assert step.returncode != 0
    flat = " ".join(step.output.split())
    before = rehearsal.snapshots["realtime serving"]
    after = rehearsal.snapshots["after the rolled-back update"]
    assert "Resource postcondition failed" in flat, "the apply itself fails, before the old configuration goes"
    endpoint, config = before["endpoint"], before["config"]
    rolled = f"rollout check FAILED: SageMaker rolled endpoint {endpoint} back to configuration {config}"
    assert rolled in step.output, step.output[-4000:]
    assert f"The configuration it runs, {before['config']}, still exists" in step.output
    assert after["endpoint"] == before["endpoint"] and after["config"] == before["config"]
    assert after["package"] == package(1), "version 1 still answers"
    inv = rehearsal.snapshots["rolled-back inventory"]
    assert before["config"] in inv["endpoint_configs"] and before["model"] in inv["models"], "kept"


def test_a_laptops_make_deploy_trains_approves_and_deploys_in_one_command(rehearsal: Rehearsal):
    """After the rolled-back update: make deploy's own update sticks, and the configurations kept go."""
    out = ok(make_step(rehearsal, LAPTOP_DEPLOY)).output
    assert f"registry  {package(4)} (PendingManualApproval" in out, out[-3000:]
    assert "make deploy approves the version it trained" in out
    assert "version 4 approved: make deploy: trained, approved and deployed in one command" in out
    served, inv = rehearsal.snapshots["laptop deploy"], rehearsal.snapshots["laptop inventory"]
    assert served["package"] == package(4) and served["lambda"]["MODEL_VERSION"] == "4"
    assert inv["endpoint_configs"] == [served["config"]] and inv["models"] == [served["model"]]


def test_realtime_deploy_is_guarded_and_each_apply_checked(rehearsal: Rehearsal):
    """The realtime endpoint carries the guardrails (serverless ones none); make apply's rollout check
    ran after each deploy's apply and found the endpoint on the configuration Terraform applied."""
    created = [json.loads(e["body"]) for e in rehearsal.requests() if e.get("target") == "SageMaker.CreateEndpoint"]
    assert [c["EndpointName"] for c in created] == [f"{NAME}-serverless", f"{NAME}-rt-m5-large"]
    assert "DeploymentConfig" not in created[0], "guardrails apply to real-time and asynchronous endpoints only"
    guardrails = created[1]["DeploymentConfig"]
    routing = guardrails["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}, "one instance (the default): no canary"
    assert guardrails["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 600
    alarms = {a["AlarmName"] for a in guardrails["AutoRollbackConfiguration"]["Alarms"]}
    assert alarms == {f"{NAME}-endpoint-errors", f"{NAME}-api-5xx-rate"}
    assert alarms <= set(rehearsal.snapshots["second deploy"]["alarms"]), "the rollback alarms exist"
    for nth, outputs in ((0, "outputs"), (2, "second outputs")):
        out = rehearsal.snapshots[outputs]
        expected = (
            f"rollout check: Endpoint {out['endpoint_name']} runs configuration "
            f"{out['endpoint_configuration_name']}, as applied (InService)."
        )
        assert expected in rehearsal.step(MAKE_DEPLOY_MODEL, nth=nth).output
    v2 = rehearsal.snapshots["v2 serving"]
    assert (
        f"Endpoint {v2['endpoint']} runs configuration {v2['config']}, as applied"
        in rehearsal.step(MAKE_DEPLOY_MODEL, nth=1).output
    )


def test_plan_after_deploy_has_no_changes(rehearsal: Rehearsal):
    step = ok(rehearsal.step("make plan CHECK=1"))
    assert "-detailed-exitcode" in step.output and "No changes." in step.output


def test_destroy_leaves_nothing_and_the_state_in_the_bucket(rehearsal: Rehearsal):
    ok(rehearsal.step("make destroy AUTO_APPROVE=1"))
    assert nothing_left(rehearsal.snapshots["after destroy"]) == {}
    assert rehearsal.snapshots["state objects"] == [f"{NAME}/terraform.tfstate"], "the state, and no lock file"
    assert rehearsal.snapshots["local state files"] == []


def test_training_ran_in_the_container_stand_in(rehearsal: Rehearsal):
    """Each model was trained from its job's own channels with its own hyperparameters."""
    entries = rehearsal.requests()
    failed = [e for e in entries if "training_failed" in e]
    assert not failed, failed[0]["error"]
    trained = [e["trained"] for e in entries if "trained" in e]
    jobs = [json.loads(e["body"]) for e in entries if e.get("target") == "SageMaker.CreateTrainingJob"]
    assert len(jobs) == 3, "one job per make train (and make deploy's); no other step trains"
    assert sorted(j["TrainingJobName"] for j in jobs) == sorted(trained)
    for job in jobs:
        assert job["HyperParameters"]["num_round"] == "100" and job["HyperParameters"]["eta"] == "0.2"
        assert {c["ChannelName"] for c in job["InputDataConfig"]} == {"train", "validation"}
