"""Run one job of a GitHub workflow locally, the way a GitHub runner would, with `make` stubbed.

What is modelled, because the deploy, train and destroy jobs depend on it: the shell GitHub
picks for each `run:` step (step `shell:`, else `defaults.run.shell` of the job, else of the
workflow, else `bash -e {0}`, which has no pipefail), the job's and the step's `env`, `${{ }}`
expressions (tests/workflows/expressions.py), each step's `if:` (default `success()`), a
failing step failing the job, and $GITHUB_STEP_SUMMARY (one file for the job; GitHub gives
each step its own and shows them in order). `uses:` steps are recorded (their `with:`
evaluated), not run. Steps run in a workspace the caller prepares (see `checkout`), with a
stub `make` first on PATH that appends its arguments to a log, then prints the output and
exits with the status the test chose per target (the train job parses what `make train` prints).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.shared import copy_work_tree
from tests.workflows.expressions import (
    UnsupportedExpression,
    calls_status_function,
    evaluate,
    strip_template,
    substitute,
    to_text,
    truthy,
)

# docs.github.com, "Workflow syntax", jobs.<job_id>.steps[*].shell (Linux runners).
DEFAULT_SHELL = "bash -e {0}"
NAMED_SHELLS = {"bash": "bash --noprofile --norc -eo pipefail {0}", "sh": "sh -e {0}"}
STEP_KEYS = frozenset({"name", "id", "if", "run", "uses", "with", "env", "shell", "timeout-minutes"})
STEP_TIMEOUT_S = 60  # the stub make returns at once: a step that takes longer is a bug in the test
TARGET = re.compile(r"[A-Za-z0-9_.-]+")


def load_workflow(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe").load(text)
    return doc


def checkout(root: Path, dest: Path) -> Path:
    """What actions/checkout gives the job: the repository's tracked files, copied to dest."""
    return copy_work_tree(root, dest)


def write_stub_make(
    bin_dir: Path, log: Path, statuses: Mapping[str, int], outputs: Mapping[str, str] | None = None
) -> Path:
    """A `make` that records its argv (one line per call), prints it (so `| tee` has output),
    prints outputs[target] for each of its targets found there, and exits with
    statuses[target] for the first of its targets found there, else 0."""
    cases = []
    for target in {**(outputs or {}), **statuses}:
        if not TARGET.fullmatch(target):
            raise ValueError(f"not a make target: {target!r}")
        say = f"printf '%s\\n' {shlex.quote(outputs[target])}; " if outputs and target in outputs else ""
        code = statuses.get(target)
        status = f"echo 'stub make: {target} exits {int(code)}' >&2; exit {int(code)}" if code is not None else ":"
        cases.append(f"    {target}) {say}{status} ;;")
    script = "\n".join(
        [
            "#!/bin/bash",
            f'printf "%s\\n" "$*" >> {shlex.quote(str(log))}',
            'echo "stub make $*"',
            'for arg in "$@"; do',
            '  case "$arg" in',
            "    *=*) ;;",  # variable assignments are not targets
            *cases,
            "  esac",
            "done",
            "exit 0",
            "",
        ]
    )
    bin_dir.mkdir(parents=True, exist_ok=True)
    stub = bin_dir / "make"
    stub.write_text(script)
    stub.chmod(0o755)
    return stub


def shell_command(template: str, script: Path) -> list[str]:
    """The argv GitHub would run for a step: a named shell, or a custom template with {0}."""
    template = NAMED_SHELLS.get(template, template)
    if "{0}" not in template:
        raise UnsupportedExpression(f"shell {template!r} is not one this runner models")
    return [part.replace("{0}", str(script)) for part in shlex.split(template)]


def step_shell(workflow: Mapping[str, Any], job: Mapping[str, Any], step: Mapping[str, Any]) -> str:
    for candidate in (
        step.get("shell"),
        job.get("defaults", {}).get("run", {}).get("shell"),
        workflow.get("defaults", {}).get("run", {}).get("shell"),
    ):
        if candidate:
            return str(candidate)
    return DEFAULT_SHELL


@dataclass
class StepRecord:
    name: str
    outcome: str  # "success", "failure" or "skipped"
    run: str | None = None
    uses: str | None = None
    with_: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    returncode: int | None = None
    output: str = ""


@dataclass
class JobResult:
    success: bool
    steps: list[StepRecord]
    make_calls: list[str]
    workspace: Path
    summary: str = ""  # what the steps wrote to $GITHUB_STEP_SUMMARY

    def step(self, text: str) -> StepRecord:
        """The one step whose name, run script or action contains text."""
        found = [s for s in self.steps if text in s.name or text in (s.run or "") or text in (s.uses or "")]
        if len(found) != 1:
            raise LookupError(f"{len(found)} steps match {text!r}: {[s.name for s in self.steps]}")
        return found[0]


def job_env(workflow: Mapping[str, Any], job: Mapping[str, Any], contexts: Mapping[str, Any]) -> dict[str, str]:
    """Workflow then job `env`, evaluated as GitHub does (no `env` context inside them)."""
    env: dict[str, str] = {}
    for block in (workflow.get("env") or {}, job.get("env") or {}):
        for key, value in block.items():
            env[str(key)] = substitute(to_text(value), contexts)
    return env


def step_runs(condition: Any, contexts: Mapping[str, Any], failed: bool) -> bool:
    """A step's `if:`: success() unless it calls a status function itself."""
    expression = strip_template(to_text(condition)) if condition is not None else "success()"
    if not calls_status_function(expression):
        expression = f"success() && ({expression})"
    status = {"success": not failed, "failure": failed, "always": True, "cancelled": False}
    return truthy(evaluate(expression, contexts, status))


def run_job(
    workflow_text: str,
    job_id: str,
    workspace: Path,
    contexts: Mapping[str, Any],
    make_statuses: Mapping[str, int] | None = None,
    make_outputs: Mapping[str, str] | None = None,
) -> JobResult:
    """Run job_id's steps in workspace. contexts: `vars`, `inputs`, `github` (dicts)."""
    workflow = load_workflow(workflow_text)
    job = workflow["jobs"][job_id]
    scratch = workspace.parent / f".runner-{job_id}"
    scratch.mkdir(parents=True, exist_ok=True)
    make_log = scratch / "make-calls.txt"
    make_log.write_text("")
    write_stub_make(scratch / "bin", make_log, make_statuses or {}, make_outputs)
    summary = scratch / "step-summary.md"
    summary.write_text("")
    base = {
        "PATH": f"{scratch / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(scratch),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    env_job = job_env(workflow, job, contexts)
    failed = False
    records: list[StepRecord] = []
    for index, step in enumerate(job["steps"]):
        unknown = set(step) - STEP_KEYS
        if unknown:
            raise UnsupportedExpression(f"step {index} uses keys this runner does not model: {sorted(unknown)}")
        scope = {**contexts, "env": env_job}  # the `env` context of a step: workflow + job env
        step_env = {str(k): substitute(to_text(v), scope) for k, v in (step.get("env") or {}).items()}
        scope = {**contexts, "env": {**env_job, **step_env}}
        name = str(step.get("name") or step.get("run") or step.get("uses"))
        record = StepRecord(name=name, outcome="skipped", run=step.get("run"), uses=step.get("uses"))
        records.append(record)
        if not step_runs(step.get("if"), scope, failed):
            continue
        if record.uses is not None:
            record.with_ = {str(k): substitute(to_text(v), scope) for k, v in (step.get("with") or {}).items()}
            record.outcome = "success"
            continue
        script = scratch / f"step-{index}.sh"
        script.write_text(substitute(str(record.run), scope))
        record.argv = shell_command(step_shell(workflow, job, step), script)
        proc = subprocess.run(
            record.argv,
            cwd=workspace,
            env={**base, **env_job, **step_env},
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
        )
        record.returncode, record.output = proc.returncode, proc.stdout + proc.stderr
        record.outcome = "success" if proc.returncode == 0 else "failure"
        failed = failed or proc.returncode != 0
    calls = make_log.read_text().splitlines()
    return JobResult(
        success=not failed, steps=records, make_calls=calls, workspace=workspace, summary=summary.read_text()
    )


def job_should_run(workflow_text: str, job_id: str, contexts: Mapping[str, Any]) -> bool:
    """A job's `if:` (no `needs` here: success() is true for a job that needs nothing)."""
    job = load_workflow(workflow_text)["jobs"][job_id]
    condition = job.get("if")
    return condition is None or step_runs(condition, contexts, failed=False)
