"""Batch Transform: the CreateTransformJob/CreateModel requests and the join of the job's output."""

from __future__ import annotations

import fnmatch
import json
import os
import stat
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ml.cli import main
from ml.data.dataset import to_csv_bytes
from ml.data.synthetic import generate
from ml.model.batch_score import score_file
from ml.model.bundle import Bundle
from ml.sagemaker import batch
from ml.sagemaker.aws import Aws, JobFailed
from ml.sagemaker.settings import DEFAULT
from ml.serving import inference
from tests.botocore_shapes import RequestValidator, request_violations
from tests.sagemaker.sm_fixtures import BUCKET, ROLE, answer, capture

FAST = DEFAULT.replace(poll_s=0)


def quiet(_line: str) -> None:
    pass


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def raw_csv(tmp_path: Path) -> Path:
    frame = generate(57, seed=5)
    frame["Phone"] = frame["Phone"].where(frame.index % 5 != 0, "=1+2")  # the formula guard has work to do
    path = tmp_path / "customers.csv"
    path.write_bytes(to_csv_bytes(frame))
    return path


def fake_transform(
    aws: Aws, bundle: Bundle, corrupt: bool = False, payload_bytes: int | None = None, separator: bytes = b""
) -> list[dict[str, Any]]:
    """After CreateTransformJob, write what the job would: the real inference script's answer
    (``model_fn`` on the bundle's archive, ``transform_fn`` with the request's ContentType and
    Accept) to each mini-batch of input lines, the answers one after another (AssembleWith Line;
    ``separator`` b"\\n" is the other reading of it, a newline added after each answer).

    Mini-batches hold whole lines up to ``payload_bytes`` (the request's MaxPayloadInMB unless
    given smaller, to make several of a small input). ``corrupt`` drops the last input line."""
    requests = capture(aws.sm, "CreateTransformJob")
    with tempfile.TemporaryDirectory() as model_dir, tarfile.open(bundle.model_archive) as archive:
        archive.extract(inference.MODEL_FILE, model_dir, filter="data")  # what SageMaker puts in /opt/ml/model
        model = inference.model_fn(model_dir)

    def after(**_: Any) -> None:
        req = requests[-1]
        source = req["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"][5:].split("/", 1)[1]
        body = aws.s3.get_object(Bucket=BUCKET, Key=source + "input.csv")["Body"].read()
        lines = body.splitlines(keepends=True)[: -1 if corrupt else None]
        limit = payload_bytes or req["MaxPayloadInMB"] * 1024 * 1024
        batches: list[list[bytes]] = [[]]
        for line in lines:
            if batches[-1] and sum(map(len, batches[-1])) + len(line) > limit:
                batches.append([])
            batches[-1].append(line)
        answers = []
        for batch_lines in batches:
            content_type, accept = req["TransformInput"]["ContentType"], req["TransformOutput"]["Accept"]
            answer, _type = inference.transform_fn(model, b"".join(batch_lines), content_type, accept)
            answers.append(answer)
        out = req["TransformOutput"]["S3OutputPath"][5:].split("/", 1)[1] + "input.csv.out"
        aws.s3.put_object(Bucket=BUCKET, Key=out, Body=separator.join(answers) + separator)

    aws.sm.meta.events.register("after-call.sagemaker.CreateTransformJob", after)
    return requests


def test_transform_request_and_joined_output(
    aws: Aws, local_bundle: Path, raw_csv: Path, tmp_path: Path, shape_check: RequestValidator
) -> None:
    bundle = Bundle(local_bundle)
    requests = fake_transform(aws, bundle)
    models = capture(aws.sm, "CreateModel")
    result = batch.score(aws, bundle, raw_csv, tmp_path / "scored.csv", BUCKET, ROLE, FAST, say=quiet, sleep=no_sleep)
    assert {"CreateModel", "CreateTransformJob", "DescribeTransformJob"} <= shape_check.operations("sagemaker")

    req = requests[0]
    assert req["ModelName"] == models[0]["ModelName"]
    assert req["TransformInput"]["ContentType"] == "text/csv"
    assert req["TransformInput"]["SplitType"] == "Line"
    assert req["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] == "S3Prefix"
    assert req["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"].startswith(f"s3://{BUCKET}/data/transform/")
    assert req["TransformOutput"]["S3OutputPath"].startswith(f"s3://{BUCKET}/models/transform/")
    assert req["TransformOutput"]["Accept"] == "text/csv" and req["TransformOutput"]["AssembleWith"] == "Line"
    assert req["TransformResources"] == {"InstanceType": DEFAULT.transform_instance_type, "InstanceCount": 1}
    container = models[0]["PrimaryContainer"]
    assert container["ModelDataUrl"].startswith(f"s3://{BUCKET}/models/") and container["ModelDataUrl"].endswith(
        "/model.tar.gz"
    )
    assert container["Image"].endswith("/sagemaker-xgboost:3.0-5")
    assert models[0]["ExecutionRoleArn"] == ROLE
    assert models[0]["EnableNetworkIsolation"] is True  # issue 9 defect 1: batch transform supports isolation

    # The encoded input: no header, no label, the model's width.
    key = req["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"][5:].split("/", 1)[1] + "input.csv"
    lines = aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
    assert len(lines) == 57 and {len(line.split(",")) for line in lines} == {len(bundle.schema()["columns"])}

    # Exactly what local scoring writes for the same file, formula cells quoted the same way.
    score_file(bundle, raw_csv, tmp_path / "local.csv")
    assert (tmp_path / "scored.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert b"'=1+2" in (tmp_path / "scored.csv").read_bytes()
    assert result["rows"] == 57 and result["labels"] is not None


@pytest.mark.parametrize("separator", [b"", b"\n"], ids=["answer-per-line", "blank-line-after-each"])
def test_explained_transform_joins_to_the_local_explained_bytes(
    aws: Aws,
    local_bundle: Path,
    raw_csv: Path,
    tmp_path: Path,
    shape_check: RequestValidator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    separator: bytes,
) -> None:
    """``ml score --backend sagemaker --explain``: the job asks for explanations, and its output
    (several mini-batches) joins to exactly what ``ml score --explain`` writes for the same file."""
    bundle = Bundle(local_bundle)
    requests = fake_transform(aws, bundle, payload_bytes=2_000, separator=separator)
    monkeypatch.setattr(Aws, "create", lambda *_a, **_k: aws)  # the CLI's client: the moto one of the fixture
    common = ["score", "--model", str(local_bundle), "--input", str(raw_csv), "--explain"]
    remote = ["--backend", "sagemaker", "--bucket", BUCKET, "--role-arn", ROLE, "--output", str(tmp_path / "sm.csv")]
    assert main([*common, *remote]) == 0, capsys.readouterr().err
    assert main([*common, "--output", str(tmp_path / "local.csv")]) == 0

    assert {"CreateModel", "CreateTransformJob", "DescribeTransformJob"} <= shape_check.operations("sagemaker")
    output = requests[0]["TransformOutput"]
    assert output["Accept"] == inference.EXPLAIN_TYPE and output["AssembleWith"] == "Line"
    key = output["S3OutputPath"][5:].split("/", 1)[1] + "input.csv.out"
    answers = aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().split("\n")
    assert len([a for a in answers if a]) > 3  # several mini-batches, each one line of JSON
    joined = (tmp_path / "sm.csv").read_bytes()
    assert joined == (tmp_path / "local.csv").read_bytes()
    assert b"'=1+2" in joined and joined.count(b"\n") == 58
    assert "57 rows scored by" in capsys.readouterr().out


def _explained_output(aws: Aws, requests: list[dict[str, Any]], change: Callable[[bytes], bytes]) -> None:
    """Rewrite the job's explained output after the stand-in wrote it (CreateTransformJob's reply)."""

    def after(**_: Any) -> None:
        key = requests[-1]["TransformOutput"]["S3OutputPath"][5:].split("/", 1)[1] + "input.csv.out"
        body = aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        aws.s3.put_object(Bucket=BUCKET, Key=key, Body=change(body))

    aws.sm.meta.events.register("after-call.sagemaker.CreateTransformJob", after)


def _drop_last_row(body: bytes) -> bytes:
    *lines, last = body.decode().rstrip("\n").split("\n")
    answer = json.loads(last)
    answer["explanations"].pop()
    return "\n".join([*lines, json.dumps(answer)]).encode() + b"\n"


BAD_OUTPUTS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "a row short": (_drop_last_row, "56 explanations for 57 input rows"),
    "an answer too many": (lambda b: b + b.split(b"\n")[0] + b"\n", "explanations for 57 input rows"),
    "scores, not explanations": (lambda b: b"0.5\n" * 57, "line 1 is not an explanations answer"),
    "a row without contributions": (
        lambda b: b.replace(b'"contributions":', b'"contribution":', 1),
        "line 1 is not an explanations answer",
    ),
}


@pytest.mark.parametrize("case", list(BAD_OUTPUTS))
def test_a_bad_explained_output_fails_and_writes_nothing(
    aws: Aws, local_bundle: Path, raw_csv: Path, tmp_path: Path, case: str
) -> None:
    bundle = Bundle(local_bundle)
    requests = fake_transform(aws, bundle, payload_bytes=2_000)
    change, message = BAD_OUTPUTS[case]
    _explained_output(aws, requests, change)
    target = tmp_path / "out" / "scored.csv"
    target.parent.mkdir()
    with pytest.raises(JobFailed, match=message):
        batch.score(aws, bundle, raw_csv, target, BUCKET, ROLE, FAST, say=quiet, sleep=no_sleep, explain=True)
    assert list(target.parent.iterdir()) == []


def test_second_run_reuses_model_and_input(aws: Aws, local_bundle: Path, raw_csv: Path, tmp_path: Path) -> None:
    bundle = Bundle(local_bundle)
    fake_transform(aws, bundle)
    models = capture(aws.sm, "CreateModel")
    puts: list[str] = []

    def put(params: dict[str, Any], **_: Any) -> None:
        puts.append(params["url_path"])

    aws.s3.meta.events.register("before-call.s3.PutObject", put)
    for name in ("a.csv", "b.csv"):
        batch.score(aws, bundle, raw_csv, tmp_path / name, BUCKET, ROLE, FAST, say=quiet, sleep=no_sleep)
    assert len(models) == 1
    uploads = [p for p in puts if "/data/transform/" in p or p.endswith("model.tar.gz")]
    assert len(uploads) == 2  # input and model once each (the .out files are the fake job's)


def test_model_name_follows_every_create_model_input() -> None:
    """A model cannot be updated: a new archive, image or role must get a new name, not reuse the old model."""
    base = ("s3://b/models/0123/model.tar.gz", "img:3.0-5", ROLE)
    names = {
        batch.model_name(*base),
        batch.model_name("s3://b/models/4567/model.tar.gz", *base[1:]),
        batch.model_name(base[0], "img:3.0-6", base[2]),
        batch.model_name(*base[:2], ROLE + "-2"),
    }
    assert len(names) == 4 and batch.model_name(*base) == batch.model_name(*base)


def test_another_name_names_the_model_and_the_transform_job(
    aws: Aws, local_bundle: Path, raw_csv: Path, tmp_path: Path
) -> None:
    """The deploy role allows SageMaker only on model/<NAME>-* and transform-job/<NAME>-* (terraform/bootstrap)."""
    bundle = Bundle(local_bundle)
    jobs = fake_transform(aws, bundle)
    models = capture(aws.sm, "CreateModel")
    result = batch.score(
        aws,
        bundle,
        raw_csv,
        tmp_path / "scored.csv",
        BUCKET,
        ROLE,
        FAST.replace(name="team-b2"),
        say=quiet,
        sleep=no_sleep,
    )
    names = [models[0]["ModelName"], jobs[0]["TransformJobName"], jobs[0]["ModelName"], result["job"]]
    assert all(fnmatch.fnmatchcase(n, "team-b2-*") for n in names), names
    assert jobs[0]["TransformOutput"]["S3OutputPath"].endswith(f"/models/transform/{jobs[0]['TransformJobName']}/")


def test_model_and_transform_job_names_are_valid_at_the_longest_name() -> None:
    longest = "a1234567-9abcde9"  # 16 characters, terraform's name_prefix maximum
    model = batch.model_name("s3://b/models/0123/model.tar.gz", "img:3.0-5", ROLE, longest)
    job = batch.transform_job_name(longest, "0123456789abcdef", now=4102444799.0)  # 2099-12-31 23:59:59 UTC
    assert job == f"{longest}-batch-20991231-235959-01234567" and model.startswith(f"{longest}-batch-")
    assert request_violations("sagemaker", "DescribeModel", {"ModelName": model}) == []
    assert request_violations("sagemaker", "DescribeTransformJob", {"TransformJobName": job}) == []
    with pytest.raises(ValueError, match="name_prefix"):
        batch.transform_job_name("Team_B", "0123abcd")


def test_output_row_count_mismatch_fails_and_writes_nothing(
    aws: Aws, local_bundle: Path, raw_csv: Path, tmp_path: Path
) -> None:
    bundle = Bundle(local_bundle)
    fake_transform(aws, bundle, corrupt=True)
    with pytest.raises(JobFailed, match="56 scores for 57 input rows"):
        batch.score(aws, bundle, raw_csv, tmp_path / "scored.csv", BUCKET, ROLE, FAST, say=quiet, sleep=no_sleep)
    assert not (tmp_path / "scored.csv").exists()


def test_failed_transform_job_raises_with_reason(aws: Aws, local_bundle: Path, raw_csv: Path, tmp_path: Path) -> None:
    answer(
        aws.sm,
        "DescribeTransformJob",
        {"TransformJobName": "j", "TransformJobStatus": "Failed", "FailureReason": "AlgorithmError: bad input"},
    )
    with pytest.raises(JobFailed, match="AlgorithmError: bad input"):
        batch.score(
            aws, Bundle(local_bundle), raw_csv, tmp_path / "scored.csv", BUCKET, ROLE, FAST, say=quiet, sleep=no_sleep
        )


def test_a_special_output_is_refused_before_any_job(bundle_dir, tmp_path, capsys, monkeypatch):
    """``ml score --backend sagemaker --output <FIFO>``: refused (ml.atomic) before Terraform is
    asked for the bucket, so before a transform job is paid for; the FIFO stays a FIFO."""
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "no-terraform-here"))  # reaching it would say so
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv_bytes(generate(20, seed=3)))
    target = tmp_path / "out.csv"
    os.mkfifo(target)
    args = ["score", "--backend", "sagemaker", "--model", str(bundle_dir), "--input", str(source)]
    rc = main([*args, "--output", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and f"--output {target}: is a FIFO" in err and "terraform" not in err, err
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
