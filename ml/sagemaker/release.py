"""Deploying from the registry: the handoff of an Approved version, and the rollback's choice.

`make deploy-model [VERSION=N]` deploys what the registry and S3 hold, with no local training:
``handoff`` downloads version N's bundle (model archive, feature schema, metrics) into
build/model and its Lambda zip into build/invoker.zip (checked against the SHA-256 registered
beside it), then writes build/model.auto.tfvars.json naming the package version itself, which
Terraform's model is created from. Only an Approved version deploys: SageMaker refuses to create
a model from a versioned package that is not (CreateModelPackage, ModelApprovalStatus).

`make rollback` deploys the Approved version before the one the endpoint serves (read from
SageMaker, not from Terraform's state: after a rollback SageMaker made itself they differ), then
marks the version it left Rejected with the note, so "the latest Approved version", the deploy
workflow's default, is the one serving again.

VERSION is a number, empty (the latest Approved version) or ``trained``: the version the last
`make train BACKEND=sagemaker` or `make publish` of this checkout registered
(build/registered.json), which `make deploy` approves and deploys in one go.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ml.atomic import atomic_dir, atomic_file
from ml.model.bundle import METRICS_FILE, MODEL_ARCHIVE, SCHEMA_FILE, check_servable
from ml.sagemaker import handoff
from ml.sagemaker.aws import Aws
from ml.sagemaker.registry import APPROVED, ZIP_FILE, ZIP_SHA_FILE, Version, champion, find, get, model_key
from ml.sagemaker.tf_outputs import SetupError

REGISTERED_FILE = "registered.json"  # beside the bundle: what this checkout registered last
ROLLBACK_FILE = "rollback.json"  # beside the bundle: the rollback under way (from, to)
TRAINED = "trained"


def _beside(bundle_dir: Path, name: str) -> Path:
    return Path(bundle_dir).resolve().parent / name


def record_registered(bundle_dir: Path, arn: str) -> Path:
    path = _beside(bundle_dir, REGISTERED_FILE)
    with atomic_file(path, "w", encoding="utf-8") as out:
        out.write(json.dumps({"model_package_arn": arn, "version": int(arn.rsplit("/", 1)[1])}) + "\n")
    return path


def version_number(spec: str | None, bundle_dir: Path) -> int | None:
    """VERSION as given: None for the latest Approved one."""
    spec = (spec or "").strip()
    if not spec:
        return None
    if spec == TRAINED:
        path = _beside(bundle_dir, REGISTERED_FILE)
        if not path.is_file():
            raise SetupError(
                f"VERSION={TRAINED}: {path} is missing (make train BACKEND=sagemaker or make publish registers one)"
            )
        return int(json.loads(path.read_text())["version"])
    if not spec.isdigit() or int(spec) < 1:
        raise SetupError(f"VERSION={spec!r}: a version number (1, 2, ...), {TRAINED}, or empty for the latest Approved")
    return int(spec)


def deployable(found: list[Version], number: int | None) -> Version:
    if number is None:
        latest = champion(found)
        if latest is None:
            raise SetupError('no Approved version in the registry yet: make approve VERSION=N NOTE="why" first')
        return latest
    v = find(found, number)
    if v.status != APPROVED:
        raise SetupError(
            f"version {number} is {v.status}: only an Approved version deploys"
            f' (make approve VERSION={number} NOTE="why")'
        )
    return v


def materialize(aws: Aws, v: Version, bundle_dir: Path, zip_path: Path) -> str:
    """Version v's bundle into bundle_dir (swapped in whole) and its Lambda zip; returns the zip's hash."""
    zip_data = get(aws.s3, v.prefix + ZIP_FILE)
    registered = get(aws.s3, v.prefix + ZIP_SHA_FILE).decode("ascii").strip()
    if handoff.code_sha256(zip_data) != registered:
        raise SetupError(f"{v.prefix}{ZIP_FILE} does not match the SHA-256 registered beside it: not deploying it")
    with atomic_dir(bundle_dir) as tmp:
        (tmp / MODEL_ARCHIVE).write_bytes(get(aws.s3, v.model_url))
        check_servable(tmp / MODEL_ARCHIVE)
        for name in (SCHEMA_FILE, METRICS_FILE):
            (tmp / name).write_bytes(get(aws.s3, v.prefix + name))
    with atomic_file(zip_path, "wb") as out:
        out.write(zip_data)
    return registered


def check_replaceable(bundle_dir: Path, found: list[Version]) -> None:
    """A deploy replaces build/model: refuse when it holds a model no version has (local work)."""
    archive = Path(bundle_dir) / MODEL_ARCHIVE
    if not archive.is_file():
        return
    key = model_key(archive)  # content-addressed: the same model has the same key
    if not any(v.model_url.endswith("/" + key) for v in found):
        raise SetupError(
            f"{bundle_dir} holds a model that no registry version has (trained here, not published):"
            " a deploy would replace it. `make publish` it, or move it away, first"
        )


def write_handoff(aws: Aws, v: Version, bundle_dir: Path, found: list[Version]) -> tuple[Path, dict[str, Any]]:
    check_replaceable(bundle_dir, found)
    tfvars_path, zip_path = handoff.default_paths(bundle_dir)
    digest = materialize(aws, v, bundle_dir, zip_path)
    values = handoff.tfvars(
        bundle_dir,
        v.model_url,
        v.image,
        zip_path,
        digest,
        package=handoff.Package(v.arn, str(v.number), v.approved_at),
    )
    with atomic_file(tfvars_path, "w", encoding="utf-8") as out:
        out.write(json.dumps(values, indent=2) + "\n")
    return tfvars_path, values


def serving_package(aws: Aws, endpoint: str) -> str | None:
    """The package ARN the endpoint's model was created from (None: not from the registry)."""
    config = aws.sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    variants = aws.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    model = aws.sm.describe_model(ModelName=variants[0]["ModelName"])
    package = model.get("PrimaryContainer", {}).get("ModelPackageName")
    return str(package) if package else None


def rollback_pair(found: list[Version], serving_arn: str | None) -> tuple[Version, Version]:
    """(the version serving, the Approved version before it)."""
    current = next((v for v in found if v.arn == serving_arn), None)
    if current is None:
        raise SetupError(
            "the endpoint serves a model that is not a version of this registry: nothing to roll back from"
            " (make deploy-model VERSION=N deploys one)"
        )
    earlier = [v for v in found if v.status == APPROVED and v.number < current.number]
    if not earlier:
        raise SetupError(f"no Approved version before version {current.number}: nothing to roll back to")
    return current, earlier[-1]


def record_rollback(bundle_dir: Path, left: Version, to: Version) -> Path:
    path = _beside(bundle_dir, ROLLBACK_FILE)
    with atomic_file(path, "w", encoding="utf-8") as out:
        out.write(json.dumps({"from": left.number, "to": to.number}) + "\n")
    return path


def take_rollback(bundle_dir: Path) -> dict[str, int]:
    """The rollback prepared (and now applied); the record is removed."""
    path = _beside(bundle_dir, ROLLBACK_FILE)
    if not path.is_file():
        raise SetupError(f"{path} is missing: no rollback was prepared (make rollback prepares one)")
    record = {k: int(v) for k, v in json.loads(path.read_text()).items()}
    os.unlink(path)
    return record
