"""Fixtures of the reliability tests: the local stack as a real process on loopback.

Helpers (ports, waiting, stopping, example customers) come from tests/serving/conftest.py;
the bundle is the project's ``bundle_dir`` (tests/conftest.py). ``start_stack`` passes its
``env`` to ``python -m ml stack``: the handler reads its timeouts (``INVOKE_*``) from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from serving.conftest import CHURNER, LOYAL, ROOT, free_port, stop, wait_http  # noqa: F401 (re-exported)


@contextlib.contextmanager
def start_stack(bundle: Path, log_dir: Path, env: dict[str, str] | None = None):
    """``python -m ml stack`` on free loopback ports; yields a dict (base URL, process, model port, log)."""
    port, model_port = free_port(), free_port()
    log_path = log_dir / "stack.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ml", "stack", "--model", str(bundle), "--host", "127.0.0.1",
             "--port", str(port), "--model-port", str(model_port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/config.js", proc, timeout=120)
            pid = int(
                re.search(r"model server pid (\d+)", log_path.read_text()).group(1)
            )
            yield {
                "base": base,
                "proc": proc,
                "model_port": model_port,
                "model_pid": pid,
                "log": log_path,
                "bundle": bundle,
            }
        finally:
            stop(proc)


def http(
    url: str,
    data: bytes | None = None,
    headers=None,
    method: str | None = None,
    timeout: float = 30,
):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


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
    return json.loads((bundle_dir / "feature_schema.json").read_text())["decision"][
        "cutoff"
    ]
