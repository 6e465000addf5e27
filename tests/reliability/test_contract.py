"""The OpenAPI document of ``POST /predict`` (docs/openapi.json) against the running local stack.

The adapter serves the document at ``/openapi.json``; schemathesis (its CLI, in a subprocess)
generates requests from it (examples, coverage and fuzzing phases, bounded) and checks every
answer: no 5xx, a documented status, the documented content type and body schema.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.data import raw_schema as rs

from .conftest import ROOT, http

pytestmark = pytest.mark.integration

DOC = ROOT / "docs" / "openapi.json"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


def test_the_adapter_serves_the_document(live_stack):
    status, headers, body = http(live_stack["base"] + "/openapi.json")
    assert status == 200 and headers["content-type"] == "application/json"
    assert body == DOC.read_bytes()


def test_the_document_matches_the_raw_contract(bundle_dir):
    doc = json.loads(DOC.read_text())
    record = doc["components"]["schemas"]["Record"]
    assert set(record["properties"]) == set(rs.RAW_COLUMNS)
    schema = json.loads((bundle_dir / "feature_schema.json").read_text())
    assert record["required"] == schema["required"]
    for name, prop in record["properties"].items():
        kind = rs.RAW_FIELDS[name][0]
        if kind in ("int", "float"):
            assert (prop["minimum"], prop["maximum"]) == rs.bounds(name), name
        elif kind == "category" and name != "Area Code":
            assert prop["enum"] == list(rs.categories(name)), name
    responses = doc["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "404", "405", "413", "415", "502", "503", "504"} <= set(responses)


def test_schemathesis_finds_no_answer_outside_the_document(live_stack, tmp_path):
    st = Path(sys.executable).with_name("st")
    if not st.exists():
        pytest.skip("schemathesis is not installed in this environment")
    command = [
        str(st), "run", live_stack["base"] + "/openapi.json",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "60",
        "--workers", "1",
        "--seed", "1729",
        "--request-timeout", "10",
        "--no-color",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=tmp_path, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output, output[-3000:]
    assert live_stack["proc"].poll() is None
