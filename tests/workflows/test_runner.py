"""deploy.yml and destroy.yml run step by step as GitHub runs them (tests/workflows/runner.py),
with `make` stubbed: a failing make must fail the job, and the artifact upload must still run."""

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
DEPLOY_CONTEXTS: dict[str, Any] = {"vars": VARS, "inputs": {"tune": False}, "github": {**GITHUB, "event": {}}}
DESTROY_CONTEXTS: dict[str, Any] = {**DEPLOY_CONTEXTS, "inputs": {"confirm": "churn"}}
DEPLOY_CALLS = ["init", "deploy AUTO_APPROVE=1", "plan CHECK=1", "smoke"]
DESTROY_CALLS = ["install init", "destroy AUTO_APPROVE=1"]


def _dump(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, out)
    return out.getvalue()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return checkout(ROOT, tmp_path / "workspace")


def deploy(workspace: Path, statuses: dict[str, int] | None = None, text: str | None = None) -> JobResult:
    text = text if text is not None else current("deploy.yml")
    return run_job(text, "deploy", workspace, DEPLOY_CONTEXTS, statuses)


def test_deploy_job_runs_every_make_in_order(workspace: Path):
    result = deploy(workspace)
    assert result.success, [(s.name, s.outcome, s.output) for s in result.steps]
    assert result.make_calls == DEPLOY_CALLS
    # Every run step ran under pipefail, and tee got the stub's output.
    assert all("pipefail" in s.argv for s in result.steps if s.run), [s.argv for s in result.steps]
    assert "stub make deploy AUTO_APPROVE=1" in (workspace / "build" / "deploy.log").read_text()
    assert "stub make plan CHECK=1" in (workspace / "build" / "plan.txt").read_text()
    creds = result.step("aws-actions/configure-aws-credentials")
    assert creds.with_["role-session-name"] == "deploy-4242" and creds.with_["aws-region"] == "us-east-1"
    assert creds.with_["role-duration-seconds"] == "7200"
    assert result.step("actions/checkout").with_["ref"] == GITHUB["sha"], "dispatch deploys its own commit"
    upload = result.step("actions/upload-artifact")
    assert upload.outcome == "success" and upload.with_["name"] == "deploy-4242"


def test_destroy_job_runs_every_make_in_order(workspace: Path):
    result = run_job(current("destroy.yml"), "destroy", workspace, DESTROY_CONTEXTS)
    assert result.success, [(s.name, s.outcome, s.output) for s in result.steps]
    assert result.make_calls == DESTROY_CALLS
    assert "stub make destroy AUTO_APPROVE=1" in (workspace / "build" / "destroy.log").read_text()
    assert result.step("actions/upload-artifact").outcome == "success"


def test_failing_deploy_behind_tee_fails_the_job_and_still_uploads(workspace: Path):
    result = deploy(workspace, {"deploy": 1})
    assert not result.success
    assert result.step("make deploy AUTO_APPROVE=1").outcome == "failure"
    assert result.make_calls == DEPLOY_CALLS[:2], "nothing runs make after the failed deploy"
    assert result.step("make plan").outcome == "skipped" and result.step("make smoke").outcome == "skipped"
    assert result.step("actions/upload-artifact").outcome == "success", "the log is kept (if: always())"
    assert "deploy exits 1" in (workspace / "build" / "deploy.log").read_text()


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
    assert deploy(workspace, {"deploy": 1}, text=text).success
    assert not deploy(workspace, {"deploy": 1}).success


@pytest.mark.parametrize(("confirm", "passes"), [("churn", True), ("chrun", False), ("", False)])
def test_destroy_confirmation_job(workspace: Path, confirm: str, passes: bool):
    contexts = {**DESTROY_CONTEXTS, "inputs": {"confirm": confirm}}
    assert run_job(current("destroy.yml"), "confirm", workspace, contexts).success is passes


def test_missing_repository_variable_stops_before_any_make(workspace: Path):
    contexts = {**DEPLOY_CONTEXTS, "vars": {"STATE_BUCKET": VARS["STATE_BUCKET"]}}
    result = run_job(current("deploy.yml"), "deploy", workspace, contexts)
    assert not result.success and result.make_calls == []
    assert "set the repository variable AWS_ROLE_ARN" in result.steps[0].output


@pytest.mark.parametrize(("inputs", "tune"), [({"tune": True}, "1"), ({"tune": False}, ""), ({}, "")])
def test_tune_input_becomes_make_variable(inputs: dict[str, Any], tune: str):
    doc = load_workflow(current("deploy.yml"))
    env = job_env(doc, doc["jobs"]["deploy"], {**DEPLOY_CONTEXTS, "inputs": inputs})
    assert env["TUNE"] == tune
    assert env["REGION"] == "us-east-1" and env["NAME"] == "churn"


def test_shells_as_github_runs_them(tmp_path: Path):
    script = tmp_path / "s.sh"
    assert shell_command("bash", script) == ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
    assert shell_command("bash -e {0}", script) == ["bash", "-e", str(script)]
    with pytest.raises(ValueError, match="not one this runner models"):
        shell_command("pwsh", script)
