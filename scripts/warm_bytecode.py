"""Compile once what the first processes of `make test` would each compile at the same moment.

On a fresh clone build/pycache (PYTHONPYCACHEPREFIX) is empty, and the three pytest-xdist
workers, the moto servers they start and the first CLI runs all import pandas, scipy, moto's
backends or the SageMaker SDK within seconds of each other: each compiles them itself. `make
test` runs this beside `make lint`, so they start with the bytecode written.

Speed only: a module missing from the lists below is compiled by its first user, as before.
"""

from __future__ import annotations

import importlib
import sys

import pytest

# moto's backends for the services the Terraform stack and the SageMaker backend call (its
# server imports a backend at the service's first request).
MOTO_SERVICES = (
    "applicationautoscaling",
    "apigatewayv2",
    "awslambda",
    "cloudfront",
    "cloudwatch",
    "iam",
    "logs",
    "s3",
    "sagemaker",
    "sagemakerruntime",
    "sns",
    "sts",
)
# Imported inside functions by ml/sagemaker, so a collection does not reach them.
LAZY = ("moto.server", "sagemaker.estimator", "sagemaker.tuner", "sagemaker.image_uris", "schemathesis.cli")


def main() -> int:
    # Every test module and what it imports at the top.
    code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider"])
    names = [*LAZY, *(f"moto.{service}.responses" for service in MOTO_SERVICES)]
    for name in names:
        importlib.import_module(name)
    return 0 if code == pytest.ExitCode.OK else int(code)


if __name__ == "__main__":
    sys.exit(main())
