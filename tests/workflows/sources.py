"""Where the workflows under test come from: the work tree, or the commit before the fixes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
# The last commit before `defaults: run: shell: bash` and the fork check: its deploy.yml ran
# `make … | tee` under bash -e (no pipefail). Not HEAD: once the fixes are committed, HEAD has them.
PRE_FIX_COMMIT = "0bf9d6de5a7d10f7d679ba178ef0cd18d789a1a4"


def current(name: str) -> str:
    return (WORKFLOWS / name).read_text()


def pre_fix(name: str) -> str:
    """The file at PRE_FIX_COMMIT; skips where history is absent (actions/checkout fetches depth 1)."""
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{PRE_FIX_COMMIT}:.github/workflows/{name}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"commit {PRE_FIX_COMMIT[:7]} is not in this clone: {proc.stderr.strip()}")
    return proc.stdout
