"""endpoint_eval: the test split through sagemaker-runtime (moto's canned answers, seeded with real scores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from ml.model.bundle import Bundle
from ml.model.train import predict
from ml.sagemaker import endpoint_eval
from ml.sagemaker.aws import Aws
from ml.sagemaker.tf_outputs import SetupError
from tests.sagemaker.sm_fixtures import REGION

SEED_URL = "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results"


def seed(bodies: list[str]) -> None:
    results = [
        {"Body": b, "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}
        for b in bodies
    ]
    requests.post(SEED_URL, json={"region": REGION, "results": results}, timeout=5).raise_for_status()


def container_bodies(bundle: Bundle, batch_rows: int, shift: float = 0.0) -> list[str]:
    """What the container answers per mini-batch: one score per line (Python repr)."""
    metrics = bundle.metrics()
    x, _ = endpoint_eval.test_split(metrics, bundle.schema())
    scores = predict(bundle.booster(), x) + shift
    return ["".join(f"{float(s)!r}\n" for s in scores[i : i + batch_rows]) for i in range(0, len(x), batch_rows)]


def test_metrics_match_the_bundle(aws: Aws, local_bundle: Path) -> None:
    bundle = Bundle(local_bundle)
    bodies = container_bodies(bundle, 25)
    assert len(bodies) > 1  # several mini-batches
    seed(bodies)
    sent: list[dict[str, Any]] = []

    def invoke(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    aws.runtime.meta.events.register("before-parameter-build.sagemaker-runtime.InvokeEndpoint", invoke)
    result = endpoint_eval.evaluate(aws.runtime, "churn-endpoint", bundle, batch_rows=25)
    assert result["max_abs_diff"] == 0.0
    assert result["endpoint"] == bundle.metrics()["evaluation"]["test"]
    assert len(sent) == len(bodies)
    assert {p["ContentType"] for p in sent} == {"text/csv"} and {p["EndpointName"] for p in sent} == {"churn-endpoint"}
    first = sent[0]["Body"].decode()
    assert len(first.splitlines()) == 25 and "," in first and not first[0].isalpha()  # no header
    text = endpoint_eval.report("churn-endpoint", result)
    assert "AUC" in text and "max |endpoint - local|" in text


def test_main_fails_when_scores_differ(
    aws: Aws, local_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = Bundle(local_bundle)
    seed(container_bodies(bundle, 100, shift=0.01))

    def create(region: str | None = None) -> Aws:
        return aws

    monkeypatch.setattr(Aws, "create", create)
    assert endpoint_eval.main(["--model", str(local_bundle), "--endpoint-name", "churn-endpoint"]) == 1
    assert "differ from the bundle's" in capsys.readouterr().err


def test_short_answer_is_an_error() -> None:
    with pytest.raises(ValueError, match="2 scores for 3 rows"):
        endpoint_eval.parse_scores(b"0.1\n0.2\n", 3)


def test_changed_data_source_is_refused(local_bundle: Path) -> None:
    bundle = Bundle(local_bundle)
    metrics = {**bundle.metrics(), "data": {**bundle.metrics()["data"], "sha256": "0" * 64}}
    with pytest.raises(SetupError, match="has changed since training"):
        endpoint_eval.test_split(metrics, bundle.schema())
