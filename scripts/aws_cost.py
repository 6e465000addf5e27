"""Say what `make deploy` / `make destroy` is about to do on AWS, and roughly what it costs.

    python scripts/aws_cost.py deploy|destroy [--tune] [--mode serverless|realtime]

Prices are approx. us-east-1 on-demand list prices (checked 2025; see the SageMaker pricing
page for today's): they only size the bill, nothing here calls AWS.
"""

from __future__ import annotations

import argparse
import sys

HOURS_PER_MONTH = 730
# Approx. us-east-1 list prices, USD.
TRAINING_M5_XLARGE_PER_HOUR = 0.23  # ml.m5.xlarge training, on demand
REALTIME_M5_XLARGE_PER_HOUR = 0.23  # the lab's always-on endpoint (some 2025 listings show up to ~$0.27/h)
REALTIME_M5_LARGE_PER_HOUR = 0.115  # this project's realtime mode default
SPOT_SAVING = 0.70  # managed spot training: typically 60-90% off; the run prints the real figure
SERVERLESS_PER_GB_SECOND = 0.00002  # serverless inference compute, per GB-second of memory
SERVERLESS_PER_GB_DATA = 0.016  # serverless inference, per GB in or out
TRAINING_BILLED_MINUTES = 4  # one job on ~2,300 rows: instance start + image pull + seconds of XGBoost
TUNING_JOBS = 20
BATCH_M5_LARGE_PER_HOUR = 0.115


def money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 else f"${value:,.4f}"


def training_estimate(tune: bool) -> tuple[float, float]:
    jobs = TUNING_JOBS if tune else 1
    on_demand = jobs * TRAINING_BILLED_MINUTES / 60 * TRAINING_M5_XLARGE_PER_HOUR
    return on_demand, on_demand * (1 - SPOT_SAVING)


def serverless_month(requests: int, memory_gb: float = 2.0, seconds_per_request: float = 0.05) -> float:
    return requests * memory_gb * seconds_per_request * SERVERLESS_PER_GB_SECOND


def deploy_text(tune: bool, mode: str) -> str:
    on_demand, spot = training_estimate(tune)
    lab = REALTIME_M5_XLARGE_PER_HOUR * HOURS_PER_MONTH
    jobs = f"a tuning job of {TUNING_JOBS} spot jobs" if tune else "one managed spot training job"
    lines = [
        "make deploy will create, in your AWS account (approx. us-east-1 prices):",
        "  1. make apply-base (terraform apply, targeted): the private data bucket and the SageMaker"
        " execution role (no charge while idle)",
        f"  2. SageMaker training: {jobs} on ml.m5.xlarge",
        f"       approx. {money(spot)} with spot (on demand it would be approx. {money(on_demand)});"
        " the run prints the actual saving",
        "  3. terraform apply: SageMaker model + endpoint, Lambda invoker, HTTP API (throttled),"
        " the page (private bucket behind CloudFront, HTTPS), alarms and a dashboard",
    ]
    if mode == "serverless":
        lines += [
            "       serverless endpoint (2 GB): idle costs $0; approx. "
            f"{money(serverless_month(10_000))} per 10,000 predictions (plus cold starts of a few seconds)",
        ]
    else:
        lines += [
            f"       realtime endpoint ml.m5.large: approx. {money(REALTIME_M5_LARGE_PER_HOUR)}/h"
            f" ≈ {money(REALTIME_M5_LARGE_PER_HOUR * HOURS_PER_MONTH)}/month while it exists"
        ]
    lines += [
        "       for comparison, the lab's always-on ml.m5.xlarge endpoint:"
        f" approx. {money(REALTIME_M5_XLARGE_PER_HOUR)}/h ≈ {money(lab)}/month",
        "       Lambda, HTTP API, S3: cents at demo traffic (free tier covers most of it)",
        "  4. smoke test: one prediction through the public API",
        "Remove everything with `make destroy` (the endpoint first).",
    ]
    return "\n".join(lines)


def destroy_text() -> str:
    return "\n".join(
        [
            "make destroy will delete, in this order:",
            "  1. the SageMaker endpoint, its configuration and model"
            " (the only part that can bill by the hour in realtime mode)",
            "  2. the HTTP API, the Lambda invoker and its log groups, the page's CloudFront distribution"
            " and bucket, the alarms, the SageMaker role",
            "  3. the data bucket: refused while it still holds training data or models unless force_destroy = true",
            "     (empty it with `aws s3 rm --recursive s3://<data_bucket>` to keep nothing)",
            "After it, nothing of this project bills; training jobs already finished cost nothing more.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("deploy", "destroy"))
    p.add_argument("--tune", action="store_true", help="deploy trains with a hyperparameter tuning job")
    p.add_argument("--mode", choices=("serverless", "realtime"), default="serverless", help="terraform endpoint_mode")
    args = p.parse_args(argv)
    print(deploy_text(args.tune, args.mode) if args.action == "deploy" else destroy_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
