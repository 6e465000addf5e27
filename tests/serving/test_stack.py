"""``python -m ml stack`` as a real process: page, config.js, /predict through the Lambda handler."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xgboost as xgb

from ml.features.encoder import FeatureEncoder

from .conftest import CHURNER, LOYAL, ROOT, http, start_stack, stop, wait_http

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(serving_bundle, tmp_path_factory):
    with start_stack(serving_bundle, tmp_path_factory.mktemp("stack")) as started:
        yield started


def predict(base: str, payload) -> tuple[int, dict]:
    status, _, body = http(base + "/predict", json.dumps(payload).encode(), {"Content-Type": "application/json"})
    return status, json.loads(body)


def test_predictions_equal_in_process_booster(stack, booster, schema):
    records = [CHURNER, LOYAL, {**CHURNER, "CustServ Calls": 0, "Int'l Plan": "no"}, {**LOYAL, "Day Mins": 350.0}]
    status, answer = predict(stack["base"], records)
    assert status == 200, answer
    encoder = FeatureEncoder(schema)
    import numpy as np

    vectors = np.array([encoder.encode(r) for r in records], dtype=np.float64)
    truth = booster.predict(xgb.DMatrix(vectors))
    assert answer["cutoff"] == schema["decision"]["cutoff"]
    for got, want in zip(answer["predictions"], truth):
        assert abs(got["churn_probability"] - float(want)) <= 1e-6
        assert got["will_churn"] == (got["churn_probability"] >= answer["cutoff"])


def test_page_and_config(stack, schema):
    status, headers, body = http(stack["base"] + "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body == (ROOT / "web" / "index.html").read_bytes()
    status, headers, body = http(stack["base"] + "/config.js")
    assert status == 200 and "javascript" in headers["content-type"]
    match = re.fullmatch(r"window\.CHURN_CONFIG = (\{.*\});\n", body.decode(), re.DOTALL)
    assert match
    config = json.loads(match.group(1))
    assert config == {"apiUrl": stack["base"], "schema": schema}
    assert http(stack["base"] + "/../pyproject.toml")[0] == 404
    assert http(stack["base"] + "/nothing-here.js")[0] == 404


def test_errors_and_preflight_through_the_adapter(stack):
    status, answer = predict(stack["base"], {**CHURNER, "State": "QQ"})
    assert status == 400 and "State" in answer["error"]
    status, headers, _ = http(
        stack["base"] + "/predict",
        method="OPTIONS",
        headers={"Origin": stack["base"], "Access-Control-Request-Method": "POST"},
    )
    assert status == 204 and headers["access-control-allow-origin"] == stack["base"]
    status, _, _ = http(stack["base"] + "/predict", b"x", {"Content-Type": "text/plain"})
    assert status == 415


def test_model_server_restart(stack):
    """Kill the model server: /predict answers 503; a new one on the same port: 200 again."""
    text = stack["log"].read_text()
    pid = int(re.search(r"model server pid (\d+)", text).group(1))
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, answer = predict(stack["base"], CHURNER)
        if status != 200:
            break
        time.sleep(0.2)
    assert status == 503, answer
    port = stack["model_port"]
    replacement = subprocess.Popen(
        [sys.executable, "-m", "ml", "serve", "--model", str(stack["bundle"]), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", replacement)
        status, answer = predict(stack["base"], CHURNER)
        assert status == 200, answer
        assert stack["proc"].poll() is None
    finally:
        stop(replacement)


def test_sigterm_stops_both(serving_bundle, tmp_path):
    with start_stack(serving_bundle, tmp_path) as started:
        started["proc"].send_signal(signal.SIGTERM)
        assert started["proc"].wait(timeout=30) == 0
        pid = started["model_pid"]
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
