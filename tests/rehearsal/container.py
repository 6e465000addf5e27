"""The rehearsal's stand-in for the SageMaker XGBoost 3.0-5 container's training side.

moto completes a training job the moment it is created and writes nothing. This does what the
container does in algorithm mode (File mode, text/csv), with the same xgboost (3.0.5):
read each channel's objects from S3, load them label-first with no header
(``DMatrix('<dir>?format=csv&label_column=0')``), train with the job's own hyperparameters
(strings, as the API carries them; ``num_round`` is the round count), and write
``model.tar.gz`` holding one file, ``xgboost-model``, where DescribeTrainingJob says the job's
artifact is. Nothing here reads the project's code or a prepared file.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# Hyperparameters the container reads itself rather than passing to xgboost.train's params.
CONTAINER_ONLY = {"num_round", "early_stopping_rounds", "csv_weights", "save_model_on_termination"}


def _number(value: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _channel_dir(s3: Any, uri: str, dest: Path) -> Path:
    """Download every object under the channel's S3 prefix into dest (File mode)."""
    parsed = urlparse(uri)
    bucket, prefix = parsed.netloc, parsed.path.lstrip("/")
    dest.mkdir(parents=True)
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if not obj["Key"].endswith("/")
    ]
    if not keys:
        raise ValueError(f"channel {uri}: no objects")
    for i, key in enumerate(sorted(keys)):
        (dest / f"part-{i:05d}.csv").write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return dest


def train_job(sm: Any, s3: Any, job_name: str) -> str:
    """Train the job as the container would; returns the S3 URL of the model.tar.gz written."""
    import xgboost as xgb

    job = sm.describe_training_job(TrainingJobName=job_name)
    hyper = {k: str(v) for k, v in job.get("HyperParameters", {}).items()}
    if "num_round" not in hyper:
        raise ValueError(f"{job_name}: the container requires the num_round hyperparameter")
    params = {k: _number(v) for k, v in hyper.items() if k not in CONTAINER_ONLY and not k.startswith("_")}
    with tempfile.TemporaryDirectory() as tmp:
        matrices = {}
        for channel in job["InputDataConfig"]:
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            folder = _channel_dir(s3, uri, Path(tmp) / channel["ChannelName"])
            matrices[channel["ChannelName"]] = xgb.DMatrix(f"{folder}?format=csv&label_column=0")
        if "train" not in matrices:
            raise ValueError(f"{job_name}: no train channel")
        evals = [(m, name) for name, m in matrices.items()]
        early = int(hyper["early_stopping_rounds"]) if "early_stopping_rounds" in hyper else None
        booster = xgb.train(
            params,
            matrices["train"],
            num_boost_round=int(hyper["num_round"]),
            evals=evals,
            early_stopping_rounds=early if "validation" in matrices else None,
            verbose_eval=False,
        )
        model_file = Path(tmp) / "xgboost-model"
        booster.save_model(model_file)  # the container saves all trees, early stopping or not
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(model_file, arcname="xgboost-model")
    url = str(job["ModelArtifacts"]["S3ModelArtifacts"])
    parsed = urlparse(url)
    s3.put_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=buf.getvalue())
    return url
