"""``python -m ml drift``: the live model's score deciles and flagged share against the bundle's.

Reads the invoker's EMF metrics (sums over a time window) back with CloudWatch
GetMetricData, https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html,
and compares them with metrics.json's ``monitoring`` block (held-out validation scores):

- population stability index (PSI) over the ten score deciles;
- the flagged share against the band the drift alarm uses.

Only counts cross the wire: the metrics hold no field value and no per-customer score.
Exit status: 0 no drift (or too few records to judge), 1 drift, 2 cannot run.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ml.monitoring import LAYOUT, SETTINGS, DriftSettings, psi, shares

# GetMetricData takes at most 500 queries and answers in pages; 12 queries, one page of
# datapoints per window in practice, but NextToken is followed anyway.
PERIOD_S = 300


@dataclass(frozen=True)
class Live:
    records: float
    flagged: float
    bins: list[float]


@dataclass(frozen=True)
class Verdict:
    status: str  # "no drift", "moderate shift", "drift", "not enough data"
    psi: float | None
    live_share: float | None
    expected_share: float
    band: tuple[float, float]
    records: float
    reasons: list[str]


def read_live(cloudwatch: Any, function_name: str, endpoint_name: str, start: datetime, end: datetime) -> Live:
    """Sums of Records, Flagged and each score bin over [start, end) (GetMetricData)."""
    dimensions = [
        {"Name": LAYOUT.FUNCTION_DIMENSION, "Value": function_name},
        {"Name": LAYOUT.ENDPOINT_DIMENSION, "Value": endpoint_name},
    ]
    names = {"records": LAYOUT.RECORDS, "flagged": LAYOUT.FLAGGED}
    names.update({f"bin{i}": name for i, name in enumerate(LAYOUT.SCORE_BINS)})
    queries = [
        {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": LAYOUT.NAMESPACE, "MetricName": name, "Dimensions": dimensions},
                "Period": PERIOD_S,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for query_id, name in names.items()
    ]
    totals = dict.fromkeys(names, 0.0)
    token = None
    while True:
        kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        if token:
            kwargs["NextToken"] = token
        answer = cloudwatch.get_metric_data(**kwargs)
        for result in answer.get("MetricDataResults", []):
            totals[result["Id"]] += float(sum(result.get("Values", [])))
        token = answer.get("NextToken")
        if not token:
            break
    bins = [totals[f"bin{i}"] for i in range(len(LAYOUT.SCORE_BINS))]
    return Live(records=totals["records"], flagged=totals["flagged"], bins=bins)


def judge(reference: dict[str, Any], live: Live, settings: DriftSettings = SETTINGS) -> Verdict:
    low, high = (float(v) for v in reference["flagged_share_band"])
    expected = float(reference["flagged_share"])
    if live.records < settings.min_records:
        reason = f"{live.records:.0f} records in the window, fewer than {settings.min_records}: no verdict"
        return Verdict("not enough data", None, None, expected, (low, high), live.records, [reason])
    value = psi(reference["score_deciles"], shares(live.bins), settings.epsilon)
    share = live.flagged / live.records
    reasons = []
    if value >= settings.psi_drift:
        reasons.append(f"PSI {value:.3f} >= {settings.psi_drift}")
    if not low <= share <= high:
        reasons.append(f"flagged share {share:.3f} outside [{low:.3f}, {high:.3f}]")
    if reasons:
        status = "drift"
    elif value >= settings.psi_moderate:
        status, reasons = "moderate shift", [f"PSI {value:.3f} >= {settings.psi_moderate}"]
    else:
        status = "no drift"
    return Verdict(status, value, share, expected, (low, high), live.records, reasons)


def report(reference: dict[str, Any], live: Live, verdict: Verdict) -> str:
    live_shares = shares(live.bins)
    lines = ["decile       reference   live"]
    bins = len(live_shares)
    for i, (ref, now) in enumerate(zip(reference["score_deciles"], live_shares, strict=True)):
        close = "]" if i == bins - 1 else ")"  # a score of exactly 1.0 counts in the last bin
        lines.append(f"[{i / bins:.1f}, {(i + 1) / bins:.1f}{close}   {100 * ref:8.1f}%  {100 * now:6.1f}%")
    lines.append(f"records      {reference['rows']:9d}   {live.records:.0f}")
    share = "n/a" if verdict.live_share is None else f"{100 * verdict.live_share:.1f}%"
    band = f"[{100 * verdict.band[0]:.1f}%, {100 * verdict.band[1]:.1f}%]"
    lines.append(f"flagged      {100 * verdict.expected_share:8.1f}%  {share}  (band {band})")
    lines.append("PSI          " + ("n/a" if verdict.psi is None else f"{verdict.psi:.4f}"))
    lines.append(f"verdict      {verdict.status}" + (f": {'; '.join(verdict.reasons)}" if verdict.reasons else ""))
    return "\n".join(lines)


def _names(args: argparse.Namespace) -> tuple[str, str]:
    if args.function_name and args.endpoint_name:
        return args.function_name, args.endpoint_name
    from ml.sagemaker.tf_outputs import output

    return args.function_name or str(output("lambda_name")), args.endpoint_name or str(output("endpoint_name"))


def main(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from ml.model.bundle import Bundle
    from ml.sagemaker.tf_outputs import SetupError

    try:
        reference = Bundle(Path(args.model)).metrics().get("monitoring")
        if reference is None:
            raise SetupError(f"{args.model}/metrics.json has no monitoring block: retrain to record the reference")
        function_name, endpoint_name = _names(args)
        end = datetime.now(UTC)
        cloudwatch = boto3.client("cloudwatch", region_name=args.region)
        live = read_live(cloudwatch, function_name, endpoint_name, end - timedelta(hours=args.hours), end)
    except (OSError, ValueError, KeyError, SetupError, BotoCoreError, ClientError) as err:
        print(f"drift: {err}", file=sys.stderr)
        return 2
    verdict = judge(reference, live)
    print(
        f"function {function_name}, endpoint {endpoint_name}, last {args.hours:g} h; reference: {reference['scores']}"
    )
    print(report(reference, live, verdict))
    return 1 if verdict.status == "drift" else 0
