"""Smoke test of a deployed stack: POST the bundle's example churner to <api-url>/predict.

    python scripts/smoke.py --api-url URL [--model build/model]

`make smoke` passes Terraform's `api_url`: the page's own origin, so the request takes the
path the page takes (CloudFront's /predict behavior -> HTTP API -> Lambda -> endpoint) and a
broken link anywhere on it fails the smoke, the CloudFront part included (a forwarded Host
header, a wrong origin, TLS to the origin). `--api-url "$(terraform output -raw
execute_api_url)"` calls the HTTP API directly, to tell a CloudFront fault from an API one.

Passes (exit 0) when the answer holds a churn probability in [0, 1], the model that answered
(``model.version``: the version the deploy's build/model.auto.tfvars.json names, so a Lambda
left on the previous version fails it), and well-formed reasons
(at most three each way, fields named, points of the right sign, strongest first, the
explanation's method and base probability; a reason for churn whenever the probability is
10 points or more above the base); otherwise exits 1 with what went wrong. A serverless
endpoint's first call may time out while it starts cold: 502/503/504 answers (the API's, or
CloudFront's when its origin fails) are retried a few times.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, TypeGuard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: the repository's ml package

from ml.features.reasons import TOP

RETRY_STATUSES = (502, 503, 504)
CLEAR = 0.10  # a probability this far above the base rate has a field pushing it up by >= 0.1 points


class SmokeFailed(RuntimeError):
    pass


def example(model_dir: Path, name: str = "churner") -> dict:
    path = model_dir / "feature_schema.json"
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SmokeFailed(f"{path}: cannot read the bundle's feature schema ({err})") from None
    try:
        return schema["examples"][name]
    except KeyError:
        raise SmokeFailed(f"{path}: no examples.{name} record") from None


def post(url: str, record: dict, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310  (smoke() accepts only http(s) URLs)
        url,
        data=json.dumps(record).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310  (http(s) only, see smoke())
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def what(status: int | None, body: bytes) -> str:
    """One phrase for a failed attempt: the HTTP status, or the network error's text."""
    return f"HTTP {status}" if status else body.decode("utf-8", "replace")


def check_model(model: Any, expected_version: str | None) -> dict[str, Any]:
    """The answer's ``model``: which registry version answered (both null: not from the registry)."""
    if not isinstance(model, dict) or set(model) != {"version", "approved_at"}:
        raise SmokeFailed(f"model is not an object of 'version' and 'approved_at' (got {model!r:.100})")
    if expected_version is not None and model["version"] != expected_version:
        raise SmokeFailed(
            f"model version {model['version']!r} answered, but the deploy put version {expected_version!r} live"
        )
    return model


def check(status: int, body: bytes, expected_version: str | None = None) -> dict:
    if status != 200:
        raise SmokeFailed(f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
    try:
        answer = json.loads(body)
        prediction = answer["predictions"][0]
        probability = prediction["churn_probability"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise SmokeFailed(f"unexpected answer: {body[:300].decode('utf-8', 'replace')}") from None
    if not _is_number(probability) or not 0.0 <= probability <= 1.0:
        raise SmokeFailed(f"churn_probability {probability!r} is not a number in [0, 1]")
    model = check_model(answer.get("model"), expected_version)
    base = check_explanation(answer.get("explanation"))
    told = check_reasons(prediction.get("reasons"))
    if probability - base >= CLEAR and not told["for"]:
        raise SmokeFailed(
            f"no reason for churn although the probability {probability:.4f} is {100 * (probability - base):.1f} "
            f"points above the base probability {base}: the points of all fields sum to that difference"
        )
    return {
        "probability": float(probability),
        "will_churn": prediction.get("will_churn"),
        "cutoff": answer.get("cutoff"),
        "reasons": told,
        "model": model,
    }


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_explanation(explanation: Any) -> float:
    """The answer's ``explanation``; returns its base probability."""
    if not isinstance(explanation, dict):
        raise SmokeFailed(f"no explanation object in the answer (got {explanation!r:.100})")
    if not isinstance(explanation.get("method"), str) or not explanation["method"]:
        raise SmokeFailed("explanation.method is not a non-empty string")
    if not isinstance(explanation.get("points"), str) or not explanation["points"]:
        raise SmokeFailed("explanation.points (the unit of the points) is not a non-empty string")
    base = explanation.get("base_probability")
    if not _is_number(base) or not 0.0 <= base <= 1.0:
        raise SmokeFailed(f"explanation.base_probability {base!r:.40} is not a number in [0, 1]")
    return float(base)


def check_reasons(reasons: Any) -> dict[str, list[dict[str, Any]]]:
    """A prediction's ``reasons``: up to TOP each way, each a named field, its value and its points,
    positive for churn and negative against, strongest first."""
    if not isinstance(reasons, dict) or set(reasons) != {"for", "against"}:
        raise SmokeFailed(f"reasons is not an object of 'for' and 'against' (got {reasons!r:.100})")
    for side, sign in (("for", 1), ("against", -1)):
        items = reasons[side]
        if not isinstance(items, list) or len(items) > TOP:
            raise SmokeFailed(f"reasons.{side} is not a list of at most {TOP}")
        for rank, item in enumerate(items):
            where = f"reasons.{side}[{rank}]"
            if not isinstance(item, dict) or set(item) != {"field", "value", "points"}:
                raise SmokeFailed(f"{where} is not an object of field, value and points (got {item!r:.100})")
            if not isinstance(item["field"], str) or not item["field"]:
                raise SmokeFailed(f"{where}.field is not a field name")
            if item["value"] is not None and not isinstance(item["value"], str) and not _is_number(item["value"]):
                raise SmokeFailed(f"{where}.value {item['value']!r:.40} is not text, a number or null")
            if not _is_number(item["points"]) or item["points"] * sign <= 0:
                raise SmokeFailed(f"{where}.points {item['points']!r:.40} is not a number of the side's sign")
        sizes = [abs(item["points"]) for item in items]
        if sizes != sorted(sizes, reverse=True):
            raise SmokeFailed(f"reasons.{side} is not strongest first: points {[i['points'] for i in items]}")
    return reasons


def smoke(
    api_url: str,
    model_dir: Path,
    attempts: int = 4,
    timeout: float = 35.0,
    backoff: float = 5.0,
    say=print,
    expected_version: str | None = None,
) -> dict:
    if not api_url or api_url == "null" or not api_url.startswith(("http://", "https://")):
        raise SmokeFailed(f"no API URL ({api_url!r}): deploy a model first (`make deploy`, or `make deploy-model`)")
    url = api_url.rstrip("/") + "/predict"
    record = example(model_dir)
    for attempt in range(1, attempts + 1):
        try:
            status, body = post(url, record, timeout)
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, socket.gaierror):  # a wrong URL or no network, not a cold start
                raise SmokeFailed(f"{url}: its host does not resolve ({reason}): check the API URL") from None
            status, body = None, str(reason).encode()
        if status in RETRY_STATUSES or status is None:
            if attempt < attempts:
                say(f"  attempt {attempt}: {what(status, body)} (cold start?), retrying in {backoff:.0f}s")
                time.sleep(backoff)
                continue
            raise SmokeFailed(f"{url}: {what(status, body)} after {attempts} attempts")
        return check(status, body, expected_version)
    raise AssertionError("unreachable")


def deployed_version(tfvars: Path) -> str | None:
    """The registry version the last deploy from this checkout named (None: no handoff here)."""
    if not tfvars.is_file():
        return None
    version = json.loads(tfvars.read_text(encoding="utf-8")).get("model_version")
    return str(version) if version else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--api-url",
        required=True,
        help="base URL of the API: terraform output api_url (the page's origin, through CloudFront), "
        "or execute_api_url (the HTTP API itself)",
    )
    p.add_argument("--model", type=Path, default=Path("build/model"))
    p.add_argument("--attempts", type=int, default=4)
    p.add_argument(
        "--tfvars",
        type=Path,
        help="the deploy's handoff, whose model version the answer must name"
        " (default: model.auto.tfvars.json beside the bundle; skipped when absent)",
    )
    args = p.parse_args(argv)
    tfvars = args.tfvars or args.model.resolve().parent / "model.auto.tfvars.json"
    try:
        result = smoke(args.api_url, args.model, args.attempts, expected_version=deployed_version(tfvars))
    except SmokeFailed as err:
        print(f"smoke: FAILED: {err}", file=sys.stderr)
        return 1
    strongest = ", ".join(f"{r['field']} {r['points']:+g}" for r in result["reasons"]["for"]) or "none"
    print(
        f"smoke: OK: {args.api_url.rstrip('/')}/predict: example churner ->"
        f" churn_probability {result['probability']:.4f}, will_churn {result['will_churn']}"
        f" (cutoff {result['cutoff']}); reasons for churn: {strongest} (points);"
        f" model version {result['model']['version'] or 'none (not from the registry)'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
