"""The local stack's ASGI app: the page (web_files) and ``POST /predict`` through the Lambda handler.

``/predict`` (exactly that path, as the HTTP API's only route) becomes an API Gateway HTTP
API payload 2.0 event for the SAME ``functions/invoker/handler.handler`` that runs in AWS,
called in a thread pool so that parsing and the endpoint call never block the event loop.

Work per request is bounded before the handler sees it: a ``Content-Length`` over the
handler's body limit is refused before a byte is read, a body is counted while it arrives and
refused as soon as it passes the limit, and the whole body must arrive within
``STACK_BODY_TIMEOUT_S`` (a slow-body client gets 408). Header timeouts and header size
belong to the HTTP server (local_stack.py). Every error is a JSON answer with a message and one
log line (method, path, status; never a field value); no client error logs a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import importlib
import json
import logging
import os
import sys
import time
import types
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ml.serving.asgi_body import DRAIN_BYTES, drain
from ml.serving.web_files import ROOT, load_assets, security_headers

INVOKER_DIR = ROOT / "functions" / "invoker"
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # used only if the handler's own limit cannot be read
LOG = logging.getLogger("ml.serving.stack")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = Sequence[tuple[bytes, bytes]]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class RequestRefused(Exception):
    """A request answered with an error before it reaches the handler."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def load_handler() -> Handler:
    """``functions/invoker/handler.py`` imported as the Lambda runtime does (its folder on sys.path)."""
    if str(INVOKER_DIR) not in sys.path:
        sys.path.insert(0, str(INVOKER_DIR))
    handler: Handler = importlib.import_module("handler").handler
    return handler


def _shown(path: str) -> str:
    """A request path fit for one log line: bounded, control characters escaped."""
    return ascii(path[:120])[1:-1]


class Adapter:
    """Raw ASGI app: static page, ``/config.js``, ``/openapi.json`` and ``POST /predict``."""

    def __init__(
        self,
        handler: Handler,
        schema: dict[str, Any],
        public_origin: str,
        max_body: int = API_GATEWAY_MAX_BODY,
        body_timeout: float = 30.0,
        threads: int = 8,
    ):
        self.handler, self.max_body, self.body_timeout = handler, max_body, body_timeout
        self.assets = load_assets(schema)
        self.page_headers = security_headers(public_origin)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="invoker")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        started: list[bool] = []

        async def tracked(message: dict[str, Any]) -> None:
            started.append(True)
            await send(message)

        try:
            if path == "/predict":
                await self._predict(scope, receive, tracked)
            else:
                await self._page(path, method, tracked)
        except RequestRefused as err:
            await self._error(tracked, method, path, err.status, err.message)
        except Exception as err:  # a bug of ours: one line, the type only, and a 500
            LOG.error("%s %s -> 500 internal error (%s)", method, _shown(path), type(err).__name__)
            if not started:
                await _send_json(send, 500, {"error": "internal error"})

    async def _error(self, send: Send, method: str, path: str, status: int, message: str, extra: Headers = ()) -> None:
        LOG.info("%s %s -> %d %s", method, _shown(path), status, message)
        headers = [] if path == "/predict" else self.page_headers
        await _send_json(send, status, {"error": message}, [*headers, *extra])

    async def _page(self, path: str, method: str, send: Send) -> None:
        asset = self.assets.get(path)
        if asset is None:
            return await self._error(send, method, path, 404, "not found")
        if method not in ("GET", "HEAD"):
            return await self._error(send, method, path, 405, "method not allowed: use GET", [(b"allow", b"GET, HEAD")])
        headers = [
            (b"content-type", asset.content_type.encode()),
            (b"content-length", str(len(asset.body)).encode()),
            (b"cache-control", asset.cache_control.encode()),
            *self.page_headers,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else asset.body})

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The body, refused as soon as it passes the limit."""
        too_large = RequestRefused(413, f"request body over {self.max_body} bytes")
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit() or len(declared) > 18:
                raise RequestRefused(400, "Content-Length is not a number")
            if int(declared) > self.max_body + DRAIN_BYTES:
                raise too_large  # not worth reading: the client may see the connection reset
        body = bytearray()
        deadline = time.monotonic() + self.body_timeout
        async for chunk in _chunks(receive, deadline, self.body_timeout):
            if chunk is None:  # Granian's word for a body it cannot read (a bad chunk, a cut) or a client gone
                raise RequestRefused(400, "request body malformed or cut short")
            if len(body) + len(chunk) > self.max_body:
                await drain(receive, deadline, DRAIN_BYTES - len(chunk))
                raise too_large
            body += chunk
        return bytes(body)

    async def _predict(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await self._read_body(scope, receive)
        event = api_gateway_event(scope, body)
        context = types.SimpleNamespace(
            aws_request_id=event["requestContext"]["requestId"],
            function_name="churn-invoker-local",
            memory_limit_in_mb=256,
            get_remaining_time_in_millis=lambda: 29_000,
        )
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.pool, self.handler, event, context)
        except Exception as err:  # the handler catches its own errors: this is a bug, told in one line
            LOG.error("POST /predict -> 500: the handler raised %s", type(err).__name__)
            return await _send_json(send, 500, {"error": "internal error"})
        status = int(result.get("statusCode", 200))
        text = result.get("body") or ""
        payload = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode("utf-8")
        headers = [(k.lower().encode(), str(v).encode()) for k, v in (result.get("headers") or {}).items()]
        if status >= 400:  # the handler's own log line has the details (at LOG_LEVEL=INFO)
            LOG.info("%s /predict -> %d", scope["method"], status)
        headers = [h for h in headers if h[0] != b"content-length"]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def _chunks(receive: Receive, deadline: float, timeout: float) -> AsyncIterator[bytes | None]:
    """The body's chunks as they arrive (None: the client left); 408 once ``deadline`` passes."""
    while True:
        try:
            message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise RequestRefused(408, f"request body not received within {timeout:g} s") from None
        if message["type"] == "http.disconnect":
            yield None
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def api_gateway_event(scope: Scope, body: bytes) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event for one ASGI request."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    try:
        text_body, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text_body, encoded = base64.b64encode(body).decode("ascii"), True
    method, path = scope["method"], scope["path"]
    now = time.time()
    client = scope.get("client") or ("127.0.0.1", 0)
    return {
        "version": "2.0",
        "routeKey": "POST /predict",
        "rawPath": path,
        "rawQueryString": scope.get("query_string", b"").decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host", "localhost"),
            "http": {
                "method": method,
                "path": path,
                "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
                "sourceIp": client[0],
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "POST /predict",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text_body,
        "isBase64Encoded": encoded,
    }


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_json(send: Send, status: int, payload: dict[str, str], extra: Headers = ()) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_adapter() -> Adapter:
    """The adapter of one server worker (a factory): local_stack.main put its settings in os.environ."""
    if not logging.getLogger().handlers:  # a worker process of its own: one line per record, stderr
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    LOG.setLevel(logging.INFO)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    handler = load_handler()
    logging.getLogger("invoker").setLevel(os.environ.get("LOG_LEVEL", "WARNING").upper())
    module = sys.modules[handler.__module__]
    max_body = API_GATEWAY_MAX_BODY
    try:  # what a Lambda init phase does: settings and the boto3 client before the first request
        settings = module.settings()
        max_body = settings.max_body_bytes  # the handler's limit is the one source: stop reading there
        module.runtime_client(settings)
    except Exception as err:
        LOG.warning("invoker warm-up failed: %s", err)
    gc.collect()
    gc.freeze()  # boto3's loaded service models are permanent: keep them out of GC passes
    schema = json.loads(Path(os.environ["FEATURE_SCHEMA_PATH"]).read_text(encoding="utf-8"))
    return Adapter(
        handler,
        schema,
        public_origin=os.environ["STACK_PUBLIC_ORIGIN"],
        max_body=max_body,
        body_timeout=float(os.environ.get("STACK_BODY_TIMEOUT_S", "30")),
        threads=int(os.environ.get("STACK_THREADS", "8")),
    )
