"""Runs `terraform test` (mock provider, offline) and reports every run as its own pytest test.

Terraform's own summary is not a pytest result, so one `terraform test` runs every
.tftest.hcl file (one process: each terraform command reads the AWS provider's schema,
about 3 s of CPU) and every `run "..."` block becomes one parametrised test here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.terraform.tf_helpers import TF_DIR, FileResult, declared_runs, parse, run_tf

pytestmark = pytest.mark.terraform

TEST_FILES = sorted((TF_DIR / "tests").glob("*.tftest.hcl"))


@dataclass
class TfTestOutput:
    returncode: int
    output: str
    files: dict[str, FileResult]


@pytest.fixture(scope="module")
def tftest(tf_workdir, tf_env) -> TfTestOutput:
    proc = run_tf(["test", "-no-color"], tf_workdir, tf_env, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    return TfTestOutput(proc.returncode, output, parse(output))


def test_test_files_exist():
    assert TEST_FILES, "terraform/tests holds no .tftest.hcl file"


def test_parse_reads_each_files_runs():
    out = (
        'tests/a.tftest.hcl... in progress\n  run "x"... pass\n  run "y"... fail\n'
        "tests/a.tftest.hcl... tearing down\ntests/a.tftest.hcl... fail\n"
        'tests/b.tftest.hcl... in progress\n  run "x"... pass\ntests/b.tftest.hcl... pass\n'
    )
    files = parse(out)
    assert files["a.tftest.hcl"] == FileResult("fail", {"x": "pass", "y": "fail"})
    assert files["b.tftest.hcl"] == FileResult("pass", {"x": "pass"})


@pytest.mark.parametrize(
    ("file_name", "run_name"),
    [(f.name, r) for f in TEST_FILES for r in declared_runs(f)],
)
def test_run(tftest, file_name, run_name):
    status = tftest.files.get(file_name, FileResult()).runs.get(run_name)
    assert status == "pass", f'run "{run_name}" in {file_name}: {status}\n{tftest.output}'


@pytest.mark.parametrize("file_name", [f.name for f in TEST_FILES])
def test_file_summary(tftest, file_name):
    result = tftest.files.get(file_name, FileResult())
    expected = declared_runs(TF_DIR / "tests" / file_name)
    assert result.status == "pass", tftest.output
    assert sorted(result.runs) == sorted(expected) and set(result.runs.values()) == {"pass"}, tftest.output


def test_every_file_ran_and_terraform_test_passed(tftest):
    assert sorted(tftest.files) == sorted(f.name for f in TEST_FILES), tftest.output
    assert tftest.returncode == 0, tftest.output
