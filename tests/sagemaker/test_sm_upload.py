"""Training data in S3: keys, contents (label first, no header, full width), skipped when unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.config import Settings
from ml.model.pipeline import Prepared
from ml.sagemaker.aws import Aws
from ml.sagemaker.training import upload_splits
from tests.sagemaker.sm_fixtures import BUCKET


def _rows(aws: Aws, key: str) -> list[list[str]]:
    body = aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [line.split(",") for line in body.splitlines()]


def test_keys_and_contents(aws: Aws, prep: Prepared, small_settings: Settings) -> None:
    channels = upload_splits(aws.s3, BUCKET, prep, small_settings)
    prefix = f"data/runs/{prep.provenance.sha256[:12]}-{small_settings.preset}/"
    keys = sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [prefix + "test/test.csv", prefix + "train/train.csv", prefix + "validation/validation.csv"]
    assert channels.train == f"s3://{BUCKET}/{prefix}train/"
    assert channels.validation == f"s3://{BUCKET}/{prefix}validation/"
    width = 1 + len(prep.schema["columns"])
    for name in ("train", "validation", "test"):
        rows = _rows(aws, f"{prefix}{name}/{name}.csv")
        assert len(rows) == len(prep.y[name])
        assert {len(r) for r in rows} == {width}
        assert rows[0][0] in ("0", "1")  # label first: no header row
        got = np.array(rows, dtype=float)
        np.testing.assert_array_equal(got[:, 0], prep.y[name])
        np.testing.assert_allclose(got[:, 1:], prep.x[name], rtol=0, atol=0)


def test_unchanged_files_are_skipped(aws: Aws, prep: Prepared, small_settings: Settings) -> None:
    first = upload_splits(aws.s3, BUCKET, prep, small_settings)
    assert len(first.uploaded) == 3 and not first.unchanged
    calls: list[dict[str, Any]] = []

    def put(**kwargs: Any) -> None:
        calls.append(kwargs)

    aws.s3.meta.events.register("before-call.s3.PutObject", put)
    second = upload_splits(aws.s3, BUCKET, prep, small_settings)
    assert not second.uploaded and len(second.unchanged) == 3
    assert calls == []


def test_changed_file_is_uploaded_again(aws: Aws, prep: Prepared, small_settings: Settings) -> None:
    channels = upload_splits(aws.s3, BUCKET, prep, small_settings)
    key = channels.train.split(BUCKET + "/", 1)[1] + "train.csv"
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"1,2,3\n")
    again = upload_splits(aws.s3, BUCKET, prep, small_settings)
    assert again.uploaded == (key,)


def test_sharded_train_split(aws: Aws, prep: Prepared, small_settings: Settings) -> None:
    channels = upload_splits(aws.s3, BUCKET, prep, small_settings, instance_count=3)
    assert channels.train.endswith("/train-3-shards/")
    prefix = channels.train.split(BUCKET + "/", 1)[1]
    keys = sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"])
    assert keys == [f"{prefix}part-0000{i}.csv" for i in range(3)]
    labels = np.concatenate([np.array(_rows(aws, k), dtype=np.float64)[:, 0] for k in keys])
    np.testing.assert_array_equal(labels, prep.y["train"])  # every row once, in order
