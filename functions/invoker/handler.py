"""Invoker Lambda: ``POST /predict`` (API Gateway HTTP API payload 2.0, or REST 1.0) -> endpoint.

Standard library + boto3 only (both in the Lambda runtime); ``ml/features/encoder.py``,
``ml/features/reasons.py`` and ``feature_schema.json`` ship beside this file in the zip.
Handler string: ``handler.handler``.

Every score comes with its reasons: the endpoint is asked for ``EXPLAIN_TYPE`` (per record the
score, its log-odds and one SHAP value per model column), and each record's answer is
``{"churn_probability", "will_churn", "reasons": {"for": [...], "against": [...]}}`` with up to
three ``{"field", "value", "points"}`` each way, plus one ``"explanation"`` per answer (method,
base probability, unit of the points). invoker_explained.py checks the endpoint's answer and
builds these.

Environment:
  ENDPOINT_NAME (required)         SageMaker endpoint to invoke
  DECISION_CUTOFF                  churn if probability >= cutoff (default: schema decision.cutoff)
  ALLOWED_ORIGIN                   the one origin CORS allows (unset: no CORS headers)
  FEATURE_SCHEMA_PATH              default: feature_schema.json beside this file
  MAX_RECORDS (1000), MAX_BODY_BYTES (1048576)
  INVOKE_CONNECT_TIMEOUT (2), INVOKE_READ_TIMEOUT (10) seconds, INVOKE_MAX_ATTEMPTS (2): the
    invoke budget. Terraform sets all three (terraform/modules/invoker, from the invoke_* variables,
    checked there against the Lambda timeout and the HTTP API's 30 s); these defaults, used only
    when running outside Lambda, equal Terraform's (a test holds them together).
  MODEL_VERSION, MODEL_APPROVED_AT the model registry's version number ("3") and when it was
    approved (RFC 3339 UTC, "2026-12-06T21:04:05Z"): both set, or both unset/empty for a model
    that did not come from the registry. Every 200 says which model answered, as
    ``"model": {"version", "approved_at"}`` (both null for an unregistered model).
  LOG_LEVEL (INFO)

Status codes: 200; 400 bad input (message names record and field) or an event whose fields have
the wrong JSON types (invoker_event.py: names the field); 404 unknown path;
405 wrong method; 413 too many records or too large a body; 415 wrong content type;
502 the model failed or answered garbage; 503 endpoint throttled, unreachable or not ready;
504 endpoint timed out; 500 misconfiguration. Never a stack trace in a response; the log
gets one JSON object per request with no customer field values, which is also a CloudWatch
Embedded Metric Format document (metrics.py: counts, latencies, status class, score deciles).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

import invoker_explained as explained
from invoker_event import EventError, check_event
from invoker_input import InputError, vectors_from_csv, vectors_from_json
from metrics import document as metrics_document
from ml.features.encoder import FeatureEncoder, format_csv
from ml.features.reasons import Field, fields

LOG = logging.getLogger("invoker")
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException", "ServiceUnavailable"}
_NOT_READY = {"ModelNotReadyException"}


class HttpError(Exception):
    """``message`` answers the caller; ``outcome`` and ``detail`` go to the log (never a field value)."""

    def __init__(
        self, status: int, message: str, outcome: str, headers: dict[str, str] | None = None, detail: str | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.outcome, self.headers = status, message, outcome, headers or {}
        self.detail = detail


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    cutoff: float
    allowed_origin: str | None
    encoder: FeatureEncoder
    spans: tuple[Field, ...]  # the fields reasons are told in, and the model columns of each
    max_records: int
    max_body_bytes: int
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    model: dict[str, str | None]  # {"version", "approved_at"}: answered as is with every score


# Defaults of the invoke budget outside Lambda; in Lambda, Terraform's environment wins.
INVOKE_DEFAULTS: dict[str, float] = {"INVOKE_CONNECT_TIMEOUT": 2, "INVOKE_READ_TIMEOUT": 10, "INVOKE_MAX_ATTEMPTS": 2}


def invoke_budget_s(cfg: Settings) -> float:
    """Worst-case seconds of one endpoint call: every attempt runs to both timeouts (botocore
    retries connect and read timeouts), plus botocore standard mode's backoff before each retry
    (random, at most 2^(n-1) s, capped at 20 s). Terraform's precondition uses the same sum."""
    backoff = sum(min(1 << i, 20) for i in range(cfg.max_attempts - 1))
    return cfg.max_attempts * (cfg.connect_timeout + cfg.read_timeout) + backoff


# The shapes terraform/variables.tf's model_version and model_approved_at validations accept (a
# test holds the two together): a decimal version from 1, and RFC 3339 UTC to the second.
MODEL_VERSION_PATTERN = r"^[1-9][0-9]{0,9}$"
MODEL_APPROVED_AT_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"


def model_identity(version: str, approved_at: str) -> dict[str, str | None]:
    """The answer's ``model`` field from MODEL_VERSION and MODEL_APPROVED_AT ("" = unset).

    A malformed value raises ValueError: the registry's deploy wrote it, so it is a configuration
    error (a 500 on every request, and its reason logged), never a guess shown to callers."""
    if not version and not approved_at:
        return {"version": None, "approved_at": None}
    if not (version and approved_at):
        raise ValueError("MODEL_VERSION and MODEL_APPROVED_AT must be set together or not at all")
    if not re.fullmatch(MODEL_VERSION_PATTERN, version):
        raise ValueError(f"MODEL_VERSION {version[:20]!r} is not a version number such as 3")
    try:
        if not re.fullmatch(MODEL_APPROVED_AT_PATTERN, approved_at):
            raise ValueError
        datetime.datetime.strptime(approved_at, "%Y-%m-%dT%H:%M:%SZ")  # a real date and time
    except ValueError:
        raise ValueError(
            f"MODEL_APPROVED_AT {approved_at[:30]!r} is not an RFC 3339 UTC time such as 2026-12-06T21:04:05Z"
        ) from None
    return {"version": version, "approved_at": approved_at}


_lock = threading.Lock()
_settings_cache: dict[tuple[str | None, ...], Settings] = {}
_client_cache: dict[tuple[Any, ...], Any] = {}


def _env_key() -> tuple[str | None, ...]:
    names = (
        "ENDPOINT_NAME",
        "DECISION_CUTOFF",
        "ALLOWED_ORIGIN",
        "FEATURE_SCHEMA_PATH",
        "MAX_RECORDS",
        "MAX_BODY_BYTES",
        "INVOKE_CONNECT_TIMEOUT",
        "INVOKE_READ_TIMEOUT",
        "INVOKE_MAX_ATTEMPTS",
        "MODEL_VERSION",
        "MODEL_APPROVED_AT",
    )
    return tuple(os.environ.get(n) for n in names)


def settings() -> Settings:
    """Read once per container (re-read only if the environment changes, as in tests)."""
    key = _env_key()
    cached = _settings_cache.get(key)
    if cached is not None:
        return cached
    env = os.environ
    endpoint = env.get("ENDPOINT_NAME", "").strip()
    if not endpoint:
        raise RuntimeError("ENDPOINT_NAME is not set")
    schema_path = Path(env.get("FEATURE_SCHEMA_PATH") or Path(__file__).with_name("feature_schema.json"))
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    raw_cutoff = env.get("DECISION_CUTOFF") or schema.get("decision", {}).get("cutoff")
    if raw_cutoff is None:
        raise RuntimeError("no DECISION_CUTOFF and no decision.cutoff in the feature schema")
    cutoff = float(raw_cutoff)
    if not 0.0 <= cutoff <= 1.0:
        raise RuntimeError(f"decision cutoff {cutoff} is outside [0, 1]")
    built = Settings(
        endpoint_name=endpoint,
        cutoff=cutoff,
        allowed_origin=env.get("ALLOWED_ORIGIN") or None,
        encoder=FeatureEncoder(schema),
        spans=tuple(fields(schema)),
        max_records=int(env.get("MAX_RECORDS") or 1000),
        max_body_bytes=int(env.get("MAX_BODY_BYTES") or 1024 * 1024),
        connect_timeout=float(env.get("INVOKE_CONNECT_TIMEOUT") or INVOKE_DEFAULTS["INVOKE_CONNECT_TIMEOUT"]),
        read_timeout=float(env.get("INVOKE_READ_TIMEOUT") or INVOKE_DEFAULTS["INVOKE_READ_TIMEOUT"]),
        max_attempts=int(env.get("INVOKE_MAX_ATTEMPTS") or INVOKE_DEFAULTS["INVOKE_MAX_ATTEMPTS"]),
        model=model_identity(env.get("MODEL_VERSION", ""), env.get("MODEL_APPROVED_AT", "")),
    )
    with _lock:
        _settings_cache.clear()
        _settings_cache[key] = built
    return built


def runtime_client(cfg: Settings) -> Any:
    """One sagemaker-runtime client per container; honours AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME."""
    key = (
        cfg.connect_timeout,
        cfg.read_timeout,
        cfg.max_attempts,
        os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"),
    )
    client = _client_cache.get(key)
    if client is None:
        with _lock:
            client = _client_cache.get(key)
            if client is None:
                config = Config(
                    connect_timeout=cfg.connect_timeout,
                    read_timeout=cfg.read_timeout,
                    retries={"mode": "standard", "total_max_attempts": cfg.max_attempts},
                    max_pool_connections=32,
                    parameter_validation=False,  # our parameters are always valid: saves ~15% CPU a call
                    tcp_keepalive=True,
                )
                client = boto3.session.Session().client("sagemaker-runtime", config=config)
                _client_cache.clear()
                _client_cache[key] = client
    return client


# -- the event ---------------------------------------------------------------------------
def _request(event: dict[str, Any]) -> tuple[str, str, dict[str, str], str]:
    """Method, path, headers (lower-case names), request id of an event ``check_event`` passed."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    method = (http.get("method") or event.get("httpMethod") or "").upper()
    path = event.get("rawPath") or http.get("path") or event.get("path") or ""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items() if v is not None}
    request_id = str(context.get("requestId") or "")
    return method, path, headers, request_id


def _body(event: dict[str, Any], limit: int) -> bytes:
    body = event.get("body") or ""
    if len(body) > (limit * 4 // 3 + 4 if event.get("isBase64Encoded") else limit * 4):
        raise HttpError(413, f"request body over {limit} bytes", "too_large")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "request body is not valid base64", "bad_request") from None
    else:
        raw = body.encode("utf-8")
    if len(raw) > limit:
        raise HttpError(413, f"request body over {limit} bytes", "too_large")
    return raw


def _cors(cfg: Settings | None, headers: dict[str, str]) -> dict[str, str]:
    if cfg is None or not cfg.allowed_origin:
        return {}
    out = {"Vary": "Origin"}
    if cfg.allowed_origin == "*" or headers.get("origin") == cfg.allowed_origin:
        out["Access-Control-Allow-Origin"] = cfg.allowed_origin
    return out


def _response(status: int, payload: Any, extra: dict[str, str]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store", **extra}
    body = "" if payload is None else json.dumps(payload)
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


# -- the work ----------------------------------------------------------------------------
def _vectors(headers: dict[str, str], event: dict[str, Any], cfg: Settings) -> list[list[float]]:
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("application/json", "text/csv"):
        shown = media[:60] or "none"
        raise HttpError(415, f"content type {shown!r} is not supported: use application/json or text/csv", "bad_type")
    body = _body(event, cfg.max_body_bytes)
    if media == "application/json":
        return vectors_from_json(body, cfg.encoder, cfg.max_records)
    return vectors_from_csv(body, cfg.encoder, cfg.max_records)


def _invoke(cfg: Settings, vectors: list[list[float]]) -> list[explained.Explained]:
    try:
        answer = runtime_client(cfg).invoke_endpoint(
            EndpointName=cfg.endpoint_name,
            ContentType="text/csv",
            Accept=explained.EXPLAIN_TYPE,
            Body=format_csv(vectors).encode("ascii"),
        )
        raw = answer["Body"].read()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _THROTTLED or status in (429, 503):
            raise HttpError(
                503, "the model endpoint is busy; retry shortly", f"throttled:{code or status}", {"Retry-After": "1"}
            ) from None
        if code in _NOT_READY:
            raise HttpError(
                503, "the model endpoint is not ready; retry shortly", f"not_ready:{code}", {"Retry-After": "5"}
            ) from None
        if code == "ModelError":
            raise HttpError(502, "the model could not score the request", "model_error") from None
        raise HttpError(502, "the model endpoint refused the request", f"endpoint_error:{code or status}") from None
    except (ReadTimeoutError, ConnectTimeoutError) as err:
        raise HttpError(504, "the model endpoint did not answer in time", f"timeout:{type(err).__name__}") from None
    except (BotoConnectionError, ConnectionClosedError) as err:
        raise HttpError(
            503,
            "the model endpoint is unreachable; retry shortly",
            f"unreachable:{type(err).__name__}",
            {"Retry-After": "5"},
        ) from None
    except BotoCoreError as err:
        raise HttpError(502, "the model endpoint could not be called", f"endpoint_error:{type(err).__name__}") from None
    try:
        return explained.parse(raw, len(vectors), cfg.encoder.width)
    except explained.BadAnswer as err:
        raise HttpError(
            502, "the model endpoint returned an unexpected response", "bad_model_response", detail=str(err)
        ) from None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    started = time.perf_counter()
    bad_event = None
    try:
        check_event(event)  # types first: nothing below reads a field of the wrong type
        method, path, headers, request_id = _request(event)
    except EventError as err:
        bad_event, (method, path, headers, request_id) = err, ("", "", {}, "")
    if not request_id:
        request_id = str(getattr(context, "aws_request_id", "") or "")
    log: dict[str, Any] = {"request_id": request_id, "method": method, "path": path[:100], "records": 0}
    cfg = None
    endpoint_ms: float | None = None
    scores: list[float] = []
    try:
        if bad_event is not None:
            log["event_field"] = bad_event.field  # a name from invoker_event's list, never the value
            raise HttpError(400, str(bad_event), "bad_event")
        try:
            cfg = settings()
        except Exception as err:
            log["config_error"] = f"{type(err).__name__}: {err}"[:300]
            raise HttpError(500, "the service is misconfigured", "config_error") from None
        if path != "/predict":  # the API's one route, exactly: not /x/predict, not /predict/
            raise HttpError(404, "not found: use POST /predict", "not_found")
        if method == "OPTIONS":
            allow = {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "content-type",
                "Access-Control-Max-Age": "600",
            }
            status, payload, extra = 204, None, {**_cors(cfg, headers), **allow}
            log["outcome"] = "preflight"
        elif method != "POST":
            raise HttpError(
                405, f"method {method[:10]} not allowed: use POST", "bad_method", {"Allow": "POST, OPTIONS"}
            )
        else:
            vectors = _vectors(headers, event, cfg)
            log["records"] = len(vectors)
            invoked = time.perf_counter()
            try:
                rows = _invoke(cfg, vectors)
            finally:
                endpoint_ms = (time.perf_counter() - invoked) * 1000
            scores = [row.score for row in rows]
            payload = {
                "predictions": explained.predictions(rows, vectors, cfg.spans, cfg.cutoff),
                "cutoff": cfg.cutoff,
                "explanation": explained.explanation(rows),
                "model": cfg.model,
            }
            status, extra = 200, _cors(cfg, headers)
            log["outcome"] = "ok"
    except InputError as err:
        status, payload, extra = err.status, {"error": err.message}, _cors(cfg, headers)
        log.update(
            outcome="too_many_records" if err.status == 413 else "bad_input",
            # a field name the caller invented is caller text: only known names reach the log
            error_field=err.field if cfg and (err.field in cfg.encoder.fields) else err.field and "(unknown)",
            error_record=err.record,
        )
    except HttpError as err:
        status, payload, extra = err.status, {"error": err.message}, {**_cors(cfg, headers), **err.headers}
        log["outcome"] = err.outcome
        if err.detail:
            log["detail"] = err.detail
    except Exception as err:
        status, payload, extra = 500, {"error": "internal error"}, _cors(cfg, headers)
        log.update(outcome="internal_error", error_type=type(err).__name__)
    log["status"] = status
    log["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    level = logging.WARNING if status >= 500 else logging.INFO
    if LOG.isEnabledFor(level):
        # The log line is also an EMF document: its metrics carry counts and score deciles only.
        doc = metrics_document(
            function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or getattr(context, "function_name", None),
            endpoint_name=cfg.endpoint_name if cfg else os.environ.get("ENDPOINT_NAME"),
            status=status,
            handler_ms=log["latency_ms"],
            endpoint_ms=endpoint_ms,
            scores=scores if status == 200 else (),
            cutoff=cfg.cutoff if cfg else None,
            properties=log,
            timestamp_ms=int(time.time() * 1000),
        )
        LOG.log(level, json.dumps(doc))
    return _response(status, payload, extra)
