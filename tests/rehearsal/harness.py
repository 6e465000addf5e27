"""The rehearsal's pieces: a clean checkout, the AWS stand-in server, and `make` run in it.

The checkout is the work tree's files as git would check them out (tracked and new, not
ignored): no build/, no Terraform state, no .terraform. Only the virtualenvs are shared, as
links (their lock-file stamps are older than the copied pyproject.toml and uv.lock, so make
does not reinstall them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.rehearsal.aws_server import HARNESS_KEY
from tests.shared import copy_work_tree, free_port
from tests.terraform.tf_helpers import MANAGED_SECURITY_HEADERS  # moto has no response headers policy API

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# The deploy's signing key (moto accepts any): the log tells its requests, the ones the deploy
# role's policy must allow, from the harness's own.
DEPLOY_KEY = "REHEARSALDEPLOYROLE1"
# A person's key: approving, rolling back and publishing a laptop's bundle are people's acts, not
# the workflows' (the deploy role may register versions but not approve or reject them).
PERSON_KEY = "REHEARSALDATAPERSON1"


@contextmanager
def critical_path() -> Iterator[None]:
    """Run this process and its children (the stand-in, every make) ahead of the rest of make
    test: the rehearsal is one long chain whose steps wait on each other, so its wall time bounds
    make test's, while the other workers' tests can fill the cores around it. Raising priority
    needs root (CI here); elsewhere it runs at the usual priority."""
    try:
        os.nice(-10)
    except PermissionError:
        yield
        return
    try:
        yield
    finally:
        os.nice(10)  # back to where it was: lowering priority is always allowed


def checkout(dest: Path) -> Path:
    """Copy the work tree as a clean checkout would hold it (new files too); link the virtualenvs."""
    copy_work_tree(ROOT, dest, untracked=True)
    for venv in (".venv", ".venv-uv"):
        (dest / venv).symlink_to(ROOT / venv)
    return dest


@dataclass
class Aws:
    url: str
    log: Path

    def client(self, name: str) -> Any:
        """A client of any service, signed with the harness's key (botocore's: it takes any name)."""
        import botocore.session

        return botocore.session.get_session().create_client(
            name, region_name=REGION, endpoint_url=self.url, aws_access_key_id=HARNESS_KEY, aws_secret_access_key="x"
        )


@contextmanager
def aws_server(workdir: Path) -> Iterator[Aws]:
    """The stand-in AWS (tests/rehearsal/aws_server.py) in a process of its own."""
    port, log = free_port(), workdir / "requests.jsonl"
    log.touch()
    out = (workdir / "aws-server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.rehearsal.aws_server", "--port", str(port), "--log", str(log)],
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "listening" not in (workdir / "aws-server.log").read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the AWS stand-in did not start:\n" + (workdir / "aws-server.log").read_text())
            time.sleep(0.1)
        yield Aws(f"http://127.0.0.1:{port}", log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        out.close()


def endpoint_model(aws: Aws, endpoint: str) -> tuple[str, str, str]:
    """(configuration, model, model package ARN or "") the endpoint runs, as SageMaker answers."""
    sm = aws.client("sagemaker")
    config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    model = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["ModelName"]
    package = sm.describe_model(ModelName=model)["PrimaryContainer"].get("ModelPackageName", "")
    return str(config), str(model), str(package)


def deploy_env(aws: Aws, name: str) -> dict[str, str]:
    """The environment of a user's shell (or a workflow job) pointed at the stand-in.

    Credentials, region, the stack NAME; Terraform reaches the stand-in through its test variable
    aws_endpoint_url (TF_VAR_…), boto3 and the SageMaker SDK through AWS_ENDPOINT_URL. The page's
    distribution is not awaited (website_wait_for_deployment): the provider polls every 30 s, and
    moto's distribution is deployed at once.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_", "CHURN_", "PYTEST_"))}
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    env.update(
        AWS_ACCESS_KEY_ID=DEPLOY_KEY,
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=aws.url,
        TF_VAR_aws_endpoint_url=aws.url,
        TF_VAR_website_response_headers_policy_id=MANAGED_SECURITY_HEADERS,
        TF_VAR_website_wait_for_deployment="false",
        TF_IN_AUTOMATION="1",
        NAME=name,
    )
    return env


def backend_args() -> str:
    """make init's BACKEND_ARGS for an S3 backend on the stand-in: path-style, no STS or IMDS
    lookups. The endpoint comes from AWS_ENDPOINT_URL_S3, which the backend reads like the SDKs."""
    return " ".join(
        f"-backend-config={kv}"
        for kv in (
            "use_path_style=true",
            "skip_credentials_validation=true",
            "skip_requesting_account_id=true",
            "skip_metadata_api_check=true",
        )
    )


@dataclass
class Step:
    command: str
    returncode: int
    output: str
    seconds: float


def make(tree: Path, env: dict[str, str], *args: str, log: list[Step], timeout: float = 900) -> Step:
    """Run `make ARGS` in the checkout, as a user would; keep its output, each line with its second."""
    return run(tree, env, ["make", "--no-print-directory", *args], "make " + " ".join(args), log, timeout)


def run(tree: Path, env: dict[str, str], argv: list[str], command: str, log: list[Step], timeout: float = 900) -> Step:
    """Run a user's command in the checkout; the step is named ``command`` (what the user types)."""
    started = time.monotonic()
    lines: list[str] = []
    transcript = tree.parent / f"{tree.name}-make.log"
    with transcript.open("a") as out:
        out.write(f"$ {command}\n")
        proc = subprocess.Popen(
            argv,
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        for line in proc.stdout:  # a hung step still leaves its transcript behind
            stamped = f"[{time.monotonic() - started:6.1f}] {line}"
            lines.append(stamped)
            out.write(stamped)
            out.flush()
            if time.monotonic() - started > timeout:
                proc.kill()
                lines.append(f"killed after {timeout} s\n")
                break
        returncode = proc.wait()
    step = Step(command, returncode, "".join(lines), time.monotonic() - started)
    log.append(step)
    return step
