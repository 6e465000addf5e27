"""The model registry: SageMaker model package versions in the group Terraform owns.

``register`` adds a version, PendingManualApproval, for a bundle whose archive is in S3;
``versions`` lists them; ``approve`` approves one after comparing it with the champion (the
latest Approved version) on the candidate's own test split, and refuses a challenger that
costs more per 1,000 customers unless forced.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import xgboost as xgb

from ml.config import CostMatrix
from ml.data.dataset import parse_raw
from ml.features.schema import encode_frame, labels
from ml.model import evaluate as ev
from ml.model.bundle import METRICS_FILE, MODEL_ARCHIVE, SCHEMA_FILE, SCRIPT_ENVIRONMENT, Bundle, load_archive
from ml.model.train import predict
from ml.sagemaker.aws import Aws, split_s3, upload_if_changed
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
TEST_FILE = "held_out_csv.csv"  # raw rows, header, label: every version can encode them
ZIP_FILE = "invoker.zip"
ZIP_SHA_FILE = "invoker.zip.sha256"
CONTENT_TYPES = ["text/csv", "text/libsvm"]  # what the container accepts (others: 415)
RESPONSE_TYPES = ["text/csv", "application/json", EXPLAIN_TYPE]
# The endpoint module's default and the lab's instance (terraform/modules/endpoint validates them).
REALTIME_INSTANCE_TYPES: list[ProductionVariantInstanceTypeType] = ["ml.m5.large", "ml.m5.xlarge"]
TRANSFORM_INSTANCE_TYPES: list[TransformInstanceTypeType] = ["ml.m5.large", "ml.m5.xlarge"]


class Refused(RuntimeError):
    """approve would make a costlier model the champion without force."""


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


@dataclass(frozen=True)
class Score:
    version: int
    cutoff: float
    auc: float
    cost_per_1000: float
    confusion: dict[str, int]


def held_out_customers(aws: Aws, v: Version) -> pd.DataFrame:
    """The customers the version was tested on, validated as any raw data is."""
    return parse_raw(get(aws.s3, v.prefix + TEST_FILE), f"version {v.number}'s {TEST_FILE}")


def booster(aws: Aws, v: Version, workdir: Path) -> xgb.Booster:
    target = workdir / f"v{v.number}-{MODEL_ARCHIVE}"
    target.write_bytes(get(aws.s3, v.model_url))
    return load_archive(target)


def split_of(a: Version, b: Version) -> Version:
    """Whose test customers a comparison uses: the newer version's (its split is the latest data)."""
    return max(a, b, key=lambda v: v.number)


def compare(aws: Aws, candidate: Version, other: Version, workdir: Path) -> tuple[Score, Score]:
    """Both versions scored on the newer one's test customers, each at its own cutoff, with its costs."""
    split = split_of(candidate, other)
    customers = held_out_customers(aws, split)
    y = labels(customers)
    costs = CostMatrix(**split.metrics["costs"])
    scores = []
    for v in (candidate, other):
        model, x = booster(aws, v, workdir), encode_frame(customers, v.schema)
        if model.num_features() != x.shape[1]:
            raise SetupError(
                f"version {v.number}'s model takes {model.num_features()} columns, its feature schema"
                f" encodes {x.shape[1]}: the version's objects do not belong together"
            )
        s = predict(model, x)
        matrix = ev.confusion(y, s, v.cutoff)
        auc = ev.split_metrics(y, s, v.cutoff, costs)["auc"]  # None when the split has one class
        auc = float(auc) if isinstance(auc, float) else float("nan")
        cost = 1000.0 * ev.cost(matrix, costs) / len(y)
        scores.append(Score(v.number, v.cutoff, auc, cost, matrix))
    return scores[0], scores[1]


def comparison_text(a: Score, b: Score, split: Version) -> str:
    lines = [f"on version {split.number}'s test split ({int(split.test['rows'])} rows):"]
    for s in (a, b):
        c = s.confusion
        lines.append(
            f"  version {s.version}: ${s.cost_per_1000:,.0f} per 1,000 customers at cutoff {s.cutoff:.2f},"
            f" AUC {s.auc:.3f}, tp {c['tp']} fp {c['fp']} fn {c['fn']} tn {c['tn']}"
        )
    return "\n".join(lines)


def approve(
    aws: Aws, group: str, number: int, note: str, force: bool, workdir: Path, say: Callable[[str], None] = print
) -> Version:
    if not note.strip():
        raise SetupError('approving needs a note (NOTE="why this model"): it is what the registry keeps')
    found = versions(aws, group)
    candidate = find(found, number)
    if candidate.status == APPROVED:
        say(f"version {number} is already Approved ({candidate.approved_at}): {candidate.note}")
        return candidate
    current = champion([v for v in found if v.number != number])
    if current is None:
        say(f"no approved version yet: version {number} becomes the first champion")
    else:
        mine, theirs = compare(aws, candidate, current, workdir)
        say(comparison_text(mine, theirs, split_of(candidate, current)))
        if mine.cost_per_1000 > theirs.cost_per_1000:
            if not force:
                raise Refused(
                    f"version {number} costs ${mine.cost_per_1000:,.0f} per 1,000 customers against the champion"
                    f" (version {current.number})'s ${theirs.cost_per_1000:,.0f}: not approved"
                    " (FORCE=1 to approve anyway)"
                )
            say(f"version {number} costs more than the champion: approved anyway (force)")
    aws.sm.update_model_package(ModelPackageArn=candidate.arn, ModelApprovalStatus=APPROVED, ApprovalDescription=note)
    return find(versions(aws, group), number)


def reject(aws: Aws, v: Version, note: str) -> None:
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
