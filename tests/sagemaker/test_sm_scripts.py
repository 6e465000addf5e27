"""scripts/smoke.py against a local HTTP server; scripts/aws_cost.py's text."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    path = ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"churn_script_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


smoke = load_script("smoke")
aws_cost = load_script("aws_cost")

FOR: list[dict[str, Any]] = [
    {"field": "CustServ Calls", "value": 4, "points": 31.2},
    {"field": "Int'l Plan", "value": "yes", "points": 18.5},
    {"field": "Total Charge", "value": 68.27, "points": 18.5},
]
REASONS: dict[str, Any] = {"for": FOR, "against": [{"field": "State", "value": None, "points": -0.4}]}
EXPLANATION = {"method": "TreeSHAP", "base_probability": 0.1336, "points": "percentage points of churn probability"}
ANSWER = {
    "predictions": [{"churn_probability": 0.9, "will_churn": True, "reasons": REASONS}],
    "cutoff": 0.3,
    "explanation": EXPLANATION,
    "model": {"version": "2", "approved_at": "2026-12-06T21:04:05Z"},
}


@dataclass
class Api:
    """The tiny API's state: answers to give (status, body), requests seen (path, content type, JSON)."""

    url: str = ""
    answers: list[tuple[int, Any]] = field(default_factory=list)
    seen: list[tuple[str, str, Any]] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[Api]:
    """A tiny API: answers come from a list (status, body); records what was POSTed."""
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.seen.append((self.path, self.headers["Content-Type"], json.loads(body)))
            status, payload = state.answers.pop(0) if state.answers else (200, ANSWER)
            data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def test_smoke_posts_the_example_churner(api: Api, local_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--api-url", api.url, "--model", str(local_bundle)]) == 0
    path, content_type, record = api.seen[0]
    assert path == "/predict" and content_type == "application/json"
    assert record == json.loads((local_bundle / "feature_schema.json").read_text())["examples"]["churner"]
    out = capsys.readouterr().out
    assert "smoke: OK" in out and "CustServ Calls +31.2, Int'l Plan +18.5, Total Charge +18.5" in out


def _with(
    reasons: Any = REASONS, explanation: Any = EXPLANATION, probability: float = 0.9, model: Any = ANSWER["model"]
) -> dict[str, Any]:
    prediction = {"churn_probability": probability, "will_churn": True, "reasons": reasons}
    return {"predictions": [prediction], "cutoff": 0.3, "explanation": explanation, "model": model}


def _side(side: str, items: list[Any]) -> dict[str, Any]:
    return {**REASONS, side: items}


BAD_ANSWERS = {
    "probability over 1": ({"predictions": [{"churn_probability": 1.7}]}, "not a number in [0, 1]"),
    "no predictions": ({"oops": 1}, "unexpected answer"),
    "no reasons": (_with(reasons=None), "reasons is not an object"),
    "reasons without against": (_with(reasons={"for": FOR}), "reasons is not an object"),
    "four for": (_with(reasons=_side("for", [*FOR, FOR[2]])), "reasons.for is not a list of at most 3"),
    "a reason without points": (_with(reasons=_side("for", [{"field": "State", "value": "NJ"}])), "reasons.for[0]"),
    "a nameless field": (_with(reasons=_side("for", [{**FOR[0], "field": ""}])), "reasons.for[0].field"),
    "a value list": (_with(reasons=_side("for", [{**FOR[0], "value": [4]}])), "reasons.for[0].value"),
    "a value true": (_with(reasons=_side("for", [{**FOR[0], "value": True}])), "reasons.for[0].value"),
    "points a string": (_with(reasons=_side("for", [{**FOR[0], "points": "31.2"}])), "reasons.for[0].points"),
    "against with plus points": (
        _with(reasons=_side("against", [{"field": "State", "value": "NJ", "points": 2.0}])),
        "reasons.against[0].points",
    ),
    "zero points": (_with(reasons=_side("for", [{**FOR[0], "points": 0}])), "of the side's sign"),
    "weakest first": (_with(reasons=_side("for", list(reversed(FOR)))), "not strongest first"),
    "no reason for a churner": (_with(reasons={"for": [], "against": []}), "no reason for churn"),
    "no explanation": (_with(explanation=None), "no explanation object"),
    "no method": (_with(explanation={**EXPLANATION, "method": ""}), "explanation.method"),
    "no unit": (_with(explanation={k: v for k, v in EXPLANATION.items() if k != "points"}), "explanation.points"),
    "base over 1": (_with(explanation={**EXPLANATION, "base_probability": 13.4}), "base_probability"),
    "no model": (_with(model=None), "model is not an object"),
}


def test_smoke_fails_when_another_version_answers(
    api: Api, local_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The deploy put version 3 live (its handoff says so); the API still answers with version 2."""
    tfvars = tmp_path / "model.auto.tfvars.json"
    tfvars.write_text(json.dumps({"model_version": "3"}))
    assert smoke.main(["--api-url", api.url, "--model", str(local_bundle), "--tfvars", str(tfvars)]) == 1
    assert "model version '2' answered, but the deploy put version '3' live" in capsys.readouterr().err
    tfvars.write_text(json.dumps({"model_version": "2"}))
    assert smoke.main(["--api-url", api.url, "--model", str(local_bundle), "--tfvars", str(tfvars)]) == 0
    assert "model version 2" in capsys.readouterr().out


def test_no_reason_for_is_fine_near_the_base_rate(api: Api, local_bundle: Path) -> None:
    """A probability within 10 points of the base may have every field too weak to tell."""
    api.answers = [(200, _with(reasons={"for": [], "against": []}, probability=0.2))]
    assert smoke.main(["--api-url", api.url, "--model", str(local_bundle)]) == 0


@pytest.mark.parametrize(
    ("status", "payload", "message"),
    [*((200, *BAD_ANSWERS[name]) for name in BAD_ANSWERS), (400, {"error": "field 'State': missing"}, "HTTP 400")],
    ids=[*BAD_ANSWERS, "HTTP 400"],
)
def test_smoke_fails_clearly(
    api: Api,
    local_bundle: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    payload: dict[str, Any],
    message: str,
) -> None:
    api.answers = [(status, payload)]
    assert smoke.main(["--api-url", api.url, "--model", str(local_bundle)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("smoke: FAILED") and message in err


def test_smoke_retries_cold_start(api: Api, local_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smoke.time, "sleep", lambda _seconds: None)
    api.answers = [(503, {"error": "endpoint starting"}), (504, {"message": "timeout"})]
    result = smoke.smoke(api.url, local_bundle, attempts=4, say=lambda _line: None)
    assert result["probability"] == 0.9 and len(api.seen) == 3


def test_smoke_fails_at_once_on_a_host_that_does_not_resolve(
    local_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that does not resolve is a wrong URL or no network, not a cold start: no retries."""
    sleeps: list[float] = []
    monkeypatch.setattr(smoke.time, "sleep", sleeps.append)
    with pytest.raises(smoke.SmokeFailed, match="does not resolve"):
        smoke.smoke("https://churn-smoke-test.invalid", local_bundle, attempts=4, say=lambda _line: None)
    assert sleeps == []


def test_smoke_without_api_url(local_bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.main(["--api-url", "", "--model", str(local_bundle)]) == 1
    assert "deploy a model first" in capsys.readouterr().err


def test_aws_cost_texts(capsys: pytest.CaptureFixture[str]) -> None:
    assert aws_cost.main(["deploy"]) == 0
    text = capsys.readouterr().out
    assert "spot" in text and "idle costs $0" in text and "ml.m5.xlarge" in text and "approx." in text
    assert "$167.90/month" in text  # the lab's always-on endpoint: 0.23 $/h x 730 h
    assert aws_cost.main(["destroy"]) == 0
    assert "endpoint" in capsys.readouterr().out
