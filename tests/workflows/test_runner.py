"""deploy.yml, train.yml and destroy.yml run step by step as GitHub runs them
(tests/workflows/runner.py), with `make` stubbed: a failing make must fail the job, the artifact
upload must still run, deploy deploys a registry version and train never deploys."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.workflows.runner import JobResult, checkout, job_env, load_workflow, run_job, shell_command
from tests.workflows.sources import ROOT, current, pre_fix

VARS = {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/github-deploy-churn", "STATE_BUCKET": "tfstate-churn-1a2b"}
GITHUB = {"event_name": "workflow_dispatch", "run_id": "4242", "sha": "c0ffee" * 6 + "c0ff", "repository": "team/churn"}
# GitHub fills a dispatch's inputs with their defaults: model_version "" is the latest Approved.
DEPLOY_CONTEXTS: dict[str, Any] = {"vars": VARS, "inputs": {"model_version": ""}, "github": {**GITHUB, "event": {}}}
DESTROY_CONTEXTS: dict[str, Any] = {**DEPLOY_CONTEXTS, "inputs": {"confirm": "churn"}}
TRAIN_CONTEXTS: dict[str, Any] = {**DEPLOY_CONTEXTS, "inputs": {"tune": False, "preset": "default"}}
DEPLOY_CALLS = ["init", "deploy-model VERSION= AUTO_APPROVE=1", "plan CHECK=1", "smoke"]
DESTROY_CALLS = ["install init", "destroy AUTO_APPROVE=1"]
TRAIN_CALLS = ["init", "apply-base AUTO_APPROVE=1", "train BACKEND=sagemaker PRESET=default TUNE="]
# What make train prints last (ml/sagemaker/training.py): the version is the ARN's last part.
REGISTERED = {
    "train": "registry  arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/7 "
    "(PendingManualApproval: make approve VERSION=7 NOTE=...)"
}
LISTING = "version  status                 auc    per 1,000\n7        PendingManualApproval  0.861  0.02"


def _dump(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, out)
    return out.getvalue()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return checkout(ROOT, tmp_path / "workspace")


def deploy(
    workspace: Path,
    statuses: dict[str, int] | None = None,
    text: str | None = None,
    contexts: dict[str, Any] | None = None,
) -> JobResult:
    text = text if text is not None else current("deploy.yml")
    return run_job(text, "deploy", workspace, contexts or DEPLOY_CONTEXTS, statuses)


def train(
    workspace: Path,
    statuses: dict[str, int] | None = None,
    outputs: dict[str, str] | None = None,
    contexts: dict[str, Any] | None = None,
    text: str | None = None,
) -> JobResult:
    text = text if text is not None else current("train.yml")
    outputs = REGISTERED if outputs is None else outputs
    return run_job(text, "train", workspace, contexts or TRAIN_CONTEXTS, statuses, outputs)


def stub_registry_cli(workspace: Path) -> Path:
    """The .venv that make train's `install` leaves: a python whose `-m ml registry … list`
    prints LISTING and records its arguments."""
    python = workspace / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    calls = workspace.parent / "python-calls.txt"
    python.write_text(f'#!/bin/bash\nprintf "%s\\n" "$*" >> {calls}\nprintf "%s\\n" "{LISTING}"\n')
    python.chmod(0o755)
    return calls


def test_deploy_job_runs_every_make_in_order(workspace: Path):
    result = deploy(workspace)
    assert result.success, [(s.name, s.outcome, s.output) for s in result.steps]
    assert result.make_calls == DEPLOY_CALLS
    # Every run step ran under pipefail, and tee got the stub's output.
    assert all("pipefail" in s.argv for s in result.steps if s.run), [s.argv for s in result.steps]
    assert "stub make deploy-model VERSION= AUTO_APPROVE=1" in (workspace / "build" / "deploy.log").read_text()
    assert "stub make plan CHECK=1" in (workspace / "build" / "plan.txt").read_text()
    creds = result.step("aws-actions/configure-aws-credentials")
    assert creds.with_["role-session-name"] == "deploy-4242" and creds.with_["aws-region"] == "us-east-1"
    assert creds.with_["role-duration-seconds"] == "7200"
    assert result.step("actions/checkout").with_["ref"] == GITHUB["sha"], "dispatch deploys its own commit"
    upload = result.step("actions/upload-artifact")
    assert upload.outcome == "success" and upload.with_["name"] == "deploy-4242"
    assert "build/model/metrics.json" in upload.with_["path"].split()


@pytest.mark.parametrize("version", ["1", "3", "12"])
def test_deploy_passes_model_version_to_make(workspace: Path, version: str):
    result = deploy(workspace, contexts={**DEPLOY_CONTEXTS, "inputs": {"model_version": version}})
    assert result.success, [(s.name, s.outcome, s.output) for s in result.steps]
    assert result.make_calls == ["init", f"deploy-model VERSION={version} AUTO_APPROVE=1", "plan CHECK=1", "smoke"]


def test_deploy_after_ci_deploys_the_latest_approved_version(workspace: Path):
    """workflow_run has no inputs: VERSION is empty, deploy-model takes the latest Approved."""
    event = {"workflow_run": {"head_sha": "beef" * 10, "conclusion": "success", "event": "push"}}
    contexts = {**DEPLOY_CONTEXTS, "inputs": {}, "github": {**GITHUB, "event_name": "workflow_run", "event": event}}
    result = deploy(workspace, contexts=contexts)
    assert result.success and result.make_calls == DEPLOY_CALLS
    assert result.step("actions/checkout").with_["ref"] == "beef" * 10, "the commit ci tested"


@pytest.mark.parametrize(
    "version",
    ["0", "-1", "3.0", "03", " 3", "3 ", "v3", "latest", "3 AUTO_APPROVE=", "$(touch pwned)", "`touch pwned`"],
)
def test_malformed_model_version_fails_before_any_make(workspace: Path, version: str):
    result = deploy(workspace, contexts={**DEPLOY_CONTEXTS, "inputs": {"model_version": version}})
    assert not result.success and result.make_calls == []
    check = result.step("model_version is empty or a positive integer")
    assert check.outcome == "failure" and "::error::model_version" in check.output, check.output
    assert result.step("make deploy-model").outcome == "skipped"
    assert not (workspace / "pwned").exists(), "the input ran as shell code"


def test_destroy_job_runs_every_make_in_order(workspace: Path):
    result = run_job(current("destroy.yml"), "destroy", workspace, DESTROY_CONTEXTS)
    assert result.success, [(s.name, s.outcome, s.output) for s in result.steps]
    assert result.make_calls == DESTROY_CALLS
    assert "stub make destroy AUTO_APPROVE=1" in (workspace / "build" / "destroy.log").read_text()
    assert result.step("actions/upload-artifact").outcome == "success"


def test_failing_deploy_behind_tee_fails_the_job_and_still_uploads(workspace: Path):
    # deploy-model fails this way when the version is not Approved.
    result = deploy(workspace, {"deploy-model": 1})
    assert not result.success
    assert result.step("make deploy-model").outcome == "failure"
    assert result.make_calls == DEPLOY_CALLS[:2], "nothing runs make after the failed deploy"
    assert result.step("make plan").outcome == "skipped" and result.step("make smoke").outcome == "skipped"
    assert result.step("actions/upload-artifact").outcome == "success", "the log is kept (if: always())"
    assert "deploy-model exits 1" in (workspace / "build" / "deploy.log").read_text()


def test_failing_destroy_behind_tee_fails_the_job(workspace: Path):
    result = run_job(current("destroy.yml"), "destroy", workspace, DESTROY_CONTEXTS, {"destroy": 1})
    assert not result.success
    assert result.step("actions/upload-artifact").outcome == "success"


def test_plan_with_changes_after_the_deploy_fails_the_job(workspace: Path):
    # terraform plan -detailed-exitcode exits 2 when there are changes.
    result = deploy(workspace, {"plan": 2})
    assert not result.success
    assert result.step("make plan").outcome == "failure"
    assert result.make_calls == DEPLOY_CALLS[:3]
    assert result.step("make smoke").outcome == "skipped"
    assert result.step("actions/upload-artifact").outcome == "success"


def test_the_pre_fix_deploy_yml_shows_a_failed_deploy_green(workspace: Path):
    """The test above can fail: without pipefail the same failing make leaves the job green."""
    result = deploy(workspace, {"deploy": 1}, text=pre_fix("deploy.yml"))
    assert result.success, "bash -e takes tee's status: the failed deploy passes"
    assert result.step("make deploy AUTO_APPROVE=1").outcome == "success"
    assert result.make_calls == ["init", "deploy AUTO_APPROVE=1", "plan", "smoke"]


def test_without_the_shell_default_a_failed_deploy_shows_green(workspace: Path):
    """The same proof without git history: today's file minus `defaults` passes the failure."""
    doc = load_workflow(current("deploy.yml"))
    del doc["defaults"]
    text = _dump(doc)
    assert deploy(workspace, {"deploy-model": 1}, text=text).success
    assert not deploy(workspace, {"deploy-model": 1}).success


@pytest.mark.parametrize(("confirm", "passes"), [("churn", True), ("chrun", False), ("", False)])
def test_destroy_confirmation_job(workspace: Path, confirm: str, passes: bool):
    contexts = {**DESTROY_CONTEXTS, "inputs": {"confirm": confirm}}
    assert run_job(current("destroy.yml"), "confirm", workspace, contexts).success is passes


@pytest.mark.parametrize(
    ("name", "job_id", "contexts"),
    [("deploy.yml", "deploy", DEPLOY_CONTEXTS), ("train.yml", "train", TRAIN_CONTEXTS)],
)
@pytest.mark.parametrize("missing", ["AWS_ROLE_ARN", "STATE_BUCKET"])
def test_missing_repository_variable_stops_before_any_make(
    workspace: Path, name: str, job_id: str, contexts: dict[str, Any], missing: str
):
    contexts = {**contexts, "vars": {k: v for k, v in VARS.items() if k != missing}}
    result = run_job(current(name), job_id, workspace, contexts)
    assert not result.success and result.make_calls == []
    assert f"set the repository variable {missing}" in result.steps[0].output


def test_deploy_job_env():
    doc = load_workflow(current("deploy.yml"))
    env = job_env(doc, doc["jobs"]["deploy"], {**DEPLOY_CONTEXTS, "inputs": {"model_version": "4"}})
    assert env["MODEL_VERSION"] == "4" and "TUNE" not in env, "deploy no longer trains"
    assert env["REGION"] == "us-east-1" and env["NAME"] == "churn" and env["AUTO_APPROVE"] == "1"


def test_train_job_trains_registers_and_never_deploys(workspace: Path):
    python_calls = stub_registry_cli(workspace)
    result = train(workspace)
    assert result.success, [(s.name, s.outcome, s.output) for s in result.steps]
    assert result.make_calls == TRAIN_CALLS
    assert not any(c.split()[0] in {"apply", "deploy", "deploy-model", "approve"} for c in result.make_calls)
    assert all("pipefail" in s.argv for s in result.steps if s.run), [s.argv for s in result.steps]
    assert "stub make train BACKEND=sagemaker" in (workspace / "build" / "train.log").read_text()
    creds = result.step("aws-actions/configure-aws-credentials")
    assert creds.with_["role-session-name"] == "train-4242" and creds.with_["role-duration-seconds"] == "7200"
    upload = result.step("actions/upload-artifact")
    assert upload.outcome == "success" and upload.with_["name"] == "train-4242"
    assert set(upload.with_["path"].split()) == {"build/train.log", "build/model/metrics.json"}
    # The summary names the registered version, shows the registry and tells a person what next.
    assert "version 7 registered: PendingManualApproval" in result.summary, result.summary
    assert LISTING.splitlines()[1] in result.summary
    assert "python -m ml registry compare 7 <champion>" in result.summary
    assert 'make approve VERSION=7 NOTE="' in result.summary
    assert "deploy** workflow with model_version `7`" in result.summary
    assert python_calls.read_text() == "-m ml registry --group churn --region us-east-1 list\n"


@pytest.mark.parametrize(
    ("inputs", "call"),
    [
        ({"tune": True, "preset": "notebook"}, "train BACKEND=sagemaker PRESET=notebook TUNE=1"),
        ({"tune": False, "preset": "notebook"}, "train BACKEND=sagemaker PRESET=notebook TUNE="),
        ({"tune": True, "preset": "default"}, "train BACKEND=sagemaker PRESET=default TUNE=1"),
    ],
)
def test_train_inputs_become_make_variables(workspace: Path, inputs: dict[str, Any], call: str):
    result = train(workspace, contexts={**TRAIN_CONTEXTS, "inputs": inputs})
    assert result.success and result.make_calls[2] == call


def test_failing_train_behind_tee_fails_the_job_and_still_uploads(workspace: Path):
    result = train(workspace, {"train": 1}, outputs={})
    assert not result.success
    assert result.make_calls == TRAIN_CALLS, "nothing after the failed train"
    assert result.step("make train BACKEND").outcome == "failure"
    assert result.step("Registry listing").outcome == "skipped" and result.summary == ""
    assert result.step("actions/upload-artifact").outcome == "success", "the log is kept (if: always())"
    assert "train exits 1" in (workspace / "build" / "train.log").read_text()


def test_failing_apply_base_stops_before_training(workspace: Path):
    result = train(workspace, {"apply-base": 1})
    assert not result.success and result.make_calls == TRAIN_CALLS[:2]


def test_train_without_a_registered_version_fails(workspace: Path):
    """make train exits 0 but printed no registry line: nothing to approve, the job is red."""
    stub_registry_cli(workspace)
    result = train(workspace, outputs={})
    assert not result.success
    step = result.step("Registry listing")
    assert step.outcome == "failure" and "::error::make train printed no 'registry" in step.output
    assert result.step("actions/upload-artifact").outcome == "success"


@pytest.mark.parametrize(
    "line",
    [
        "registry  arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-eu/12 (PendingManualApproval)",
        "registry  arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-eu/12 "
        "(PendingManualApproval: make approve VERSION=12 NOTE=...)",
    ],
    ids=["status", "status-and-hint"],
)
def test_the_version_is_read_from_make_trains_registry_line(workspace: Path, line: str):
    """Both forms make train has printed: the version number is the ARN's last part."""
    result = train(workspace, outputs={"train": f"training  done\n{line}\nbundle    build/model"})
    assert result.success and "## Model version 12 registered" in result.summary, result.summary


def test_a_failing_registry_listing_only_warns(workspace: Path):
    """The version is registered: the table is information, its absence (no .venv) a warning."""
    result = train(workspace)
    assert result.success
    assert "::warning::the registry listing failed" in result.step("Registry listing").output
    assert "version 7 registered" in result.summary and "make approve VERSION=7" in result.summary


def test_shells_as_github_runs_them(tmp_path: Path):
    script = tmp_path / "s.sh"
    assert shell_command("bash", script) == ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
    assert shell_command("bash -e {0}", script) == ["bash", "-e", str(script)]
    with pytest.raises(ValueError, match="not one this runner models"):
        shell_command("pwsh", script)
