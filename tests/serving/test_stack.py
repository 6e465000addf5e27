"""``python -m ml stack`` as a real process: page, config.js, /predict through the Lambda handler."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xgboost as xgb

from ml.features.encoder import FeatureEncoder, format_csv
from ml.serving.inference import EXPLAIN_TYPE

from .conftest import CHURNER, LOYAL, ROOT, free_port, http, model_server_pid, start_stack, stop, wait_http

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
    assert answer["model"] == {"version": None, "approved_at": None}  # a local bundle, not from the registry
    for got, want in zip(answer["predictions"], truth, strict=True):
        assert abs(got["churn_probability"] - float(want)) <= 1e-6
        assert got["will_churn"] == (got["churn_probability"] >= answer["cutoff"])


def test_reasons_are_the_strongest_fields_of_a_direct_explain_call(stack, schema):
    """The example churner through page API -> handler -> model server: its reasons are the
    strongest fields of the model server's own explanation, folded here without reasons.py."""
    churner = schema["examples"]["churner"]
    status, answer = predict(stack["base"], churner)
    assert status == 200, answer
    vector = FeatureEncoder(schema).encode(churner)
    status, _, body = http(
        f"http://127.0.0.1:{stack['model_port']}/invocations",
        format_csv([vector]).encode(),
        {"Content-Type": "text/csv", "Accept": EXPLAIN_TYPE},
    )
    assert status == 200, body
    (direct,) = json.loads(body)["explanations"]
    (prediction,) = answer["predictions"]
    assert prediction["churn_probability"] == direct["score"]
    base_probability = 1 / (1 + math.exp(-direct["base"]))
    assert answer["explanation"]["base_probability"] == round(base_probability, 4)
    assert answer["explanation"]["points"] == "percentage points of churn probability"
    # each field's log-odds: its columns' contributions (a category's one-hot columns together)
    by_field: dict[str, float] = {}
    for column, contribution in zip(schema["columns"], direct["contributions"], strict=True):
        by_field[column["source"]] = by_field.get(column["source"], 0.0) + contribution
    scale = 100 * (direct["score"] - base_probability) / math.fsum(direct["contributions"])
    points = {name: scale * value for name, value in by_field.items() if round(scale * value, 1) != 0.0}
    strongest = sorted(points, key=lambda name: -abs(points[name]))
    told = prediction["reasons"]
    assert [r["field"] for r in told["for"]] == [n for n in strongest if points[n] > 0][:3]
    assert [r["field"] for r in told["against"]] == [n for n in strongest if points[n] < 0][:3]
    for reason in [*told["for"], *told["against"]]:
        assert reason["points"] == round(points[reason["field"]], 1), reason
        raw = churner.get(reason["field"])  # a derived total is not in the record
        if isinstance(raw, str):
            assert reason["value"].lower() == raw.lower(), reason
        elif raw is not None:
            assert reason["value"] == pytest.approx(raw, abs=0.005), reason
    assert told["for"], "the example churner has no reason to churn"
    # the listed points are part of the whole: all fields sum to the distance from the base rate
    assert math.fsum(scale * value for value in by_field.values()) == pytest.approx(
        100 * (direct["score"] - base_probability), abs=1e-6
    )


def test_the_smoke_script_passes_on_the_stacks_answer(stack):
    """scripts/smoke.py, run as `make smoke` runs it, finds the reasons well-formed."""
    command = [
        sys.executable,
        str(ROOT / "scripts" / "smoke.py"),
        "--api-url",
        stack["base"],
        "--model",
        str(stack["bundle"]),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=stack["log"].parent, check=False)
    assert done.returncode == 0, done.stderr
    assert "smoke: OK" in done.stdout and "reasons for churn: none" not in done.stdout, done.stdout


def config_of(body: bytes) -> dict:
    match = re.fullmatch(r"window\.CHURN_CONFIG = (\{.*\});\n", body.decode(), re.DOTALL)
    assert match, body[:200]
    return json.loads(match.group(1))


def expected_security_headers() -> dict[str, str]:
    """web/security_headers.json as written (CloudFront sends the same); no HSTS over plain http."""
    spec = json.loads((ROOT / "web" / "security_headers.json").read_text())
    return {
        name.lower(): value
        for name, value in spec.items()
        if not name.startswith("_") and name.lower() != "strict-transport-security"
    }


def test_page_and_config(stack, schema):
    status, headers, body = http(stack["base"] + "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert body == (ROOT / "web" / "index.html").read_bytes()
    status, headers, body = http(stack["base"] + "/config.js")
    assert status == 200 and "javascript" in headers["content-type"]
    # What Terraform writes too: apiUrl "" = POST /predict on the page's own origin.
    assert config_of(body) == {"apiUrl": "", "schema": schema}
    assert http(stack["base"] + "/../pyproject.toml")[0] == 404
    assert http(stack["base"] + "/nothing-here.js")[0] == 404
    assert http(stack["base"] + "/security_headers.json")[0] == 404  # server configuration, not the page


def test_config_ignores_the_host_header(stack):
    """``Host: evil.example`` must not become the page's API origin, nor enter its CSP."""
    status, headers, body = http(stack["base"] + "/config.js", headers={"Host": "evil.example"})
    assert status == 200
    assert config_of(body)["apiUrl"] == ""
    assert "evil" not in body.decode() and "evil" not in headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/", "/index.html", "/config.js", "/style.css", "/js/app.js", "/nothing-here"])
def test_page_responses_carry_the_security_headers(stack, path):
    status, headers, _ = http(stack["base"] + path)
    assert status in (200, 404)
    got = {k.lower(): v for k, v in headers.items()}
    for name, value in expected_security_headers().items():
        assert got.get(name) == value, (path, name)
    assert "strict-transport-security" not in got  # ignored by browsers over http (RFC 6797 8.1)
    # The page's API is on its own origin, here as behind CloudFront: nothing else may be named.
    assert "; connect-src 'self';" in got["content-security-policy"]


@pytest.mark.parametrize(
    "path",
    ["/%00", "/js/%00app.js", "/" + "a" * 300, "/js/" + "b" * 256 + ".js", "/%2e%2e/pyproject.toml",
     "/js/../../pyproject.toml", "/..%2fpyproject.toml", "/web/index.html", "/js/"],
    ids=["nul", "nul-in-js", "300-char-name", "256-char-js", "encoded-dot-dot", "dot-dot", "encoded-slash",
         "source-tree", "js-directory"],
)  # fmt: skip
def test_hostile_static_paths_are_404_json(stack, path):
    status, headers, body = http(stack["base"] + path)
    assert status == 404, (path, body[:200])
    assert headers["content-type"] == "application/json" and json.loads(body)["error"] == "not found"
    assert "Traceback" not in stack["log"].read_text()


@pytest.mark.parametrize("path", ["/x/predict", "/predict/", "/api/predict", "/predictx", "/PREDICT"])
def test_only_the_exact_predict_path_is_routed(stack, path):
    status, _, body = http(stack["base"] + path, json.dumps(CHURNER).encode(), {"Content-Type": "application/json"})
    assert status == 404, (path, body[:200])
    assert json.loads(body)["error"]


def test_errors_and_no_cors_through_the_adapter(stack):
    """The page is on the API's origin (as behind CloudFront): no CORS header, for anyone."""
    status, answer = predict(stack["base"], {**CHURNER, "State": "QQ"})
    assert status == 400 and "State" in answer["error"]
    for origin in (stack["base"], "https://elsewhere.example"):
        status, headers, _ = http(
            stack["base"] + "/predict",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert status == 204 and not [h for h in headers if h.lower().startswith("access-control-allow-origin")]
        status, headers, _ = http(
            stack["base"] + "/predict",
            json.dumps(CHURNER).encode(),
            {"Content-Type": "application/json", "Origin": origin},
        )
        assert status == 200 and not [h for h in headers if h.lower().startswith("access-control-")]
    status, _, _ = http(stack["base"] + "/predict", b"x", {"Content-Type": "text/plain"})
    assert status == 415


def test_model_server_restart(stack):
    """Kill the model server: /predict answers 503; a new one on the same port: 200 again."""
    text = stack["log"].read_text()
    pid = model_server_pid(text)
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


def test_sigterm_while_the_workers_start_stops_everything(serving_bundle, tmp_path):
    """SIGTERM as soon as the HTTP server starts (its workers still loading): the stack still exits."""
    port, model_port = free_port(), free_port()
    log_path = tmp_path / "stack.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ml", "stack", "--model", str(serving_bundle), "--host", "127.0.0.1",
             "--port", str(port), "--model-port", str(model_port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # a group of its own: if it hangs, the cleanup ends workers and model server too
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "Churn demo" not in log_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.05)
        model_pid = model_server_pid(log_path.read_text())
        time.sleep(1.0)  # the server's workers are spawned and still importing boto3 and the handler
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log_path.read_text()[-2000:]
        status = Path(f"/proc/{model_pid}/status")
        assert not status.exists() or "zombie" in status.read_text().lower()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
