"""Formatting, validation and static security checks of terraform/ (offline)."""

from __future__ import annotations

import json
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
    # -no-tests: test_tftest.py's `terraform test` loads every .tftest.hcl file already
    proc = run_tf(["validate", "-no-tests", "-no-color"], tf_workdir, tf_env)
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


def test_checkov_passes_every_root_and_module(tmp_path):
    """One checkov scan of terraform/ covers the root, bootstrap/, the examples and every module.

    The repository's .checkov.yaml is quiet (failures only); here the same settings print the
    passed checks too, as JSON, so the test sees which folders were scanned.
    """
    if not CHECKOV.exists():
        missing_tool(f"checkov not installed at {CHECKOV.relative_to(ROOT)} (make .venv-checkov/.installed)")
    config = tmp_path / "checkov.yaml"
    config.write_text((ROOT / ".checkov.yaml").read_text().replace("quiet: true", "quiet: false"))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run(
        [str(CHECKOV), "-d", "terraform", "--config-file", str(config), "--output", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(proc.stdout)
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in results["failed_checks"]]
    assert not failed and not results["parsing_errors"], "checkov found problems:\n" + "\n".join(failed)
    assert proc.returncode == 0, proc.stderr
    scanned = {c["file_path"].strip("/").rpartition("/")[0] for c in results["passed_checks"]}
    modules = {f"modules/{p.name}" for p in (TF_DIR / "modules").iterdir() if p.is_dir()}
    # checkov 3.3 has no check for aws_sagemaker_model_package_group, the one resource of
    # modules/model_registry, so nothing passes there; it must still be scanned without failures.
    unchecked = {"modules/model_registry"}
    assert {"", "bootstrap", *(modules - unchecked)} <= scanned, sorted(scanned)
    assert not unchecked & scanned, f"checkov now checks {unchecked & scanned}: drop them from `unchecked`"
