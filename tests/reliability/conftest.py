"""Fixtures of the reliability tests: the local stack as a real process on loopback.

Helpers (ports, waiting, stopping, example customers) come from tests/serving/conftest.py;
the bundle is the project's ``bundle_dir`` (tests/conftest.py). ``start_stack`` passes its
``env`` to ``python -m ml stack``: the handler reads its timeouts (``INVOKE_*``) from there.
"""

from __future__ import annotations

import json
import time

import pytest
from tests.serving.conftest import CHURNER, LOYAL, ROOT, free_port, http, start_stack, stop, wait_http  # noqa: F401 (re-exported)


def predict(base: str, payload, timeout: float = 30) -> tuple[int, dict, dict, float]:
    """POST /predict with a JSON payload: (status, headers, JSON answer, seconds)."""
    started = time.perf_counter()
    status, headers, body = http(
        base + "/predict",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
        timeout=timeout,
    )
    return (
        status,
        {k.lower(): v for k, v in headers.items()},
        json.loads(body),
        time.perf_counter() - started,
    )


@pytest.fixture(scope="session")
def live_stack(bundle_dir, tmp_path_factory):
    """One stack with the default settings, shared by the load, bad-input and contract tests."""
    with start_stack(bundle_dir, tmp_path_factory.mktemp("live-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def cutoff(bundle_dir) -> float:
    return json.loads((bundle_dir / "feature_schema.json").read_text())["decision"]["cutoff"]
