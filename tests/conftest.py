"""Shared fixtures: one real bundle trained on synthetic data, reused by every test group."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "churn.txt"

# Tests drive subprocesses (terraform, the CLI): keep their config independent of the shell's.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> Path:
    """A real bundle: the default pipeline on 1,500 synthetic customers."""
    from ml.config import DEFAULT
    from ml.model import pipeline

    out = tmp_path_factory.mktemp("bundle") / "model"
    pipeline.run(DEFAULT, "synthetic", out, rows=1500, seed=11)
    return out


@pytest.fixture(scope="session")
def synthetic_frame():
    from ml.data.synthetic import generate

    return generate(1500, seed=11)
