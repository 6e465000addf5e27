"""terraform/bootstrap (state bucket, GitHub deploy role) and the remote state it serves.

- bootstrap on its own: validate, `terraform test` (mock provider: every run must pass),
  checkov with 0 failed (tests/terraform/test_static.py: one scan covers every root);
- `STATE_BUCKET=… make init` for real: the Makefile's recipe writes the S3 backend into a
  scratch root, which then keeps its state in a bucket of a moto server, and a lock file
  someone else holds stops a plan (S3-native locking, `use_lockfile`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rehearsal.harness import backend_args
from tests.terraform.tf_helpers import (
    ROOT,
    TF_DIR,
    aws_env,
    declared_runs,
    init_bootstrap_copy,
    moto_server,
    parse,
    run_tf,
)

pytestmark = pytest.mark.terraform

BOOTSTRAP = TF_DIR / "bootstrap"


@pytest.fixture(scope="module")
def bootstrap_copy(tmp_path_factory, tf_env) -> Path:
    return init_bootstrap_copy(tmp_path_factory.mktemp("bootstrap") / "bootstrap", tf_env)


def test_bootstrap_validates(bootstrap_copy, tf_env):
    proc = run_tf(["validate", "-no-tests", "-no-color"], bootstrap_copy, tf_env)  # its tests run below
    assert "The configuration is valid" in proc.stdout


def test_bootstrap_terraform_test_every_run_passes(bootstrap_copy, tf_env):
    declared = [name for f in sorted((BOOTSTRAP / "tests").glob("*.tftest.hcl")) for name in declared_runs(f)]
    proc = run_tf(["test", "-no-color"], bootstrap_copy, tf_env, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    results = {name: status for f in parse(output).values() for name, status in f.runs.items()}
    assert declared and results == dict.fromkeys(declared, "pass"), output
    assert proc.returncode == 0, output


# --------------------------------------------------------------------------- remote state

BUCKET = "tfstate-churn-test"
KEY = "churn/terraform.tfstate"


@pytest.fixture(scope="module")
def moto_s3(tf_env) -> Iterator[tuple[str, dict[str, str], Any]]:  # (URL, env, boto3 S3 client)
    pytest.importorskip("moto.server")
    import boto3

    with moto_server() as url:
        env = aws_env(tf_env, "us-east-1")
        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        s3.create_bucket(Bucket=BUCKET)
        yield url, env, s3


def make_init(scratch: Path, url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The Makefile's own init recipe, pointed at a scratch root and the moto server."""
    args = [
        "make",
        "--no-print-directory",
        "init",
        f"STATE_BUCKET={BUCKET}",
        "NAME=churn",
        "REGION=us-east-1",
        f"TF_DIR={scratch}",
        f"BACKEND_HCL={scratch / 'backend.hcl'}",
        "BACKEND_ARGS=" + backend_args(),
    ]
    # The backend reads AWS_ENDPOINT_URL_S3 like the SDKs do.
    return subprocess.run(
        args, cwd=ROOT, env=dict(env, AWS_ENDPOINT_URL_S3=url), capture_output=True, text=True, timeout=300
    )


def test_make_init_keeps_state_in_s3_with_a_lock_file(tmp_path, moto_s3):
    url, env, s3 = moto_s3
    scratch = tmp_path / "root"
    scratch.mkdir()
    # terraform_data is built in: no provider to install, the backend is all that is tested.
    (scratch / "main.tf").write_text('resource "terraform_data" "marker" {\n  input = "remote"\n}\n')
    proc = make_init(scratch, url, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    backend = (scratch / "backend.tf").read_text()
    assert re.search(r'backend "s3" \{\s*use_lockfile = true', backend), backend
    assert (scratch / "backend.hcl").read_text() == f'bucket = "{BUCKET}"\nkey    = "{KEY}"\nregion = "us-east-1"\n'

    env = dict(env, AWS_ENDPOINT_URL_S3=url)
    run_tf(["apply", "-auto-approve", "-input=false", "-no-color"], scratch, env, timeout=300)
    assert not (scratch / "terraform.tfstate").exists(), "state must not be local"
    state = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read().decode()
    assert '"terraform_data"' in state
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [KEY], "the lock file is removed after the apply"

    # Someone else holds the lock: a plan must refuse to run.
    s3.put_object(Bucket=BUCKET, Key=KEY + ".tflock", Body=b'{"ID":"someone-else","Operation":"OperationTypeApply"}')
    locked = run_tf(["plan", "-input=false", "-no-color", "-lock-timeout=0s"], scratch, env, check=False)
    assert locked.returncode != 0 and "Error acquiring the state lock" in locked.stderr, locked.stdout + locked.stderr
    s3.delete_object(Bucket=BUCKET, Key=KEY + ".tflock")
    run_tf(["plan", "-input=false", "-no-color", "-lock-timeout=0s"], scratch, env)


def test_make_init_without_state_bucket_writes_no_backend():
    proc = subprocess.run(
        ["make", "-n", "--no-print-directory", "init", "STATE_BUCKET="], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "backend" not in proc.stdout and proc.stdout.strip().endswith("init -input=false"), proc.stdout
