"""`python -m ml.sagemaker.publish --model build/model`: a locally trained bundle, into the registry.

Uploads the bundle's model.tar.gz to the data bucket under a content-addressed key
(``models/<sha256[:16]>/model.tar.gz``: the same model is never uploaded twice), builds its
Lambda zip, and registers the bundle in the model registry (ml.sagemaker.registry) exactly as
SageMaker training does: a new version, pending manual approval, recorded in
build/registered.json. Deploying it is `make approve`, then `make deploy-model`. The test split
registered beside it is prepared again from the same data (``--data``, checked against the
bundle's data hash): a bundle holds no rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ml.config import PRESETS
from ml.data.dataset import load
from ml.model.bundle import Bundle, check_servable
from ml.model.pipeline import Prepared, prepare
from ml.sagemaker import handoff, registry, release, tf_outputs
from ml.sagemaker.aws import Aws, image_uri, run_cli, upload_if_changed
from ml.sagemaker.settings import DEFAULT_NAME, check_name
from ml.sagemaker.tf_outputs import SetupError

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


def upload_model(s3: S3Client, bucket: str, bundle: Bundle) -> tuple[str, bool]:
    """(s3 URL of the bundle's archive, whether it was uploaded now). Refuses an archive the container would."""
    archive = bundle.model_archive
    if not archive.is_file():
        raise SetupError(f"{archive}: no model archive (train first: make train)")
    check_servable(archive)  # a loadable xgboost-model and the inference script, nothing else
    key = registry.model_key(archive)
    uploaded = upload_if_changed(s3, bucket, key, archive, content_type="application/gzip")
    return f"s3://{bucket}/{key}", uploaded


def test_split_csv(bundle: Bundle, data: str, rows: int, seed: int) -> bytes:
    """The bundle's test split, prepared again from its data; refuses other data."""
    metrics = bundle.metrics()
    frame, provenance = load(data, rows, seed, quiet=True)
    if provenance.sha256 != metrics["data"]["sha256"]:
        raise SetupError(
            f"--data {data} has SHA-256 {provenance.sha256[:12]}, the bundle was trained on"
            f" {metrics['data']['sha256'][:12]} ({metrics['data']['source']}): pass that data"
        )
    return held_out_csv(prepare(PRESETS[metrics["preset"]], frame, provenance))


def held_out_csv(prep: Prepared) -> bytes:
    """The test split as raw customers (ml.sagemaker.registry.TEST_FILE)."""
    text: str = prep.parts["test"].to_csv(index=False)
    return text.encode("utf-8")


def publish(
    aws: Aws, bundle: Bundle, bucket: str, group: str, test_rows: bytes, zip_path: Path | None = None
) -> tuple[str, bool, str]:
    """(model URL, whether uploaded now, registered version ARN)."""
    url, uploaded = upload_model(aws.s3, bucket, bundle)
    return url, uploaded, register(aws, bundle, url, group, test_rows, zip_path)


def register(aws: Aws, bundle: Bundle, url: str, group: str, test_rows: bytes, zip_path: Path | None = None) -> str:
    """Build the bundle's Lambda zip, register the uploaded bundle (pending), record it; returns the version's ARN."""
    zip_file = Path(zip_path or handoff.default_paths(bundle.path)[1])
    digest = handoff.build_lambda_zip(bundle.path, zip_file)
    package = registry.register(aws, group, url, bundle, test_rows, zip_file, digest, image_uri(aws.region))
    release.record_registered(bundle.path, package)
    return package


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.sagemaker.publish", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=Path("build/model"), help="bundle directory")
    p.add_argument("--bucket", help="data bucket (default: $CHURN_DATA_BUCKET, else terraform output data_bucket)")
    p.add_argument("--region", help="AWS region (default: the AWS config's, else us-east-1)")
    p.add_argument("--zip", type=Path, help="Lambda zip to build (default: invoker.zip beside the bundle)")
    p.add_argument("--name", default=DEFAULT_NAME, help="the stack's NAME: the model package group registered in")
    p.add_argument("--data", default="url", help="the data the bundle was trained on (its test split is registered)")
    p.add_argument("--rows", type=int, default=3333, help="rows of synthetic data")
    p.add_argument("--seed", type=int, default=42, help="seed of synthetic data")
    args = p.parse_args(argv)

    def run() -> int:
        bucket = tf_outputs.resolve("data_bucket", args.bucket)
        bundle = Bundle(args.model)
        test_rows = test_split_csv(bundle, args.data, args.rows, args.seed)
        url, uploaded, package = publish(
            Aws.create(args.region), bundle, bucket, check_name(args.name), test_rows, args.zip
        )
        print(f"model     {url} ({'uploaded' if uploaded else 'already there'})")
        print(f"registry  {package} ({registry.PENDING}: {registry.next_step(package)})")
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
