"""Helpers shared by the Terraform tests (paths, running terraform, tool checks)."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.shared import free_port

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "terraform"
CLI_CONFIG = ROOT / "build" / "terraform.rc"
CONFIG_SCRIPT = ROOT / "scripts" / "tf_cli_config.sh"
# The managed SecurityHeadersPolicy, by ID: moto has no response headers policy API, so applies
# against it attach this one (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
# using-managed-response-headers-policies.html).
MANAGED_SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"


def allow_skip() -> bool:
    """True when a missing tool may skip its tests instead of failing them."""
    return os.environ.get("CHURN_ALLOW_SKIP") == "1"


def missing_tool(message: str) -> None:
    if allow_skip():
        pytest.skip(message)
    pytest.fail(f"{message} (set CHURN_ALLOW_SKIP=1 to skip instead)")


def run_tf(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run terraform; on failure the assertion message holds its whole output."""
    proc = subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(
            f"terraform {' '.join(args)} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc


def copy_terraform(dest: Path) -> Path:
    """Copy terraform/ without local state, provider installs or a generated S3 backend.

    web/security_headers.json goes to the same place beside the copy: the root module
    reads it as ../web/security_headers.json (one source of the page's headers).
    """
    shutil.copytree(
        TF_DIR,
        dest,
        ignore=shutil.ignore_patterns(
            ".terraform", "terraform.tfstate*", "*.tfplan", ".terraform.tfstate.lock.info", "backend.tf"
        ),
    )
    headers = dest.parent / "web" / "security_headers.json"
    headers.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "web" / "security_headers.json", headers)
    return dest


def init_copy(dest: Path, env: dict[str, str]) -> Path:
    copy_terraform(dest)
    run_tf(["init", "-backend=false", "-input=false", "-no-color"], dest, env, timeout=300)
    return dest


def init_bootstrap_copy(dest: Path, env: dict[str, str]) -> Path:
    """An initialised copy of terraform/bootstrap (a root of its own), without local state."""
    shutil.copytree(TF_DIR / "bootstrap", dest, ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate*"))
    run_tf(["init", "-backend=false", "-input=false", "-no-color"], dest, env, timeout=300)
    return dest


@contextmanager
def moto_server() -> Iterator[str]:
    """An in-process moto server on a free loopback port; yields its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def aws_env(tf_env: dict[str, str], region: str) -> dict[str, str]:
    """terraform's environment with moto's test credentials."""
    return dict(tf_env, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=region)


def lambda_zip(path: Path) -> str:
    """Write a tiny deployment zip; return its base64 SHA-256 (Lambda's CodeSha256)."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("handler.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


# -- `terraform test -no-color` output ---------------------------------------------------
RUN_RE = re.compile(r'^run "([^"]+)"', re.M)
FILE_RE = re.compile(r"^tests/(\S+\.tftest\.hcl)\.\.\. (in progress|tearing down|pass|fail|skip)\s*$")
RESULT_RE = re.compile(r'^\s+run "([^"]+)"\.\.\. (pass|fail|skip)\s*$')


@dataclass
class FileResult:
    status: str = "not run"
    runs: dict[str, str] = field(default_factory=dict)


def declared_runs(path: Path) -> list[str]:
    return RUN_RE.findall(path.read_text())


def parse(output: str) -> dict[str, FileResult]:
    """Per file: its final status and the status of each run, from `terraform test -no-color`."""
    files: dict[str, FileResult] = {}
    current: FileResult | None = None
    for line in output.splitlines():
        if m := FILE_RE.match(line):
            current = files.setdefault(m[1], FileResult())
            if m[2] in ("pass", "fail", "skip"):
                current.status = m[2]
        elif (m := RESULT_RE.match(line)) and current is not None:
            current.runs[m[1]] = m[2]
    return files
