"""`python -m ml.sagemaker.endpoint_eval --model build/model`: the test split through the live endpoint.

Re-creates the bundle's held-out test split from its recorded data source (checked by
sha256), encodes it with the bundle's schema, sends it to the deployed endpoint in
mini-batches (``text/csv``, as the Lambda does), and prints the same metrics as the bundle
next to the bundle's own, plus the largest score difference against local scoring.
A healthy deployment differs by float rounding only (the same XGBoost 3.0.5 both sides).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.config import CostMatrix
from ml.data.dataset import load
from ml.data.split import split_frame
from ml.features.encoder import format_csv
from ml.features.schema import encode_frame, labels
from ml.model import evaluate as ev
from ml.model.bundle import Bundle
from ml.model.train import predict
from ml.sagemaker import tf_outputs
from ml.sagemaker.aws import Aws, run_cli
from ml.sagemaker.tf_outputs import SetupError

if TYPE_CHECKING:
    from types_boto3_sagemaker_runtime import SageMakerRuntimeClient

BATCH_ROWS = 100
TOLERANCE = 1e-5


def test_split(metrics: dict[str, Any], schema: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(encoded rows, labels) of the bundle's test split, rebuilt from its data source."""
    data = metrics["data"]
    synthetic = re.fullmatch(r"synthetic:rows=(\d+),seed=(\d+)", data["source"])
    if synthetic:
        frame, provenance = load("synthetic", int(synthetic[1]), int(synthetic[2]), quiet=True)
    else:
        frame, provenance = load(data["source"], quiet=True)
    if provenance.sha256 != data["sha256"]:
        raise SetupError(
            f"{data['source']} has changed since training"
            f" (sha256 {provenance.sha256[:12]}…, bundle {data['sha256'][:12]}…)"
        )
    split = metrics["split"]
    test = split_frame(frame, tuple(split["fractions"]), split["seed"])["test"]
    if len(test) != split["rows"]["test"]:
        raise SetupError(f"rebuilt test split has {len(test)} rows, the bundle's had {split['rows']['test']}")
    return encode_frame(test, schema), labels(test)


def parse_scores(body: bytes, expected: int) -> np.ndarray:
    text = body.decode("utf-8")
    values = [v for line in text.splitlines() for v in line.split(",") if v.strip()]
    if len(values) != expected:
        raise ValueError(f"endpoint answered {len(values)} scores for {expected} rows: {text[:120]!r}")
    return np.array([float(v) for v in values])


def endpoint_scores(
    runtime: SageMakerRuntimeClient, endpoint: str, x: np.ndarray, batch_rows: int = BATCH_ROWS
) -> np.ndarray:
    out = []
    for start in range(0, len(x), batch_rows):
        rows = x[start : start + batch_rows]
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=format_csv(rows).encode("ascii")
        )
        out.append(parse_scores(answer["Body"].read(), len(rows)))
    return np.concatenate(out) if out else np.empty(0)


def evaluate(
    runtime: SageMakerRuntimeClient, endpoint: str, bundle: Bundle, batch_rows: int = BATCH_ROWS
) -> dict[str, Any]:
    metrics, schema = bundle.metrics(), bundle.schema()
    x, y = test_split(metrics, schema)
    remote = endpoint_scores(runtime, endpoint, x, batch_rows)
    local = predict(bundle.booster(), x)
    cutoff = float(schema["decision"]["cutoff"])
    costs = CostMatrix(**schema["decision"]["costs"])
    return {
        "endpoint": ev.split_metrics(y, remote, cutoff, costs),
        "bundle": metrics["evaluation"]["test"],
        "max_abs_diff": float(np.max(np.abs(remote - local))) if len(x) else 0.0,
        "rows": len(x),
        "cutoff": cutoff,
    }


def report(endpoint: str, result: dict[str, Any]) -> str:
    e, b = result["endpoint"], result["bundle"]

    def auc(m: dict[str, Any]) -> str:
        return "n/a" if m["auc"] is None else f"{m['auc']:.4f}"

    def cm(m: dict[str, Any]) -> str:
        c = m["confusion_at_cutoff"]
        return f"TN {c['tn']:4d}  FP {c['fp']:4d}  FN {c['fn']:4d}  TP {c['tp']:4d}"

    def money(m: dict[str, Any], key: str) -> str:
        return "$" + format(m[key], ",.0f")

    return "\n".join(
        [
            f"endpoint  {endpoint}: {result['rows']} test rows in batches, cutoff {result['cutoff']:.2f}",
            f"                     {'endpoint':>24}   {'bundle (local)':>24}",
            f"AUC                  {auc(e):>24}   {auc(b):>24}",
            f"at cutoff            {cm(e):>24}   {cm(b):>24}",
            f"cost                 {money(e, 'cost'):>24}   {money(b, 'cost'):>24}",
            f"cost per 1,000       {money(e, 'cost_per_1000'):>24}   {money(b, 'cost_per_1000'):>24}",
            f"max |endpoint - local| score difference: {result['max_abs_diff']:.2e}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ml.sagemaker.endpoint_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=Path("build/model"), help="bundle directory")
    p.add_argument("--endpoint-name", help="default: $CHURN_ENDPOINT_NAME, else terraform output endpoint_name")
    p.add_argument("--region", help="AWS region (default: the AWS config's, else us-east-1)")
    p.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    p.add_argument("--tolerance", type=float, default=TOLERANCE, help="largest accepted score difference")
    args = p.parse_args(argv)

    def run() -> int:
        endpoint = tf_outputs.resolve("endpoint_name", args.endpoint_name)
        result = evaluate(Aws.create(args.region).runtime, endpoint, Bundle(args.model), args.batch_rows)
        print(report(endpoint, result))
        if result["max_abs_diff"] > args.tolerance:
            print(
                f"error: the endpoint's scores differ from the bundle's by more than {args.tolerance:g}:"
                " is it serving this bundle's model?",
                file=sys.stderr,
            )
            return 1
        return 0

    return run_cli(run)


if __name__ == "__main__":
    sys.exit(main())
