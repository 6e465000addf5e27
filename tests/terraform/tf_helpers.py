"""Helpers shared by the Terraform tests (paths, running terraform, tool checks)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "terraform"
CLI_CONFIG = ROOT / "build" / "terraform.rc"
CONFIG_SCRIPT = ROOT / "scripts" / "tf_cli_config.sh"


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
