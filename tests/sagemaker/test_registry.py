"""The model registry against moto: register, list, compare, approve (every request shape-checked)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from ml.config import CostMatrix, Settings
from ml.data.dataset import parse_raw
from ml.features.schema import encode_frame
from ml.model import evaluate as ev
from ml.model.bundle import METRICS_FILE, MODEL_ARCHIVE, SCRIPT_ENVIRONMENT, Bundle, model_archive_bytes
from ml.model.pipeline import Prepared
from ml.model.train import predict
from ml.sagemaker import approval, handoff, registry
from ml.sagemaker.aws import Aws, image_uri, split_s3
from ml.sagemaker.publish import held_out_csv, upload_model
from ml.sagemaker.settings import DEFAULT_NAME
from ml.sagemaker.tf_outputs import SetupError
from ml.serving.inference import EXPLAIN_TYPE
from tests.sagemaker.sm_fixtures import BUCKET, REGION, answer, capture

GROUP = DEFAULT_NAME  # the aws fixture creates it, as Terraform does


def inverted_bundle(good: Path, prep: Prepared, settings: Settings, out: Path) -> Path:
    """The same bundle with a booster trained on inverted labels (worse on purpose: on 600 synthetic rows
    shuffled labels can beat the real model by chance), its test metrics recomputed."""
    shutil.copytree(good, out)
    labels = 1 - prep.y["train"]
    params = {"objective": "binary:logistic", "max_depth": 2, "seed": 7}
    booster = xgb.train(params, xgb.DMatrix(prep.x["train"], label=labels), num_boost_round=5)
    (out / MODEL_ARCHIVE).write_bytes(model_archive_bytes(booster))
    metrics = json.loads((out / METRICS_FILE).read_text())
    cutoff = float(Bundle(out).schema()["decision"]["cutoff"])
    metrics["evaluation"]["test"] = ev.split_metrics(
        prep.y["test"], predict(booster, prep.x["test"]), cutoff, CostMatrix(**metrics["costs"])
    )
    (out / METRICS_FILE).write_text(json.dumps(metrics))
    return out


@pytest.fixture
def registered(
    aws: Aws, local_bundle: Path, prep: Prepared, small_settings: Settings, tmp_path: Path
) -> tuple[Aws, list[str], list[dict]]:
    """Version 1: the real bundle; version 2: the inverted-label challenger."""
    created = capture(aws.sm, "CreateModelPackage")
    test_rows = held_out_csv(prep)
    arns = []
    bundles = [local_bundle, inverted_bundle(local_bundle, prep, small_settings, tmp_path / "worse")]
    for i, path in enumerate(bundles):
        zip_path = tmp_path / f"invoker-{i}.zip"
        digest = handoff.build_lambda_zip(path, zip_path)
        url, _ = upload_model(aws.s3, BUCKET, Bundle(path))
        arns.append(registry.register(aws, GROUP, url, Bundle(path), test_rows, zip_path, digest, image_uri(REGION)))
    return aws, arns, created


def test_register_creates_pending_versions_with_everything_a_deploy_needs(
    registered, local_bundle: Path, prep: Prepared
) -> None:
    aws, arns, created = registered
    assert [a.rsplit("/", 1)[1] for a in arns] == ["1", "2"]
    request = created[0]
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    spec = request["InferenceSpecification"]
    assert spec["Containers"][0]["Environment"] == SCRIPT_ENVIRONMENT
    assert spec["SupportedContentTypes"] == ["text/csv", "text/libsvm"]
    assert spec["SupportedResponseMIMETypes"] == ["text/csv", "application/json", EXPLAIN_TYPE]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] and spec["SupportedTransformInstanceTypes"]
    bundle = Bundle(local_bundle)
    assert request["CustomerMetadataProperties"]["data_sha256"] == bundle.metrics()["data"]["sha256"]
    described = aws.sm.describe_model_package(ModelPackageName=arns[0])
    url = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    assert url.endswith("/model.tar.gz") and described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["InferenceSpecification"]["Containers"][0]["Image"] == image_uri(REGION)
    # From the package and S3 alone: the metrics it points at, and the rest beside the model.
    stats = described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    prefix = url.rsplit("/", 1)[0] + "/"
    assert stats == prefix + "metrics.json"

    def body(name: str) -> bytes:
        return aws.s3.get_object(Bucket=BUCKET, Key=split_s3(prefix + name)[1])["Body"].read()

    assert body("model.tar.gz") == bundle.model_archive.read_bytes()
    assert json.loads(body("feature_schema.json")) == bundle.schema()
    customers = parse_raw(body("test_customers.csv"), "test")  # raw: each version encodes them itself
    assert len(customers) == bundle.metrics()["evaluation"]["test"]["rows"]
    np.testing.assert_array_equal(encode_frame(customers, bundle.schema()), prep.x["test"])
    assert len(body("invoker.zip")) > 0 and len(body("invoker.zip.sha256")) == 44


def test_versions_lists_status_metrics_and_data_hash(registered, local_bundle: Path) -> None:
    aws, _arns, _created = registered
    found = registry.versions(aws, GROUP)
    assert [(v.number, v.status) for v in found] == [(1, "PendingManualApproval"), (2, "PendingManualApproval")]
    metrics = Bundle(local_bundle).metrics()
    assert found[0].test["auc"] == metrics["evaluation"]["test"]["auc"]
    assert found[0].data_sha256 == metrics["data"]["sha256"]
    text = registry.listing(found)
    assert f"{metrics['evaluation']['test']['cost_per_1000']:,.0f}" in text and metrics["data"]["sha256"][:12] in text


def test_compare_scores_both_on_the_newer_versions_test_split(registered, tmp_path: Path) -> None:
    aws, _arns, _created = registered
    found = registry.versions(aws, GROUP)
    good, worse = approval.compare(aws, found[0], found[1], tmp_path)
    # Version 1 rescored from S3 matches what its bundle recorded on the same rows.
    assert good.auc == pytest.approx(found[0].test["auc"])
    assert good.cost_per_1000 == pytest.approx(found[0].test["cost_per_1000"])
    assert worse.cost_per_1000 > good.cost_per_1000 and worse.auc < good.auc


def test_approve_refuses_a_costlier_challenger_unless_forced(registered, tmp_path: Path) -> None:
    aws, _arns, _created = registered
    said: list[str] = []
    first = approval.approve(aws, GROUP, 1, "baseline", False, tmp_path, said.append)
    assert first.status == "Approved" and first.note == "baseline"
    with pytest.raises(approval.Refused, match="version 2 costs"):
        approval.approve(aws, GROUP, 2, "try it", False, tmp_path, said.append)
    assert "version 1:" in said[-1] and "version 2:" in said[-1]  # both figures, even when refused
    assert registry.versions(aws, GROUP)[1].status == "PendingManualApproval"
    forced = approval.approve(aws, GROUP, 2, "shadow test", True, tmp_path, said.append)
    assert forced.status == "Approved" and forced.note == "shadow test"
    assert registry.champion(registry.versions(aws, GROUP)).number == 2  # type: ignore[union-attr]
    assert "shadow test" in registry.listing(registry.versions(aws, GROUP))


def test_approve_needs_a_note_and_a_known_version(registered, tmp_path: Path) -> None:
    aws, _arns, _created = registered
    with pytest.raises(SetupError, match="needs a note"):
        approval.approve(aws, GROUP, 1, " ", False, tmp_path)
    with pytest.raises(SetupError, match=r"no version 9 .*versions: 1, 2"):
        approval.approve(aws, GROUP, 9, "x", False, tmp_path)


def test_cli_list_compare_and_approve(registered, capsys: pytest.CaptureFixture[str]) -> None:
    from ml import cli

    assert cli.main(["registry", "--group", GROUP, "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listed[1:]] == [["1", "PendingManualApproval"], ["2", "PendingManualApproval"]]
    assert cli.main(["registry", "--group", GROUP, "compare", "1", "2"]) == 0
    compared = capsys.readouterr().out
    assert "version 1:" in compared and "version 2:" in compared and "per 1,000 customers" in compared
    assert compared.startswith("on version 2's test split"), "the newer version's customers, in either order"
    assert cli.main(["registry", "--group", GROUP, "approve", "1", "--note", "first"]) == 0
    assert cli.main(["registry", "--group", GROUP, "approve", "2", "--note", "worse"]) == 1
    out, err = capsys.readouterr()
    assert "version 2:" in out and err.startswith("refused: version 2 costs")
    assert cli.main(["registry", "--group", GROUP, "approve", "7", "--note", "x"]) == 2
    assert "no version 7" in capsys.readouterr().err


def test_publish_registers_the_test_split_of_the_bundles_own_data(local_bundle: Path, prep: Prepared) -> None:
    from ml.sagemaker import publish

    bundle = Bundle(local_bundle)
    assert publish.test_split_csv(bundle, "synthetic", 600, 42) == publish.held_out_csv(prep)
    with pytest.raises(SetupError, match="the bundle was trained on"):
        publish.test_split_csv(bundle, "synthetic", 601, 42)


def test_purge_deletes_every_version(registered) -> None:
    """make destroy's step before the group goes (SageMaker refuses a group with versions).
    moto 5.2.5 has no DeleteModelPackage: the call is only shape-checked here, answered by the stub."""
    aws, arns, _created = registered
    deleted = capture(aws.sm, "DeleteModelPackage")
    answer(aws.sm, "DeleteModelPackage", {})
    assert registry.purge(aws, GROUP) == 2
    assert [d["ModelPackageName"] for d in deleted] == arns
