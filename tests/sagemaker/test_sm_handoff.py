"""The Terraform handoff: publish's upload and registration, then the tfvars a deploy writes from the
registry (ml.sagemaker.release), checked against terraform/variables.tf itself."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ml.model.bundle import SCRIPT_ENVIRONMENT, Bundle, archive_members
from ml.sagemaker import approval, handoff, publish, registry, release
from ml.sagemaker.aws import Aws
from ml.sagemaker.settings import DEFAULT_NAME
from tests.sagemaker.sm_fixtures import BUCKET

ROOT = Path(__file__).resolve().parents[2]
VARIABLES_TF = ROOT / "terraform" / "variables.tf"
HANDOFF_VARS = (
    "model_package_arn",
    "model_data_url",
    "image_uri",
    "decision_cutoff",
    "feature_schema_path",
    "lambda_zip_path",
    "lambda_zip_sha256",
)
# From metrics.json's monitoring block; terraform itself validates them in the plan test below.
MONITORING_VARS = ("expected_flagged_share", "flagged_share_band")
# What the API and the page say answered (terraform/variables.tf validates them).
ANSWERED_BY_VARS = ("model_version", "model_approved_at")


Published = tuple[Aws, str, bool, Path, dict[str, Any]]  # aws, model URL, uploaded now, tfvars path, tfvars


@pytest.fixture
def published(aws: Aws, local_bundle: Path, tmp_path: Path) -> Published:
    """publish (upload, register: pending), approve, then the deploy's handoff from the registry alone."""
    bundle_dir = tmp_path / "build" / "model"
    shutil.copytree(local_bundle, bundle_dir)  # build/registered.json is written beside it
    url, uploaded, package = publish.publish(
        aws,
        Bundle(bundle_dir),
        BUCKET,
        DEFAULT_NAME,
        b"0,1.5\n",  # the registered test split: tests/sagemaker/test_registry.py checks it
    )
    described = aws.sm.describe_model_package(ModelPackageName=package)  # publish registers what it uploads
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == url
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert release.version_number("trained", bundle_dir) == 1
    v = approval.approve(aws, DEFAULT_NAME, 1, "first", False, tmp_path)
    path, values = release.write_handoff(aws, v, tmp_path / "deploy" / "model", [v])
    return aws, url, uploaded, path, values


def test_publish_uploads_content_addressed_and_once(published: Published, local_bundle: Path) -> None:
    aws, url, uploaded, _path, _values = published
    archive = (local_bundle / "model.tar.gz").read_bytes()
    digest = hashlib.sha256(archive).hexdigest()
    assert uploaded and url == f"s3://{BUCKET}/models/{digest[:16]}/model.tar.gz"
    stored = aws.s3.get_object(Bucket=BUCKET, Key=url.split(BUCKET + "/", 1)[1])
    assert stored["Body"].read() == archive and stored["Metadata"]["sha256"] == digest
    again, uploaded_again = publish.upload_model(aws.s3, BUCKET, Bundle(local_bundle))
    assert again == url and not uploaded_again


def test_tfvars_file(published: Published, local_bundle: Path, tmp_path: Path) -> None:
    aws, url, _uploaded, path, values = published
    assert path == tmp_path / "deploy" / "model.auto.tfvars.json"
    assert json.loads(path.read_text()) == values
    assert set(values) == set(HANDOFF_VARS) | set(MONITORING_VARS) | set(ANSWERED_BY_VARS) | {"model_environment"}
    assert values["model_package_arn"].endswith(":model-package/churn/1") and values["model_version"] == "1"
    approved = aws.sm.describe_model_package(ModelPackageName=values["model_package_arn"])["LastModifiedTime"]
    assert values["model_approved_at"] == registry.rfc3339(approved)
    assert values["model_environment"] == SCRIPT_ENVIRONMENT  # the archive is served in script mode
    monitoring = Bundle(local_bundle).metrics()["monitoring"]
    assert values["expected_flagged_share"] == monitoring["flagged_share"]
    assert values["flagged_share_band"] == monitoring["flagged_share_band"]
    assert values["model_data_url"] == url
    assert values["decision_cutoff"] == Bundle(local_bundle).schema()["decision"]["cutoff"]
    # The bundle and the Lambda zip came from S3, byte for byte what was registered.
    deployed = tmp_path / "deploy" / "model"
    assert values["feature_schema_path"] == str((deployed / "feature_schema.json").resolve())
    for name in ("model.tar.gz", "feature_schema.json", "metrics.json"):
        assert (deployed / name).read_bytes() == (local_bundle / name).read_bytes(), name
    assert Path(values["lambda_zip_path"]).read_bytes() == (tmp_path / "build" / "invoker.zip").read_bytes()
    zip_bytes = Path(values["lambda_zip_path"]).read_bytes()
    assert values["lambda_zip_sha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert not list((tmp_path / "deploy").glob(".*"))  # atomic: no temp file or directory left


def test_publish_refuses_an_archive_the_container_would_reject(aws: Aws, local_bundle: Path, tmp_path: Path) -> None:
    import io
    import tarfile

    bad = tmp_path / "model"
    shutil.copytree(local_bundle, bad)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("xgboost-model", "feature_schema.json"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    (bad / "model.tar.gz").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match=r"must hold the files 'xgboost-model' and 'code/inference\.py'"):
        publish.upload_model(aws.s3, BUCKET, Bundle(bad))
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=BUCKET)


def test_publish_refuses_an_archive_without_the_inference_script(aws: Aws, local_bundle: Path, tmp_path: Path) -> None:
    """A training job's own archive (the booster alone) cannot serve explanations: refused."""
    import tarfile

    bad = tmp_path / "model"
    shutil.copytree(local_bundle, bad)
    members = archive_members(bad / "model.tar.gz")
    with tarfile.open(bad / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(members["xgboost-model"])
        tar.addfile(info, io.BytesIO(members["xgboost-model"]))
    with pytest.raises(ValueError, match=r"no 'code/inference\.py'"):
        publish.upload_model(aws.s3, BUCKET, Bundle(bad))
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=BUCKET)


def test_bad_values_fail_before_terraform(local_bundle: Path, tmp_path: Path) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"
    with pytest.raises(ValueError, match="model_data_url") as caught:
        handoff.tfvars(
            local_bundle,
            "s3://b/model.tar.gz",
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
            tmp_path / "z.zip",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            handoff.Package(arn, "2", ""),
        )
    assert "model_version '2' is not the version of" in str(caught.value)
    assert "model_approved_at '' is not an approval time" in str(caught.value)


# ------------------------------------------------ terraform/variables.tf, read with python-hcl2


def _validations() -> dict[str, list[str]]:
    import hcl2

    with open(VARIABLES_TF, encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    out: dict[str, list[str]] = {}
    for block in parsed["variable"]:
        for name, spec in block.items():
            out[name.strip('"')] = [v["condition"] for v in spec.get("validation", [])]
    return out


def _hcl_string(text: str) -> str:
    decoded: str = json.loads(f'"{text}"')  # HCL and JSON escape \\ and \" alike
    return decoded


def _accepts(name: str, condition: str, value: Any) -> bool:
    """Evaluate the validation forms variables.tf uses; an unknown form fails the test loudly."""
    body = condition.strip()[2:-1] if condition.strip().startswith("${") else condition
    if m := re.search(r'can\(regex\("((?:[^"\\]|\\.)*)",\s*var\.' + name + r"\)\)", body):
        return re.search(_hcl_string(m[1]), value) is not None
    if m := re.fullmatch(rf"var\.{name} > ([0-9.]+) && var\.{name} < ([0-9.]+)", body):
        return bool(float(m[1]) < value < float(m[2]))
    if re.search(rf"can\(jsondecode\(file\(var\.{name}\)\)\)", body):
        try:
            json.loads(Path(value).read_text(encoding="utf-8"))
            return True
        except (OSError, ValueError):
            return False
    raise AssertionError(f"variables.tf: unrecognised validation of {name}: {condition}")


def test_tfvars_pass_the_validations_of_variables_tf(published: Published) -> None:
    *_rest, values = published
    validations = _validations()
    for name in HANDOFF_VARS:
        assert validations.get(name), f"variables.tf declares no validated variable {name}"
        for condition in validations[name]:
            assert _accepts(name, condition, values[name]), f"{name}={values[name]!r} fails: {condition}"


def test_handoff_regexes_agree_with_variables_tf() -> None:
    """handoff.check mirrors variables.tf: the same patterns, so the two cannot drift apart."""
    validations = _validations()
    for name, pattern in (
        ("model_data_url", handoff.MODEL_DATA_URL),
        ("image_uri", handoff.IMAGE_URI),
        ("lambda_zip_sha256", handoff.ZIP_SHA256),
        ("model_package_arn", handoff.MODEL_PACKAGE_ARN),
        ("model_approved_at", handoff.APPROVED_AT),
    ):
        found = [_hcl_string(m) for c in validations[name] for m in re.findall(r'regex\("((?:[^"\\]|\\.)*)"', c)]
        assert found == [pattern.pattern], name


# ------------------------------------------------ terraform itself: plan with only the tfvars

PLAN_TEST = """
mock_provider "aws" {
  source = "./tests/mocks"
}

run "plan_with_handoff_tfvars" {
  command = plan

  assert {
    condition     = length(module.invoker) == 1 && length(module.http_api) == 1
    error_message = "The handoff tfvars must switch the stack to its deploy stage."
  }

  assert {
    condition     = module.invoker[0].environment.DECISION_CUTOFF == tostring(var.decision_cutoff)
    error_message = "The Lambda must get the bundle's cutoff."
  }
}
"""


@pytest.mark.terraform
@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")
def test_terraform_plan_accepts_the_tfvars(published: Published, tmp_path: Path) -> None:
    """`terraform test` (mock provider, offline) plans the root module given only the tfvars file."""
    *_rest, path, _values = published
    work = tmp_path / "tf"
    shutil.copytree(
        ROOT / "terraform",
        work / "terraform",
        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tftest.hcl"),
    )
    shutil.copytree(ROOT / "web", work / "web")  # the default web_dir is ../web
    (work / "terraform" / "tests" / "handoff.tftest.hcl").write_text(PLAN_TEST)
    rc = ROOT / "build" / "terraform.rc"
    if not rc.exists():
        subprocess.run(["sh", str(ROOT / "scripts" / "tf_cli_config.sh"), str(rc)], check=True)
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    env.pop("TF_DATA_DIR", None)
    chdir = f"-chdir={work / 'terraform'}"
    init = subprocess.run(
        ["terraform", chdir, "init", "-backend=false", "-input=false", "-no-color"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    run = subprocess.run(
        ["terraform", chdir, "test", "-no-color", f"-var-file={path}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 0 failed" in run.stdout, run.stdout
