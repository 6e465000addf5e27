"""The model registry: SageMaker model package versions in the group Terraform owns.

``register`` adds a version, PendingManualApproval, for a bundle whose archive is in S3;
``versions`` lists them, ``champion`` is the latest Approved one, ``reject`` marks one Rejected.
Comparing two and approving one: ml.sagemaker.approval.

Everything a deploy needs is recoverable from the package and S3 alone: beside the model
(``models/<sha256[:16]>/``, content-addressed like it) go metrics.json, feature_schema.json,
the test split as raw customers (the dataset's own columns, with its label: each version encodes
them with its own feature schema, so a challenger with other features is compared on the same
customers) and the Lambda zip with its base64 SHA-256. The
package names the model and the metrics objects; the rest sits at fixed names beside the model.
The cutoff and the data's SHA-256 are also CustomerMetadataProperties, but moto 5.2.5 does not
return those on describe, so they are read back from metrics.json and feature_schema.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.model.bundle import METRICS_FILE, MODEL_ARCHIVE, SCHEMA_FILE, SCRIPT_ENVIRONMENT, Bundle
from ml.sagemaker.aws import Aws, sha256_of, split_s3, upload_if_changed
from ml.sagemaker.settings import ARTIFACT_PREFIX
from ml.sagemaker.tf_outputs import SetupError
from ml.serving.inference import EXPLAIN_TYPE

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker.literals import (
        ModelApprovalStatusType,
        ProductionVariantInstanceTypeType,
        TransformInstanceTypeType,
    )
    from types_boto3_sagemaker.type_defs import InferenceSpecificationTypeDef

PENDING: ModelApprovalStatusType = "PendingManualApproval"
APPROVED: ModelApprovalStatusType = "Approved"
REJECTED: ModelApprovalStatusType = "Rejected"
# UpdateModelPackage's ApprovalDescription: 0-1024 characters (the API reference, botocore's model).
NOTE_MAX = 1024
TEST_FILE = "test_customers.csv"  # raw rows, header, label: every version can encode them
ZIP_FILE = "invoker.zip"
ZIP_SHA_FILE = "invoker.zip.sha256"
CONTENT_TYPES = ["text/csv", "text/libsvm"]  # what the container accepts (others: 415)
RESPONSE_TYPES = ["text/csv", "application/json", EXPLAIN_TYPE]
# The endpoint module's default and the lab's instance (terraform/modules/endpoint validates them).
REALTIME_INSTANCE_TYPES: list[ProductionVariantInstanceTypeType] = ["ml.m5.large", "ml.m5.xlarge"]
TRANSFORM_INSTANCE_TYPES: list[TransformInstanceTypeType] = ["ml.m5.large", "ml.m5.xlarge"]


@dataclass(frozen=True)
class Version:
    number: int
    arn: str
    status: str
    note: str
    model_url: str
    image: str
    metrics: dict[str, Any]
    schema: dict[str, Any]
    # When it was approved, RFC 3339 UTC; "" unless Approved. SageMaker keeps no approval time of
    # its own: the last modification of an Approved version is its approval (nothing else here
    # modifies a version; a rollback rejects the version it leaves, never the one it deploys).
    approved_at: str = ""

    @property
    def prefix(self) -> str:
        """s3://bucket/models/<sha>/: where the version's other objects are."""
        return self.model_url.rsplit("/", 1)[0] + "/"

    @property
    def cutoff(self) -> float:
        return float(self.schema["decision"]["cutoff"])

    @property
    def data_sha256(self) -> str:
        return str(self.metrics["data"]["sha256"])

    @property
    def test(self) -> dict[str, Any]:
        return dict(self.metrics["evaluation"]["test"])


def model_key(archive: Path) -> str:
    """models/<sha256[:16]>/model.tar.gz: where an archive goes, and its version's objects beside it."""
    return f"{ARTIFACT_PREFIX}{sha256_of(archive)[:16]}/{MODEL_ARCHIVE}"


def get(s3: S3Client, url: str) -> bytes:
    bucket, key = split_s3(url)
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise SetupError(f"{url} is missing: the registered version's objects were deleted") from None


def upload_beside_model(
    s3: S3Client, model_url: str, bundle: Bundle, test_rows: bytes, zip_path: Path, zip_sha256: str
) -> str:
    """Upload what a deploy needs beside the (uploaded) model; returns that prefix's URL."""
    bucket, key = split_s3(model_url)
    prefix = key.rsplit("/", 1)[0] + "/"
    files: dict[str, tuple[bytes | Path, str]] = {
        METRICS_FILE: (bundle.path / METRICS_FILE, "application/json"),
        SCHEMA_FILE: (bundle.schema_path, "application/json"),
        TEST_FILE: (test_rows, "text/csv"),
        ZIP_FILE: (Path(zip_path), "application/zip"),
        ZIP_SHA_FILE: (zip_sha256.encode("ascii"), "text/plain"),
    }
    for name, (body, content_type) in files.items():
        upload_if_changed(s3, bucket, prefix + name, body, content_type=content_type)
    return f"s3://{bucket}/{prefix}"


def register(
    aws: Aws,
    group: str,
    model_url: str,
    bundle: Bundle,
    test_rows: bytes,
    zip_path: Path,
    zip_sha256: str,
    image: str,
) -> str:
    """Register the bundle whose archive is at model_url as a new version, pending manual approval; returns its ARN."""
    prefix = upload_beside_model(aws.s3, model_url, bundle, test_rows, zip_path, zip_sha256)
    metrics = bundle.metrics()
    spec: InferenceSpecificationTypeDef = {
        "Containers": [{"Image": image, "ModelDataUrl": model_url, "Environment": dict(SCRIPT_ENVIRONMENT)}],
        "SupportedContentTypes": CONTENT_TYPES,
        "SupportedResponseMIMETypes": RESPONSE_TYPES,
        "SupportedRealtimeInferenceInstanceTypes": REALTIME_INSTANCE_TYPES,
        "SupportedTransformInstanceTypes": TRANSFORM_INSTANCE_TYPES,
    }
    answer = aws.sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"{metrics['preset']} on data {metrics['data']['sha256'][:12]}",
        ModelApprovalStatus=PENDING,
        InferenceSpecification=spec,
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": prefix + METRICS_FILE}},
            "ModelDataQuality": {"Constraints": {"ContentType": "application/json", "S3Uri": prefix + SCHEMA_FILE}},
        },
        CustomerMetadataProperties={
            "decision_cutoff": str(bundle.schema()["decision"]["cutoff"]),
            "data_sha256": str(metrics["data"]["sha256"]),
            "lambda_zip_sha256": zip_sha256,
        },
    )
    return str(answer["ModelPackageArn"])


def next_step(arn: str) -> str:
    number = arn.rsplit("/", 1)[1]
    return (
        f"python -m ml registry compare {number} <champion>,"
        f' make approve VERSION={number} NOTE="why", make deploy-model VERSION={number}'
    )


def versions(aws: Aws, group: str) -> list[Version]:
    """Every version of the group, oldest first, with what S3 holds beside its model."""
    arns: list[str] = []
    for page in aws.sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        arns += [p["ModelPackageArn"] for p in page["ModelPackageSummaryList"]]
    found = []
    for arn in arns:
        d = aws.sm.describe_model_package(ModelPackageName=arn)
        container = d["InferenceSpecification"]["Containers"][0]
        url = container["ModelDataUrl"]
        prefix = url.rsplit("/", 1)[0] + "/"
        status = str(d["ModelApprovalStatus"])
        modified = d.get("LastModifiedTime") or d["CreationTime"]
        found.append(
            Version(
                number=int(d["ModelPackageVersion"]),
                arn=arn,
                status=status,
                note=str(d.get("ApprovalDescription", "")),
                model_url=url,
                image=container["Image"],
                metrics=json.loads(get(aws.s3, prefix + METRICS_FILE)),
                schema=json.loads(get(aws.s3, prefix + SCHEMA_FILE)),
                approved_at=rfc3339(modified) if status == APPROVED else "",
            )
        )
    return sorted(found, key=lambda v: v.number)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def find(found: list[Version], number: int) -> Version:
    for v in found:
        if v.number == number:
            return v
    known = ", ".join(str(v.number) for v in found) or "none"
    raise SetupError(f"no version {number} in the registry (versions: {known})")


def champion(found: list[Version]) -> Version | None:
    approved = [v for v in found if v.status == APPROVED]
    return approved[-1] if approved else None


def check_note(note: str) -> str:
    """A note the registry keeps as ApprovalDescription: at most 1024 characters (UpdateModelPackage)."""
    if len(note) > NOTE_MAX:
        raise SetupError(f"NOTE is {len(note)} characters: the registry keeps at most {NOTE_MAX}")
    return note


def rollback_note(to: int, note: str, day: str) -> str:
    """What a version left by a rollback is Rejected with."""
    return f"rolled back to version {to} on {day}" + (f": {note}" if note.strip() else "")


def reject(aws: Aws, v: Version, note: str) -> None:
    check_note(note)
    aws.sm.update_model_package(ModelPackageArn=v.arn, ModelApprovalStatus=REJECTED, ApprovalDescription=note)


def listing(found: list[Version]) -> str:
    lines = [f"{'version':>7}  {'status':<21}  {'AUC':>5}  {'$/1,000':>8}  {'cutoff':>6}  data          note"]
    for v in found:
        t = v.test
        auc = f"{t['auc']:.3f}" if t.get("auc") is not None else "  -  "
        lines.append(
            f"{v.number:>7}  {v.status:<21}  {auc:>5}  {t['cost_per_1000']:>8,.0f}  {v.cutoff:>6.2f}"
            f"  {v.data_sha256[:12]}  {v.note}"
        )
    return "\n".join(lines)


def purge(aws: Aws, group: str) -> int:
    """Delete every version of the group (SageMaker refuses to delete a group that has any);
    returns how many. For `make destroy` only: the data bucket with the models goes too."""
    arns: list[str] = []
    for page in aws.sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        arns += [p["ModelPackageArn"] for p in page["ModelPackageSummaryList"]]
    for arn in arns:
        aws.sm.delete_model_package(ModelPackageName=arn)
    return len(arns)
