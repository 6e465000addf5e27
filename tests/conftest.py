"""Shared fixtures: one real bundle trained on synthetic data, reused by every test group."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.shared import made_once

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "churn.txt"

# Tests drive subprocesses (terraform, the CLI): keep their config independent of the shell's.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

# pytest puts the running test's id in the environment (PYTEST_CURRENT_TEST), and the kernel
# refuses to start a program whose one environment string is over 128 KiB (E2BIG): a test with
# a 10 MiB body as its id started the shared stack in CI: E2BIG, and every test using it failed.
MAX_TEST_ID = 200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    long_ids = [
        f"{item.nodeid[:120]}... ({len(item.nodeid):,} characters)" for item in items if len(item.nodeid) > MAX_TEST_ID
    ]
    if long_ids:
        raise pytest.UsageError(
            f"test ids over {MAX_TEST_ID} characters (give the parameters ids=):\n  " + "\n  ".join(long_ids)
        )


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> Path:
    """A real bundle: the default pipeline on 1,500 synthetic customers (made once per session)."""
    from ml.config import DEFAULT
    from ml.model import pipeline

    def make(out: Path) -> None:
        out.mkdir(exist_ok=True)
        pipeline.run(DEFAULT, "synthetic", out / "model", rows=1500, seed=11)  # written whole or not at all

    return made_once(tmp_path_factory, "bundle", make) / "model"


@pytest.fixture(scope="session")
def synthetic_frame():
    from ml.data.synthetic import generate

    return generate(1500, seed=11)
