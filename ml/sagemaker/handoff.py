"""The Terraform handoff: build/model.auto.tfvars.json from a registered bundle and its S3 artifact.

Terraform reads these variables (terraform/variables.tf validates them): model_package_arn (the
registry version the model is created from), model_version and model_approved_at (what the API
and the page say answered), model_data_url and image_uri (the version's, for the model role's
policy), model_environment (script mode), decision_cutoff, feature_schema_path, lambda_zip_path,
lambda_zip_sha256, and, from metrics.json's ``monitoring`` block, expected_flagged_share and
flagged_share_band (the drift alarm's band; a bundle without the block leaves them out and gets
no drift alarm). ml.sagemaker.release writes it for a version of the registry; the Lambda zip
is built here when a model is registered, from the same bundle, and its hash registered with it.
Paths are absolute: Terraform runs with -chdir=terraform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ml import file_module
from ml.model.bundle import SCHEMA_FILE, SCRIPT_ENVIRONMENT, Bundle

ROOT = Path(__file__).resolve().parents[2]
PACKAGER = ROOT / "scripts" / "package_lambda.py"
TFVARS_NAME = "model.auto.tfvars.json"
ZIP_NAME = "invoker.zip"

# The same rules as terraform/variables.tf (a test checks they still agree), so a bad value
# fails here, at the end of a training run, not later in `terraform plan`.
MODEL_DATA_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(.+/)?model\.tar\.gz$")
IMAGE_URI = re.compile(
    r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$"
)
ZIP_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")
MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[a-zA-Z0-9-]{1,63}/[1-9][0-9]*$"
)
APPROVED_AT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")


@dataclass(frozen=True)
class Package:
    """The registry version a deploy names: its ARN, number and approval time (RFC 3339 UTC)."""

    arn: str
    version: str
    approved_at: str


def default_paths(bundle_dir: Path) -> tuple[Path, Path]:
    """build/model -> (build/model.auto.tfvars.json, build/invoker.zip), beside the bundle."""
    parent = Path(bundle_dir).resolve().parent
    return parent / TFVARS_NAME, parent / ZIP_NAME


def _packager() -> ModuleType:
    return file_module.load("churn_package_lambda", PACKAGER)


def code_sha256(data: bytes) -> str:
    """The Lambda API's CodeSha256 of zip bytes, as scripts/package_lambda.py computes it."""
    return str(_packager().code_sha256(data))


def build_lambda_zip(bundle_dir: Path, zip_path: Path) -> str:
    """Build the invoker zip with scripts/package_lambda.py; returns its base64 SHA-256."""
    _size, digest = _packager().package(Path(bundle_dir), Path(zip_path))
    return str(digest)


def tfvars(
    bundle_dir: Path, model_data_url: str, image_uri: str, zip_path: Path, zip_sha256: str, package: Package
) -> dict[str, Any]:
    bundle = Bundle(Path(bundle_dir))
    cutoff = float(bundle.schema()["decision"]["cutoff"])
    values = {
        "model_package_arn": package.arn,
        "model_version": package.version,
        "model_approved_at": package.approved_at,
        "model_data_url": model_data_url,
        "image_uri": image_uri,
        "decision_cutoff": cutoff,
        "feature_schema_path": str((Path(bundle_dir) / SCHEMA_FILE).resolve()),
        "lambda_zip_path": str(Path(zip_path).resolve()),
        "lambda_zip_sha256": zip_sha256,
        "model_environment": dict(SCRIPT_ENVIRONMENT),  # the archive is served in script mode
    }
    monitoring = bundle.metrics().get("monitoring")
    if monitoring is not None:
        values["expected_flagged_share"] = float(monitoring["flagged_share"])
        values["flagged_share_band"] = [float(v) for v in monitoring["flagged_share_band"]]
    check(values)
    return values


def check(values: dict[str, Any]) -> None:
    problems = []
    if not MODEL_PACKAGE_ARN.match(values["model_package_arn"]):
        problems.append(f"model_package_arn {values['model_package_arn']!r} is not a model package version's ARN")
    arn, number, approved = values["model_package_arn"], values["model_version"], values["model_approved_at"]
    if arn.rsplit("/", 1)[-1] != number:
        problems.append(f"model_version {number!r} is not the version of {arn}")
    if not APPROVED_AT.match(approved):
        problems.append(f"model_approved_at {approved!r} is not an approval time (an Approved version's)")
    if not MODEL_DATA_URL.match(values["model_data_url"]):
        problems.append(f"model_data_url {values['model_data_url']!r} is not an S3 URL ending in /model.tar.gz")
    if not IMAGE_URI.match(values["image_uri"]):
        problems.append(f"image_uri {values['image_uri']!r} is not an ECR image URI")
    if not 0 < values["decision_cutoff"] < 1:
        problems.append(f"decision_cutoff {values['decision_cutoff']} is not strictly between 0 and 1")
    if not ZIP_SHA256.match(values["lambda_zip_sha256"]):
        problems.append("lambda_zip_sha256 is not a base64 SHA-256")
    if "expected_flagged_share" in values and not 0 <= values["expected_flagged_share"] <= 1:
        problems.append(f"expected_flagged_share {values['expected_flagged_share']} is not between 0 and 1")
    band = values.get("flagged_share_band")
    if band is not None and not (len(band) == 2 and 0 <= band[0] < band[1] <= 1):
        problems.append(f"flagged_share_band {band} is not [low, high] with 0 <= low < high <= 1")
    if problems:
        raise ValueError("; ".join(problems))
