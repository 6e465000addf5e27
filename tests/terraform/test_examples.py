"""The roots under terraform/examples/ initialise offline and validate.

Each example calls the modules by relative path (../../modules/...), so it runs in a copy of
the whole terraform/ tree: the repository's own folders never get a .terraform/ directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.terraform.tf_helpers import TF_DIR, copy_terraform, run_tf

pytestmark = pytest.mark.terraform

EXAMPLES = sorted(p.parent.name for p in (TF_DIR / "examples").glob("*/main.tf"))


def test_both_deployment_modes_have_an_example():
    assert {"serverless", "realtime"} <= set(EXAMPLES), EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_validates(example: str, tmp_path: Path, tf_env: dict[str, str]) -> None:
    workdir = copy_terraform(tmp_path / "terraform") / "examples" / example
    run_tf(["init", "-backend=false", "-input=false", "-no-color"], workdir, tf_env, timeout=300)
    proc = run_tf(["validate", "-no-color"], workdir, tf_env)
    assert "The configuration is valid" in proc.stdout
