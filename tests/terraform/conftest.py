"""Fixtures for the Terraform tests: a private copy of terraform/, initialised offline.

Every terraform command runs in a copy under pytest's tmp dir, so the repository's
terraform/ never gets a .terraform/ directory or a state file from the tests. The CLI
config comes from scripts/tf_cli_config.sh (provider mirror when /opt/tf-plugins
exists), not from the shell's TF_CLI_CONFIG_FILE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.terraform.tf_helpers import CLI_CONFIG, CONFIG_SCRIPT, init_copy, missing_tool


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        missing_tool("terraform CLI not found on PATH")
    assert path is not None  # missing_tool skipped or failed the test
    return path


@pytest.fixture(scope="session")
def tf_env(terraform_bin) -> dict[str, str]:
    """Environment for terraform subprocesses: our CLI config, no prompts, no AWS profile."""
    if not CLI_CONFIG.exists():
        subprocess.run(["sh", str(CONFIG_SCRIPT), str(CLI_CONFIG)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(
        TF_CLI_CONFIG_FILE=str(CLI_CONFIG),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@pytest.fixture(scope="session")
def tf_workdir(tmp_path_factory, tf_env) -> Path:
    """An initialised copy of terraform/ for validate and `terraform test`."""
    return init_copy(tmp_path_factory.mktemp("tf") / "terraform", tf_env)
