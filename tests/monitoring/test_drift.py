"""`python -m ml drift` under moto: metrics put by the test, read back with GetMetricData."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from ml import cli
from ml.model.bundle import Bundle
from ml.monitoring import LAYOUT, psi, reference

FUNCTION, ENDPOINT = "churn-invoker", "churn-endpoint"
LIVE_RECORDS = 4000


@pytest.fixture
def cloudwatch(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


@pytest.fixture(scope="module")
def monitoring(bundle_dir):
    return Bundle(bundle_dir).metrics()["monitoring"]


def put(cloudwatch, deciles, flagged_share, records=LIVE_RECORDS, function=FUNCTION):
    """What CloudWatch would extract from the invoker's EMF lines: sums per metric, split over 3 minutes."""
    dims = [{"Name": "FunctionName", "Value": function}, {"Name": "EndpointName", "Value": ENDPOINT}]
    counts = {LAYOUT.RECORDS: records, LAYOUT.FLAGGED: round(flagged_share * records)}
    counts.update({name: round(share * records) for name, share in zip(LAYOUT.SCORE_BINS, deciles, strict=True)})
    now = datetime.now(UTC)
    for minute in (5, 15, 25):
        cloudwatch.put_metric_data(
            Namespace=LAYOUT.NAMESPACE,
            MetricData=[
                {"MetricName": name, "Dimensions": dims, "Timestamp": now - timedelta(minutes=minute), "Value": n / 3}
                for name, n in counts.items()
            ],
        )


def drift(bundle_dir, capsys) -> tuple[int, str]:
    code = cli.main(
        ["drift", "--model", str(bundle_dir), "--hours", "1", "--function-name", FUNCTION, "--endpoint-name", ENDPOINT]
    )
    return code, capsys.readouterr().out


def psi_line(out: str) -> float:
    (line,) = [ln for ln in out.splitlines() if ln.startswith("PSI")]
    return float(line.split()[1])


def test_the_bundle_records_its_reference(monitoring, bundle_dir):
    assert monitoring["rows"] == Bundle(bundle_dir).metrics()["split"]["rows"]["validation"]
    assert math.isclose(sum(monitoring["score_deciles"]), 1.0, abs_tol=1e-4)
    low, high = monitoring["flagged_share_band"]
    assert low < monitoring["flagged_share"] < high
    assert monitoring["cutoff"] == Bundle(bundle_dir).schema()["decision"]["cutoff"]


def test_unchanged_distribution_is_no_drift(cloudwatch, monitoring, bundle_dir, capsys):
    put(cloudwatch, monitoring["score_deciles"], monitoring["flagged_share"])
    put(cloudwatch, [1.0] + [0.0] * 9, 0.0, function="another-function")  # other dimensions are not read
    code, out = drift(bundle_dir, capsys)
    assert code == 0, out
    assert "verdict      no drift" in out
    assert psi_line(out) < 0.01
    assert f"{LIVE_RECORDS}" in out


def test_shifted_distribution_is_drift_with_psi(cloudwatch, monitoring, bundle_dir, capsys):
    shifted = list(reversed(monitoring["score_deciles"]))  # high scores where low ones were
    put(cloudwatch, shifted, min(1.0, 3 * monitoring["flagged_share"] + 0.05))
    code, out = drift(bundle_dir, capsys)
    assert code == 1, out
    assert "verdict      drift" in out
    assert psi_line(out) >= 0.25
    assert "flagged share" in out and "outside" in out


def test_too_few_records_gives_no_verdict(cloudwatch, monitoring, bundle_dir, capsys):
    put(cloudwatch, monitoring["score_deciles"], monitoring["flagged_share"], records=30)
    code, out = drift(bundle_dir, capsys)
    assert code == 0 and "not enough data" in out and "PSI          n/a" in out


def test_no_metrics_in_the_window(cloudwatch, bundle_dir, capsys):
    code, out = drift(bundle_dir, capsys)
    assert code == 0 and "not enough data" in out


def test_bundle_without_reference_is_a_clear_error(cloudwatch, tmp_path, capsys):
    (tmp_path / "metrics.json").write_text("{}")
    code = cli.main(["drift", "--model", str(tmp_path), "--function-name", FUNCTION, "--endpoint-name", ENDPOINT])
    assert code == 2 and "no monitoring block" in capsys.readouterr().err


def test_psi():
    same = [0.1] * 10
    assert psi(same, same) == 0.0
    shifted = [0.2, 0.0] + [0.1] * 8
    # (0.2-0.1)ln(2) + (eps-0.1)ln(eps/0.1), eps = 1e-4
    expected = 0.1 * math.log(2) + (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert math.isclose(psi(same, shifted), expected)
    with pytest.raises(ValueError, match="bins"):
        psi(same, same[:9])


def test_reference_band_and_deciles():
    block = reference([0.05, 0.15, 0.35, 0.95], 0.3, "test")
    assert block["flagged_share"] == 0.5 and block["flagged_share_band"] == [0.25, 1.0]
    assert block["score_deciles"] == [0.25, 0.25, 0, 0.25, 0, 0, 0, 0, 0, 0.25]
    assert reference([0.1, 0.2], 0.9, "test")["flagged_share_band"] == [0.0, 0.01]
