"""Constants and helpers of the SageMaker tests (a module of its own: importable from every test file)."""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient

REGION = "us-east-1"
BUCKET = "churn-data-20250101000000000000000001"
ROLE = "arn:aws:iam::123456789012:role/churn-sagemaker"


def capture(client: BaseClient, operation: str) -> list[dict[str, Any]]:
    """Record the keyword arguments of every ``operation`` call made through ``client``."""
    seen: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))  # returns None: the call goes on to moto

    client.meta.events.register(f"before-parameter-build.sagemaker.{operation}", hook)
    return seen


def answer(client: BaseClient, operation: str, body: dict[str, Any]) -> None:
    """Answer every ``operation`` call with ``body`` (a non-None before-call answer: moto never sees the call)."""

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://sagemaker", 200, HTTPHeaders(), None), body

    # botocore-stubs types every handler as returning None; a before-call answer is the documented short-circuit
    client.meta.events.register(f"before-call.sagemaker.{operation}", hook)  # type: ignore[arg-type]
