"""The roots under terraform/examples/ initialise offline, validate, and plan with their defaults.

Each example calls the modules by relative path (../../modules/...), so it runs in a copy of
the whole terraform/ tree: the repository's own folders never get a .terraform/ directory.
`validate` does not evaluate the modules' variable validations against the example's values;
a plan does: `terraform test` with the mock provider of terraform/tests/mocks plans each example
with only its required variables set (the serverless example's former default origin,
http://localhost:8080, passed validate and failed every plan).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.terraform.tf_helpers import TF_DIR, copy_terraform, parse, run_tf

pytestmark = pytest.mark.terraform

EXAMPLES = sorted(p.parent.name for p in (TF_DIR / "examples").glob("*/main.tf"))

# The variables each example requires (the model handoff); everything else keeps its default.
REQUIRED = {
    "serverless": {
        "model_data_url": "s3://churn-data-1/models/run-1/model.tar.gz",
        "decision_cutoff": "0.3",
        "lambda_zip_path": "/tmp/invoker.zip",
        "lambda_zip_sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    },
    "realtime": {"model_data_url": "s3://churn-data-1/models/run-1/model.tar.gz"},
}

PLAN_TEST = """mock_provider "aws" {{
  source          = "./tests/mocks"
  override_during = plan
}}

variables {{
{variables}
}}

run "plans_with_its_defaults" {{
  command = plan
}}
"""


def test_both_deployment_modes_have_an_example():
    assert {"serverless", "realtime"} <= set(EXAMPLES), EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates_and_plans(example: str, tmp_path: Path, tf_env: dict[str, str]) -> None:
    workdir = copy_terraform(tmp_path / "terraform") / "examples" / example
    run_tf(["init", "-backend=false", "-input=false", "-no-color"], workdir, tf_env, timeout=300)
    proc = run_tf(["validate", "-no-color"], workdir, tf_env)
    assert "The configuration is valid" in proc.stdout

    shutil.copytree(TF_DIR / "tests" / "mocks", workdir / "tests" / "mocks")
    variables = "\n".join(f'  {name} = "{value}"' for name, value in REQUIRED[example].items())
    (workdir / "tests" / "plan.tftest.hcl").write_text(PLAN_TEST.format(variables=variables))
    proc = run_tf(["test", "-no-color"], workdir, tf_env, check=False)
    result = parse(proc.stdout + proc.stderr).get("plan.tftest.hcl")
    assert proc.returncode == 0 and result is not None and result.runs == {"plans_with_its_defaults": "pass"}, (
        proc.stdout + proc.stderr
    )
