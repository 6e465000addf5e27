"""Terraform's root outputs (data bucket, role, endpoint, API), read with `terraform output -json`.

The one place Python needs Terraform. It runs the CLI itself rather than depending on
python-terraform (no release since 2019, raw FileNotFoundError when terraform is absent):
every way this can fail becomes a ``SetupError`` that says what to run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
APPLY_HINT = "run `make apply` first (it creates the data bucket and the SageMaker role)"


class SetupError(RuntimeError):
    """The AWS side is not ready (Terraform not applied, no credentials, missing input)."""


def terraform_dir() -> Path:
    return Path(os.environ.get("CHURN_TERRAFORM_DIR", TERRAFORM_DIR))


@lru_cache(maxsize=4)
def outputs(chdir: Path | None = None) -> dict[str, Any]:
    """Output name -> value (nulls dropped). Raises SetupError with the reason and the fix."""
    chdir = Path(chdir or terraform_dir())
    exe = shutil.which(os.environ.get("TERRAFORM", "terraform"))
    if exe is None:
        raise SetupError(
            "terraform is not on PATH: install Terraform >= 1.10, or pass the values as flags / environment variables"
        )
    if not chdir.is_dir():
        raise SetupError(f"{chdir}: no Terraform configuration there (set CHURN_TERRAFORM_DIR)")
    try:
        done = subprocess.run(
            [exe, f"-chdir={chdir}", "output", "-json"], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.SubprocessError) as err:
        raise SetupError(f"could not run terraform: {err}") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[-400:] or f"exit status {done.returncode}"
        raise SetupError(f"`terraform -chdir={chdir} output -json` failed: {detail}; {APPLY_HINT}")
    try:
        raw = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        raise SetupError(
            f"`terraform output -json` printed something that is not JSON: {done.stdout[:200]!r}"
        ) from None
    return {
        name: spec.get("value")
        for name, spec in raw.items()
        if isinstance(spec, dict) and spec.get("value") is not None
    }


def output(name: str, chdir: Path | None = None) -> Any:
    values = outputs(chdir)
    if not values:
        raise SetupError(f"Terraform has no outputs in {Path(chdir or terraform_dir())} (no state): {APPLY_HINT}")
    if name not in values:
        hint = (
            "deploy a model first (`make deploy`, or `make publish` then `make apply`)"
            if name in MODEL_OUTPUTS
            else APPLY_HINT
        )
        raise SetupError(f"Terraform output '{name}' is not set: {hint}")
    return values[name]


MODEL_OUTPUTS = frozenset({"endpoint_name", "api_url", "lambda_name", "model_name", "predict_url", "execute_api_url"})

# Flag > environment variable > Terraform output.
ENV = {
    "data_bucket": "CHURN_DATA_BUCKET",
    "sagemaker_role_arn": "CHURN_SAGEMAKER_ROLE_ARN",
    "endpoint_name": "CHURN_ENDPOINT_NAME",
    "api_url": "CHURN_API_URL",
    "model_package_group": "CHURN_MODEL_PACKAGE_GROUP",
}


def resolve(name: str, flag: str | None = None) -> str:
    if flag:
        return flag
    env = ENV.get(name)
    if env and os.environ.get(env):
        return os.environ[env]
    try:
        return str(output(name))
    except SetupError as err:
        also = f" (or pass it with a flag / set {env})" if env else ""
        raise SetupError(f"{err}{also}") from None
