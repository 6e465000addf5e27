"""Command line: parses arguments and hands them to the module that does the work."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ml.config import PRESETS
from ml.sagemaker.settings import DEFAULT_NAME, check_name


def subcommands() -> list[str]:
    """The names of `python -m ml`'s subcommands (tests/docs checks the docs against them)."""
    return list(_build()[1].choices)


def _parser() -> argparse.ArgumentParser:
    return _build()[0]


def _build() -> tuple[argparse.ArgumentParser, Any]:
    p = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="fetch or generate the raw dataset, validate it, write it")
    _data_args(data)
    data.add_argument("--output", type=Path, default=Path("build/data/churn.csv"))

    report = sub.add_parser("report", help="exploration report (HTML + PNGs) of a raw dataset")
    _data_args(report)
    report.add_argument("--out", type=Path, default=Path("build/report"))

    train = sub.add_parser("train", help="data -> features -> split -> train -> evaluate -> bundle")
    _data_args(train)
    train.add_argument("--out", type=Path, default=Path("build/model"))
    train.add_argument("--preset", choices=sorted(PRESETS), default="default")
    train.add_argument("--backend", choices=("local", "sagemaker"), default="local")
    train.add_argument("--tune", action="store_true", help="SageMaker hyperparameter tuning job")
    train.add_argument("--instance-count", type=int, default=1, help="SageMaker training instances")
    train.add_argument("--bucket", help="data bucket (default: terraform output)")
    train.add_argument("--role-arn", help="SageMaker execution role (default: terraform output)")
    _name_arg(train)

    score = sub.add_parser("score", help="score a raw CSV with a bundle")
    score.add_argument("--model", type=Path, default=Path("build/model"))
    score.add_argument("--input", type=Path, required=True)
    score.add_argument("--output", type=Path, required=True)
    score.add_argument("--backend", choices=("local", "sagemaker"), default="local")
    score.add_argument("--bucket", help="data bucket for batch transform (default: terraform output)")
    score.add_argument("--role-arn", help="SageMaker execution role (default: terraform output)")
    _name_arg(score)
    score.add_argument(
        "--no-formula-guard",
        dest="formula_guard",
        action="store_false",
        help="write text cells starting with = + - @ tab CR as they are (default: prefix a ' so spreadsheets "
        "show them as text, not run them as formulas)",
    )
    score.add_argument(
        "--explain",
        action="store_true",
        help="add why: the top 3 reasons for and against churn of each row (field, value, probability points)",
    )

    serve = sub.add_parser("serve", help="model server with the SageMaker XGBoost container contract")
    serve.add_argument("--model", type=Path, default=Path("build/model"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8081)

    stack = sub.add_parser("stack", help="model server + local API (the Lambda handler) + web page")
    stack.add_argument("--model", type=Path, default=Path("build/model"))
    stack.add_argument("--host", default="127.0.0.1")
    stack.add_argument("--port", type=int, default=8080, help="web page and POST /predict")
    stack.add_argument("--model-port", type=int, default=8081, help="model server")

    drift = sub.add_parser("drift", help="live score deciles and flagged share (CloudWatch) against the bundle")
    drift.add_argument("--model", type=Path, default=Path("build/model"))
    drift.add_argument("--hours", type=float, default=24.0, help="window: the last N hours")
    drift.add_argument("--function-name", help="invoker Lambda (default: terraform output lambda_name)")
    drift.add_argument("--endpoint-name", help="SageMaker endpoint (default: terraform output endpoint_name)")
    drift.add_argument("--region", help="AWS region (default: the environment's)")
    reg = sub.add_parser("registry", help="the model registry: list, compare, approve, deploy, roll back")
    reg.add_argument("--group", help="model package group (default: terraform output model_package_group)")
    reg.add_argument("--region", help="AWS region (default: the environment's)")
    reg.add_argument("--model", type=Path, default=Path("build/model"), help="the bundle directory a deploy writes")
    action = reg.add_subparsers(dest="action", required=True)
    action.add_parser("list", help="every version: status, test AUC and cost per 1,000, data hash, approval note")
    compare = action.add_parser("compare", help="score version A and version B on A's test split")
    compare.add_argument("a", type=int, metavar="A")
    compare.add_argument("b", type=int, metavar="B")
    action.add_parser("purge", help="delete every version (make destroy runs it before deleting the group)")
    approve = action.add_parser("approve", help="approve a version after comparing it with the champion")
    approve.add_argument("version", help="a version number, or 'trained': the one this checkout registered last")
    approve.add_argument("--note", required=True, help="why this model (kept as the approval description)")
    approve.add_argument("--force", action="store_true", help="approve even when it costs more than the champion")
    handoff = action.add_parser("handoff", help="write the deploy's tfvars, bundle and Lambda zip for a version")
    handoff.add_argument("version", nargs="?", default="", help="an Approved version (default: the latest)")
    rollback = action.add_parser(
        "rollback",
        help="prepare: hand off the Approved version before the one serving;"
        " finish (after the apply): mark the one left Rejected",
    )
    rollback.add_argument("stage", choices=["prepare", "finish"])
    rollback.add_argument("--note", default="", help="why (kept as the rejected version's description)")
    rollback.add_argument("--endpoint-name", help="SageMaker endpoint (default: terraform output endpoint_name)")
    return p, sub


def _stack_name(value: str) -> str:
    try:
        return check_name(value)
    except ValueError as err:  # argparse would print only "invalid value" for a ValueError
        raise argparse.ArgumentTypeError(str(err)) from None


def _name_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--name",
        type=_stack_name,
        default=DEFAULT_NAME,
        help=f"--backend sagemaker: the stack's NAME (terraform's name_prefix, default {DEFAULT_NAME});"
        " SageMaker job and model names start with it, as the deploy role allows only <NAME>-*",
    )


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="url", help="'url' (the lab's dataset), a URL, a path, or 'synthetic'")
    p.add_argument("--rows", type=int, default=3333, help="rows of synthetic data")
    p.add_argument("--seed", type=int, default=42, help="seed of synthetic data")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imports are per command: `serve` must not pay for pandas/matplotlib, nor `data` for xgboost.
    if args.command == "data":
        from ml.data import dataset

        return dataset.main(args)
    if args.command == "report":
        from ml.report import explore

        return explore.main(args)
    if args.command == "train":
        if args.backend == "sagemaker":
            from ml.sagemaker import training

            return training.main(args)
        from ml.model import pipeline

        return pipeline.main(args)
    if args.command == "score":
        if args.backend == "sagemaker":
            from ml.sagemaker import batch

            return batch.main(args)
        from ml.model.lean import import_xgboost_without_sklearn

        import_xgboost_without_sklearn()  # before anything imports xgboost: scoring never needs scikit-learn
        from ml.model import batch_score as scoring

        return scoring.main(args)
    if args.command == "serve":
        from ml.model.lean import import_xgboost_without_sklearn

        import_xgboost_without_sklearn()  # the model server predicts only: 2 s less CPU at each start
        from ml.serving import model_server as serve

        return serve.main(args)
    if args.command == "stack":
        from ml.serving import local_stack as stack

        return stack.main(args)
    if args.command == "registry":
        from ml.sagemaker import registry_cli

        return registry_cli.main(args)
    if args.command == "drift":
        from ml.monitoring import drift

        return drift.main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
