"""The expression evaluator, and who the deploy job's `if:` lets deploy: a push run of ci on
this repository's main (opted in), or a manual run; never a fork's run or a pull request's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows.expressions import UnsupportedExpression, evaluate, substitute
from tests.workflows.runner import job_should_run
from tests.workflows.sources import current, pre_fix

REPO = "team/churn"
CONTEXTS: dict[str, Any] = {
    "vars": {"NAME": "", "DEPLOY_ON_PUSH": "true"},
    "inputs": {"tune": True},
    "env": {"REGION": "eu-west-1"},
    "github": {"run_id": 7, "repository": REPO, "event": {"workflow_run": {"head_repository": {"full_name": REPO}}}},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("vars.NAME || 'churn'", "churn"),  # '' is falsy: the default wins
        ("vars.MISSING || 'churn'", "churn"),  # a missing property is null
        ("inputs.tune && '1' || ''", "1"),
        ("inputs.other && '1' || ''", ""),
        ("env.REGION", "eu-west-1"),
        ("vars.DEPLOY_ON_PUSH == 'TRUE'", True),  # string equality ignores case
        ("github.run_id == '7'", True),  # mixed types compare as numbers
        ("!(vars.NAME == '') || false", False),
        ("github.event.workflow_run.head_repository.full_name == github.repository", True),
        ("github.event.nothing.here", None),
        ("'it''s'", "it's"),
    ],
)
def test_expressions_follow_github_rules(expression: str, expected: Any):
    assert evaluate(expression, CONTEXTS) == expected


def test_substitute_writes_values_as_github_does():
    text = "deploy-${{ github.run_id }} ${{ vars.NAME || 'churn' }} ${{ inputs.tune }} [${{ vars.X }}]"
    assert substitute(text, CONTEXTS) == "deploy-7 churn true []"


@pytest.mark.parametrize(
    "expression",
    ["secrets.TOKEN", "contains(github.ref, 'main')", "success()", "github.run_id > 1", "vars['NAME']", "(vars.NAME"],
)
def test_unsupported_expressions_raise(expression: str):
    with pytest.raises(UnsupportedExpression):
        evaluate(expression, CONTEXTS)


def deploy_contexts(**run: Any) -> dict[str, Any]:
    """A workflow_run event from ci: by default a green push run on this repository's main."""
    workflow_run = {
        "conclusion": "success",
        "event": "push",
        "head_branch": "main",
        "head_repository": {"full_name": REPO},
        "head_sha": "ab" * 20,
        **run,
    }
    return {
        "vars": {"DEPLOY_ON_PUSH": "true"},
        "inputs": {},
        "github": {"event_name": "workflow_run", "repository": REPO, "event": {"workflow_run": workflow_run}},
    }


def deploys(contexts: dict[str, Any], text: str | None = None) -> bool:
    return job_should_run(text or current("deploy.yml"), "deploy", contexts)


def test_green_push_run_on_this_repository_deploys():
    assert deploys(deploy_contexts())


@pytest.mark.parametrize(
    "run",
    [
        {"head_repository": {"full_name": "mallory/churn"}},  # a fork's main: same branch name
        {"event": "pull_request"},  # ci on a pull request from a branch named main
        {"conclusion": "failure"},
        {"conclusion": "cancelled"},
    ],
    ids=["fork", "pull_request", "failed", "cancelled"],
)
def test_other_runs_do_not_deploy(run: dict[str, Any]):
    assert not deploys(deploy_contexts(**run))


def test_push_runs_deploy_only_when_opted_in():
    contexts = deploy_contexts()
    assert not deploys({**contexts, "vars": {}})
    assert not deploys({**contexts, "vars": {"DEPLOY_ON_PUSH": "false"}})


def test_manual_run_deploys():
    github = {"event_name": "workflow_dispatch", "repository": REPO, "event": {}}
    assert deploys({"vars": {}, "inputs": {"tune": False}, "github": github})


def test_pre_fix_condition_deployed_a_fork():
    """The fork test can fail: the condition before the fix let a fork's green run deploy."""
    fork = deploy_contexts(head_repository={"full_name": "mallory/churn"}, event="pull_request")
    assert deploys(fork, text=pre_fix("deploy.yml"))
