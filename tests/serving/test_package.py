"""The invoker zip: reproducible, small, complete, and importable with the standard library + boto3."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "package_lambda.py"


@pytest.fixture(scope="module")
def built(serving_bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("zip")
    first, second = out / "a" / "invoker.zip", out / "b" / "invoker.zip"
    runs = [
        subprocess.run(
            [sys.executable, str(SCRIPT), "--model", str(serving_bundle), "--out", str(p), "--json"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        for p in (first, second)
    ]
    return first, second, [json.loads(r.stdout) for r in runs]


def test_deterministic_and_small(built):
    first, second, reports = built
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_size <= 50_000
    digest = base64.b64encode(hashlib.sha256(first.read_bytes()).digest()).decode()
    assert reports[0]["source_code_hash"] == digest == reports[1]["source_code_hash"]
    assert reports[0]["size"] == first.stat().st_size and reports[0]["handler"] == "handler.handler"


def test_contents(built, serving_bundle):
    with zipfile.ZipFile(built[0]) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert set(names) == {
            "handler.py",
            "invoker_event.py",
            "invoker_explained.py",
            "invoker_input.py",
            "metrics.py",
            "ml/__init__.py",
            "ml/features/__init__.py",
            "ml/features/encoder.py",
            "ml/features/reasons.py",
            "feature_schema.json",
        }
        assert archive.read("feature_schema.json") == (serving_bundle / "feature_schema.json").read_bytes()
        for shared in ("ml/features/encoder.py", "ml/features/reasons.py"):
            assert archive.read(shared) == (ROOT / shared).read_bytes()
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert (info.external_attr >> 16) & 0o777 == 0o644


def test_imports_without_numpy_pandas_xgboost(built, tmp_path):
    """Import the unpacked zip as Lambda does, isolated from the repository (python -I, another cwd),
    and answer the example churner with its reasons (the endpoint call replaced by a canned answer)."""
    with zipfile.ZipFile(built[0]) as archive:
        archive.extractall(tmp_path / "task")
    code = f"""
import json, sys
sys.path[:0] = [{str(tmp_path / "task")!r}, {sysconfig.get_paths()["purelib"]!r}]
import handler
assert handler.__file__.startswith({str(tmp_path / "task")!r}), handler.__file__
import ml.features.encoder
assert ml.features.encoder.__file__.startswith({str(tmp_path / "task")!r})
event = {{"rawPath": "/predict", "requestContext": {{"http": {{"method": "OPTIONS"}}}},
          "headers": {{"origin": "https://x.example"}}}}
answer = handler.handler(event, None)
width = handler.settings().encoder.width
row = handler.explained.Explained(0.75, 1.0986122886681098, -1.5, (2.5986122886681098,) + (0.0,) * (width - 1))
handler._invoke = lambda cfg, vectors: [row] * len(vectors)
schema = json.load(open({str(tmp_path / "task" / "feature_schema.json")!r}))
post = {{"rawPath": "/predict", "requestContext": {{"http": {{"method": "POST"}}}},
        "headers": {{"content-type": "application/json"}}, "body": json.dumps(schema["examples"]["churner"])}}
scored = handler.handler(post, None)
heavy = sorted(m for m in ("numpy", "pandas", "xgboost", "sklearn", "scipy", "matplotlib") if m in sys.modules)
print(json.dumps({{"status": answer["statusCode"], "heavy": heavy,
                   "cors": answer["headers"].get("Access-Control-Allow-Origin"),
                   "scored": scored["statusCode"], "answer": json.loads(scored["body"])}}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FEATURE_SCHEMA"))}
    env.update(ENDPOINT_NAME="e", ALLOWED_ORIGIN="https://x.example", AWS_DEFAULT_REGION="us-east-1")
    run = subprocess.run(
        [sys.executable, "-I", "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    answer = result.pop("answer")
    assert result == {"status": 204, "heavy": [], "cors": "https://x.example", "scored": 200}, answer
    assert answer["predictions"][0]["reasons"]["for"][0]["field"] == "Account Length"
    assert answer["explanation"]["base_probability"] == 0.1824
