"""`python -m ml.sagemaker.publish --model build/model`: a locally trained bundle, ready for Terraform.

Uploads the bundle's model.tar.gz to the data bucket under a content-addressed key
(``models/<sha256[:16]>/model.tar.gz``: the same model is never uploaded twice, and a new
model gets a new URL, hence a new SageMaker model name and an endpoint roll-over), then
writes build/model.auto.tfvars.json exactly as SageMaker training does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.model.bundle import MODEL_ARCHIVE, Bundle, check_servable
from ml.sagemaker import handoff, tf_outputs
from ml.sagemaker.aws import Aws, image_uri, run_cli, sha256_of, upload_if_changed
from ml.sagemaker.settings import ARTIFACT_PREFIX
from ml.sagemaker.tf_outputs import SetupError

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


def model_key(archive: Path) -> str:
    return f"{ARTIFACT_PREFIX}{sha256_of(archive)[:16]}/{MODEL_ARCHIVE}"


def upload_model(s3: S3Client, bucket: str, bundle: Bundle) -> tuple[str, bool]:
    """(s3 URL of the bundle's archive, whether it was uploaded now). Refuses an archive the container would."""
    archive = bundle.model_archive
    if not archive.is_file():
        raise SetupError(f"{archive}: no model archive (train first: make train)")
    check_servable(archive)  # a loadable xgboost-model and the inference script, nothing else
    key = model_key(archive)
    uploaded = upload_if_changed(s3, bucket, key, archive, content_type="application/gzip")
    return f"s3://{bucket}/{key}", uploaded


def publish(
    aws: Aws, bundle: Bundle, bucket: str, tfvars_path: Path | None = None, zip_path: Path | None = None
) -> tuple[str, bool, Path, dict[str, Any]]:
    url, uploaded = upload_model(aws.s3, bucket, bundle)
    path, values = handoff.write_tfvars(bundle.path, url, image_uri(aws.region), tfvars_path, zip_path)
    return url, uploaded, path, values


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.sagemaker.publish", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=Path("build/model"), help="bundle directory")
    p.add_argument("--bucket", help="data bucket (default: $CHURN_DATA_BUCKET, else terraform output data_bucket)")
    p.add_argument("--region", help="AWS region (default: the AWS config's, else us-east-1)")
    p.add_argument("--tfvars", type=Path, help="output (default: model.auto.tfvars.json beside the bundle)")
    p.add_argument("--zip", type=Path, help="Lambda zip to build (default: invoker.zip beside the bundle)")
    args = p.parse_args(argv)

    def run() -> int:
        bucket = tf_outputs.resolve("data_bucket", args.bucket)
        url, uploaded, path, values = publish(
            Aws.create(args.region), Bundle(args.model), bucket, args.tfvars, args.zip
        )
        print(f"model     {url} ({'uploaded' if uploaded else 'already there'})")
        print(f"cutoff    {values['decision_cutoff']:.2f}, image {values['image_uri']}")
        print(f"tfvars    {path} (Lambda zip {values['lambda_zip_path']})")
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
