"""Constants and helpers of the SageMaker tests (a module of its own: importable from every test file)."""

from __future__ import annotations

REGION = "us-east-1"
BUCKET = "churn-data-20250101000000000000000001"
ROLE = "arn:aws:iam::123456789012:role/churn-sagemaker"


def capture(client, operation: str) -> list[dict]:
    """Record the keyword arguments of every ``operation`` call made through ``client``."""
    seen: list[dict] = []

    def hook(params, **_):
        seen.append(dict(params))  # returns None: the call goes on to moto

    client.meta.events.register(f"before-parameter-build.sagemaker.{operation}", hook)
    return seen
