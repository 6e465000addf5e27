"""Runs `terraform test` (mock provider, offline) and reports every run as its own pytest test.

Terraform's own summary is not a pytest result, so each .tftest.hcl file runs once
per session and every `run "..."` block in it becomes one parametrised test here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.terraform.tf_helpers import TF_DIR, run_tf

pytestmark = pytest.mark.terraform

TEST_FILES = sorted((TF_DIR / "tests").glob("*.tftest.hcl"))
RUN_RE = re.compile(r'^run "([^"]+)"', re.M)
RESULT_RE = re.compile(r'^\s+run "([^"]+)"\.\.\. (pass|fail|skip)\s*$', re.M)
SUMMARY_RE = re.compile(r"(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\.")


@dataclass
class FileResult:
    returncode: int
    output: str
    runs: dict[str, str]
    passed: int
    failed: int


def declared_runs(path: Path) -> list[str]:
    return RUN_RE.findall(path.read_text())


_CACHE: dict[str, FileResult] = {}


@pytest.fixture(scope="session")
def tftest(tf_workdir, tf_env):
    """Run one test file (once per session) and parse its per-run results."""

    def get(name: str) -> FileResult:
        if name not in _CACHE:
            proc = run_tf(["test", "-no-color", f"-filter=tests/{name}"], tf_workdir, tf_env, timeout=900, check=False)
            output = proc.stdout + proc.stderr
            runs = dict(RESULT_RE.findall(output))
            summary = SUMMARY_RE.search(output)
            passed, failed = (int(summary[1]), int(summary[2])) if summary else (0, -1)
            _CACHE[name] = FileResult(proc.returncode, output, runs, passed, failed)
        return _CACHE[name]

    return get


def test_test_files_exist():
    assert TEST_FILES, "terraform/tests holds no .tftest.hcl file"


@pytest.mark.parametrize(
    ("file_name", "run_name"),
    [(f.name, r) for f in TEST_FILES for r in declared_runs(f)],
)
def test_run(tftest, file_name, run_name):
    result = tftest(file_name)
    status = result.runs.get(run_name)
    assert status == "pass", f'run "{run_name}" in {file_name}: {status}\n{result.output}'


@pytest.mark.parametrize("file_name", [f.name for f in TEST_FILES])
def test_file_summary(tftest, file_name):
    result = tftest(file_name)
    expected = len(declared_runs(TF_DIR / "tests" / file_name))
    assert result.returncode == 0, result.output
    assert result.failed == 0, result.output
    assert result.passed == expected > 0, f"expected {expected} passing runs, got {result.passed}\n{result.output}"
