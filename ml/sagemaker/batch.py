"""`python -m ml score --backend sagemaker`: score a raw CSV with SageMaker Batch Transform.

raw CSV (streamed in chunks) -> encoded rows (the shared encoder, no header, no label)
-> S3 -> transform job on a SageMaker model made from the bundle's model.tar.gz
-> <input>.out (one score per line) -> joined back to the input rows: the same output
as `ml score --backend local` (input columns + churn_probability + will_churn).

``--explain``: the job asks for ``EXPLAIN_TYPE`` (the inference script's explanations, one
line of JSON per mini-batch); the join adds the reason columns from them and from the job's
own encoded input, with ``ml.model.reason_cells`` as ``ml score --explain`` does: the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from botocore.exceptions import ClientError

from ml.atomic import NotARegularFile, atomic_file, check_replaceable
from ml.data import raw_schema as rs
from ml.data.dataset import DataValidationError, parse_raw
from ml.features.encoder import format_csv
from ml.features.schema import encode_frame, labels
from ml.model.batch_score import (
    OPTIONAL_FOR_SCORING,
    append_before_line_end,
    chunks,
    header_line,
    print_label_metrics,
)
from ml.model.bundle import SCRIPT_ENVIRONMENT, Bundle
from ml.model.csv_safety import guard_cells, guarded_positions
from ml.model.reason_cells import ReasonCells
from ml.sagemaker import tf_outputs
from ml.sagemaker.aws import (
    Aws,
    clock_text,
    download,
    image_uri,
    run_cli,
    sha256_of,
    upload_if_changed,
    wait_for,
)
from ml.sagemaker.publish import upload_model
from ml.sagemaker.settings import (
    ARTIFACT_PREFIX,
    DATA_PREFIX,
    DEFAULT,
    DEFAULT_NAME,
    SageMakerSettings,
    check_name,
)
from ml.sagemaker.transform_output import ExplainedRows, JoinRows, ScoresInOrder, read_scores
from ml.serving.inference import EXPLAIN_TYPE

if TYPE_CHECKING:
    from types_boto3_sagemaker.type_defs import CreateTransformJobRequestTypeDef

INPUT_NAME = "input.csv"


@dataclass(frozen=True)
class Encoded:
    path: Path
    rows: int
    labels: np.ndarray | None


def encode_file(source: Path, schema: dict[str, Any], target: Path) -> Encoded:
    """The raw CSV as the container's text/csv, chunk by chunk; validation names the bad line."""
    rows, seen_labels = 0, []
    with open(target, "w", encoding="ascii", newline="") as out:
        for header, lines, first in chunks(source):
            frame = parse_raw(
                header + b"".join(lines), origin=str(source), optional=OPTIONAL_FOR_SCORING, first_line=first
            )
            out.write(format_csv(encode_frame(frame, schema)))
            rows += len(frame)
            if rs.LABEL in frame:
                seen_labels.append(labels(frame))
    return Encoded(target, rows, np.concatenate(seen_labels) if seen_labels else None)


def model_name(url: str, image: str, role_arn: str, name: str = DEFAULT_NAME) -> str:
    """Named after everything CreateModel is given (a model cannot be updated): a new archive, image or role
    gets a new model, the same three reuse the existing one. "<name>-": the deploy role's model/<name>-*."""
    script = json.dumps(SCRIPT_ENVIRONMENT, sort_keys=True)
    digest = hashlib.sha256(f"{url}|{image}|{role_arn}|isolated|{script}".encode()).hexdigest()
    return f"{check_name(name)}-batch-{digest[:12]}"


def transform_job_name(name: str, input_digest: str, now: float | None = None) -> str:
    """The stack's name, "-batch-", the UTC time and 8 hex digits of the input: at most 16 + 31 = 47 of the 63
    characters a transform job name may have
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html)."""
    return f"{check_name(name)}-batch-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{input_digest[:8]}"


def ensure_model(
    aws: Aws, bucket: str, bundle: Bundle, role_arn: str, image: str, name: str = DEFAULT_NAME
) -> tuple[str, str]:
    """A SageMaker model for the bundle's archive, created once, reused after.

    Network isolation: the built-in container needs no network (SageMaker itself fetches the
    archive and moves the transform data), and batch transform supports it, unlike serverless
    endpoints (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModel.html:
    the model serves hosting and batch transform; EnableNetworkIsolation isolates its container).
    """
    url, _ = upload_model(aws.s3, bucket, bundle)
    model = model_name(url, image, role_arn, name)
    try:
        aws.sm.describe_model(ModelName=model)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("ValidationException", "ResourceNotFound"):
            raise
        aws.sm.create_model(
            ModelName=model,
            ExecutionRoleArn=role_arn,
            PrimaryContainer={
                "Image": image,
                "ModelDataUrl": url,
                "Mode": "SingleModel",
                "Environment": SCRIPT_ENVIRONMENT,  # script mode: the archive's code/inference.py
            },
            EnableNetworkIsolation=True,
        )
    return model, url


def transform_request(
    job_name: str, model_name: str, input_uri: str, output_uri: str, sm: SageMakerSettings, explain: bool = False
) -> CreateTransformJobRequestTypeDef:
    return {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 6,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "text/csv",
            "SplitType": "Line",
            "CompressionType": "None",
        },
        "TransformOutput": {
            "S3OutputPath": output_uri,
            "Accept": EXPLAIN_TYPE if explain else "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {
            "InstanceType": sm.transform_instance_type,
            "InstanceCount": sm.transform_instance_count,
        },
    }


def join(
    source: Path, taken: JoinRows, cutoff: float, target: Path, formula_guard: bool = True, explain: bool = False
) -> None:
    """Input rows + the score columns (+ the reason columns), written atomically, as ml.model.batch_score
    writes them (text cells that start like a spreadsheet formula quoted, unless ``formula_guard`` is off)."""
    with atomic_file(target, "w", encoding="utf-8", newline="") as out:
        for index, (header, lines, _first) in enumerate(chunks(source)):
            text_rows = csv.reader(io.StringIO((header + b"".join(lines)).decode("utf-8-sig")))
            head = next(text_rows)
            positions = guarded_positions(head) if formula_guard else []
            if index == 0:
                out.write(header_line(head, explain).decode("utf-8"))
            rows = [row for row in text_rows if row]
            scores, tails = taken.take(len(rows))
            block = io.StringIO()
            writer = csv.writer(block, lineterminator="\n")
            for i, (row, score) in enumerate(zip(rows, scores, strict=True)):
                writer.writerow([*guard_cells(row, positions), repr(score), score >= cutoff])
                if tails is not None:
                    append_before_line_end(block, tails[i])
            out.write(block.getvalue())
        taken.finish()  # inside: an output with rows left over is not written either


def score(
    aws: Aws,
    bundle: Bundle,
    source: Path,
    target: Path,
    bucket: str,
    role_arn: str,
    sm: SageMakerSettings = DEFAULT,
    say: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    formula_guard: bool = True,
    explain: bool = False,
) -> dict[str, Any]:
    schema = bundle.schema()
    cutoff = float(schema["decision"]["cutoff"])
    with tempfile.TemporaryDirectory() as tmp:
        encoded = encode_file(Path(source), schema, Path(tmp) / INPUT_NAME)
        if encoded.rows == 0:
            raise DataValidationError(f"{source}: no rows to score")
        digest = sha256_of(encoded.path)[:16]
        input_prefix = f"{DATA_PREFIX}transform/{digest}/"
        uploaded = upload_if_changed(aws.s3, bucket, input_prefix + INPUT_NAME, encoded.path)
        state = "uploaded" if uploaded else "unchanged"
        say(f"input     {encoded.rows} rows -> s3://{bucket}/{input_prefix}{INPUT_NAME} ({state})")
        model, _url = ensure_model(aws, bucket, bundle, role_arn, image_uri(aws.region), sm.name)
        job_name = transform_job_name(sm.name, digest)
        output_uri = f"s3://{bucket}/{ARTIFACT_PREFIX}transform/{job_name}/"
        aws.sm.create_transform_job(
            **transform_request(job_name, model, f"s3://{bucket}/{input_prefix}", output_uri, sm, explain)
        )
        say(f"transform job {job_name}: model {model}, {sm.transform_instance_count} x {sm.transform_instance_type}")
        wait_for(
            lambda: aws.sm.describe_transform_job(TransformJobName=job_name),
            "transform job",
            job_name,
            "TransformJobStatus",
            sm.poll_s,
            say,
            sleep,
        )
        out_path = download(aws.s3, f"{output_uri}{INPUT_NAME}.out", Path(tmp) / f"{INPUT_NAME}.out")
        if not explain:
            taken: JoinRows = ScoresInOrder(read_scores(out_path, encoded.rows))
            join(Path(source), taken, cutoff, Path(target), formula_guard)
        else:
            with open(out_path, encoding="utf-8") as output, open(encoded.path, encoding="ascii") as rows:
                taken = ExplainedRows(output, rows, encoded.rows, ReasonCells(schema, formula_guard))
                join(Path(source), taken, cutoff, Path(target), formula_guard, explain=True)
    scores = np.array(taken.scores)
    return {"rows": encoded.rows, "cutoff": cutoff, "scores": scores, "labels": encoded.labels, "job": job_name}


def main(args: argparse.Namespace) -> int:
    bundle = Bundle(args.model)
    started = time.perf_counter()

    def run() -> int:
        try:  # before a transform job is paid for: a FIFO, /dev/null, a link is refused (ml.atomic)
            check_replaceable(Path(args.output))
        except NotARegularFile as err:
            raise tf_outputs.SetupError(f"--output {args.output}: {err.strerror}") from None
        bucket = tf_outputs.resolve("data_bucket", args.bucket)
        role = tf_outputs.resolve("sagemaker_role_arn", args.role_arn)
        sm = DEFAULT.replace(name=args.name)
        result = score(
            Aws.create(),
            bundle,
            args.input,
            args.output,
            bucket,
            role,
            sm,
            formula_guard=args.formula_guard,
            explain=args.explain,
        )
        flagged = int((result["scores"] >= result["cutoff"]).sum())
        print(
            f"{args.output}: {result['rows']} rows scored by {result['job']}, {flagged} flagged to churn"
            f" at cutoff {result['cutoff']:.2f} ({clock_text(time.perf_counter() - started)})"
        )
        print_label_metrics(result, bundle.schema())
        return 0

    return run_cli(run)
