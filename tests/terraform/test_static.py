"""Formatting, validation and static security checks of terraform/ (offline)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.terraform.tf_helpers import ROOT, TF_DIR, missing_tool, run_tf

pytestmark = pytest.mark.terraform

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def test_fmt_check(tf_env):
    proc = run_tf(["fmt", "-check", "-recursive", "-diff", "-no-color"], TF_DIR, tf_env, check=False)
    assert proc.returncode == 0, f"terraform fmt would change files:\n{proc.stdout}{proc.stderr}"


def test_validate(tf_workdir, tf_env):
    proc = run_tf(["validate", "-no-color"], tf_workdir, tf_env)
    assert "The configuration is valid" in proc.stdout


def test_every_variable_and_output_is_documented():
    """terraform-aws-modules style: every variable has a description and a type, every output a description."""
    import re

    problems = []
    for tf in sorted(TF_DIR.rglob("*.tf")):
        if ".terraform" in tf.parts:
            continue
        text = tf.read_text()
        for kind, name, body in re.findall(r'^(variable|output) "([^"]+)" \{\n(.*?)^\}', text, re.S | re.M):
            if not re.search(r"^  description\s*=", body, re.M):
                problems.append(f"{tf.relative_to(ROOT)}: {kind} {name} has no description")
            if kind == "variable" and not re.search(r"^  type\s*=", body, re.M):
                problems.append(f"{tf.relative_to(ROOT)}: variable {name} has no type")
    assert not problems, "\n".join(problems)


def test_checkov_reports_no_failed_checks():
    if not CHECKOV.exists():
        missing_tool(
            f"checkov not installed at {CHECKOV.relative_to(ROOT)} "
            "(python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov)"
        )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run(
        [str(CHECKOV), "-d", "terraform", "--quiet", "--compact", "--framework", "terraform", "--skip-download"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert "Failed checks: 0" in output and proc.returncode == 0, f"checkov found problems:\n{output}"
