"""Model server with the SageMaker built-in XGBoost container's HTTP contract.

``GET /ping``, ``POST /invocations`` (``text/csv`` without header or label, ``text/libsvm``)
and the SageMaker runtime API path ``POST /endpoints/{name}/invocations``, so that an
unmodified ``boto3.client("sagemaker-runtime", endpoint_url=...)`` (or one with
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` set) reaches it.

Parsing, prediction and the byte-for-byte differences from the container are in
``ml.serving.invocations``; this module is the HTTP side: routing, body limits, SageMaker runtime errors.

A raw ASGI app on uvicorn (httptools, uvloop); predictions run inline on the event loop
with one XGBoost thread (as the container sets ``nthread=1``): a single-row predict is far
cheaper than a thread hop.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import signal
import tarfile
from pathlib import Path
from typing import Any

import xgboost as xgb

# Re-exported: tests and callers import these from ml.serving.model_server.
from ml.serving.invocations import RequestError, Scorer, load_booster

__all__ = ["MAX_BODY_BYTES", "ModelApp", "RequestError", "Scorer", "create_app", "load_booster", "main"]

LOG = logging.getLogger("ml.serving.model_server")
MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker real-time payload limit
_RUNTIME_PATH = re.compile(r"^/endpoints/([A-Za-z0-9](?:-*[A-Za-z0-9])*)/invocations$")


class ModelApp:
    """Raw ASGI application around a :class:`Scorer`."""

    def __init__(self, scorer: Scorer):
        self.scorer = scorer

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] != "http":  # uvicorn runs with lifespan="off": nothing else arrives
            return
        path, method = scope["path"], scope["method"]
        if path == "/ping":
            if method in ("GET", "HEAD"):
                return await _respond(send, 200, b"", "text/plain")
            return await _respond(send, 405, b"method not allowed\n", "text/plain")
        runtime = None
        if path != "/invocations":
            runtime = _RUNTIME_PATH.match(path)
            if runtime is None:
                return await _respond(send, 404, b"not found\n", "text/plain")
        if method != "POST":
            return await _respond(send, 405, b"method not allowed\n", "text/plain")
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
        try:
            body = await _read_body(receive)
            payload, out_type = self.scorer.score(body, content_type, accept)
        except RequestError as err:
            if runtime is not None:
                return await _model_error(send, err.status, err.message)
            return await _respond(send, err.status, (err.message + "\n").encode(), "text/plain")
        except Exception as err:
            LOG.exception("prediction failed")
            if runtime is not None:
                return await _model_error(send, 500, f"prediction failed: {type(err).__name__}")
            return await _respond(send, 500, b"prediction failed\n", "text/plain")
        extra = [(b"x-amzn-invoked-production-variant", b"AllTraffic")] if runtime is not None else []
        await _respond(send, 200, payload, out_type, extra)


async def _read_body(receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(413, f"request body over {MAX_BODY_BYTES} bytes")
    if not message.get("more_body"):
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(413, f"request body over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _respond(send, status: int, body: bytes, content_type: str, extra=()) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _model_error(send, status: int, message: str) -> None:
    """What the SageMaker runtime answers when the container fails: 424 ``ModelError``."""
    kind = "client" if status < 500 else "server"
    body = json.dumps(
        {
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "Message": f'Received {kind} error ({status}) from primary with message "{message}". ',
            "OriginalMessage": message,
            "OriginalStatusCode": status,
        }
    ).encode()
    await _respond(send, 424, body, "application/json", [(b"x-amzn-errortype", b"ModelError:")])


def create_app(model_dir: str | Path) -> ModelApp:
    """The ASGI app for a model bundle directory (tests and benchmarks use this)."""
    return ModelApp(Scorer.from_dir(model_dir))


def main(args) -> int:
    import uvicorn

    from ml.serving.onewrite import HTTP_PROTOCOL

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        app = create_app(args.model)
    except (OSError, ValueError, tarfile.TarError, xgb.core.XGBoostError) as err:
        LOG.error("cannot load the model from %s: %s", args.model, err)
        return 1
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=HTTP_PROTOCOL,  # httptools, each response in one write
        lifespan="off",
        access_log=False,
        log_level="warning",
        log_config=None,
        timeout_keep_alive=65,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    gc.collect()
    gc.freeze()  # the loaded libraries and model are permanent: keep them out of GC passes
    LOG.info(
        "model server: %s (%d features) on http://%s:%d (/ping, /invocations, /endpoints/{name}/invocations)",
        Path(args.model) / "model.tar.gz",
        app.scorer.width,
        args.host,
        args.port,
    )
    signal.signal(signal.SIGTERM, _terminate)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


def _terminate(signum, frame):  # uvicorn re-raises SIGTERM after its graceful shutdown
    raise SystemExit(0)
