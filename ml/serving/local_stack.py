"""Local stack: model server (a child process) + the web page + ``POST /predict`` via the Lambda handler.

The adapter turns each ``/predict`` request into an API Gateway HTTP API (payload 2.0)
event and calls the SAME ``functions/invoker/handler.handler`` that runs in AWS, in a thread
pool, with ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` pointing its boto3 client at the model
server. ``GET /config.js`` is what Terraform writes to the website bucket:
``window.CHURN_CONFIG = {"apiUrl": <origin of this server>, "schema": <feature_schema.json>};``.

The model server is a separate process (``python -m ml serve``) so it can be stopped and
restarted on the same port: meanwhile ``/predict`` answers 503 and then recovers.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import importlib
import json
import logging
import mimetypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ml.serving.onewrite import HTTP_PROTOCOL

ROOT = Path(__file__).resolve().parents[2]  # ml/serving/local_stack.py -> the repository
WEB_DIR = ROOT / "web"
INVOKER_DIR = ROOT / "functions" / "invoker"
OPENAPI = ROOT / "docs" / "openapi.json"  # the API's contract, served at /openapi.json
ENDPOINT_NAME = "churn-local"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
LOG = logging.getLogger("ml.serving.local_stack")


def load_handler():
    """``functions/invoker/handler.py`` imported as the Lambda runtime does (its folder on sys.path)."""
    if str(INVOKER_DIR) not in sys.path:
        sys.path.insert(0, str(INVOKER_DIR))
    return importlib.import_module("handler").handler


def handler_environment(model_dir: Path, model_url: str, origin: str) -> dict[str, str]:
    """What the handler's Lambda environment holds in AWS, pointed at the local model server."""
    return {
        "ENDPOINT_NAME": ENDPOINT_NAME,
        "FEATURE_SCHEMA_PATH": str(model_dir / "feature_schema.json"),
        "ALLOWED_ORIGIN": origin,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": model_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "INVOKE_MAX_ATTEMPTS": os.environ.get("INVOKE_MAX_ATTEMPTS", "2"),
    }


class Adapter:
    """Raw ASGI app: static web page, ``/config.js``, and ``/predict`` through the handler."""

    def __init__(
        self,
        handler,
        schema_text: str,
        web_dir: Path = WEB_DIR,
        threads: int = int(os.environ.get("STACK_THREADS", "8")),
    ):
        self.handler = handler
        self.schema = json.loads(schema_text)
        self.web_dir = web_dir.resolve()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="invoker")

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path.rstrip("/").endswith("/predict"):
            return await self._predict(scope, receive, send)
        if method not in ("GET", "HEAD"):
            return await _send(send, 405, b"method not allowed\n", "text/plain", [(b"allow", b"GET, HEAD")])
        if path == "/config.js":
            host = _header(scope, b"host") or "{}:{}".format(*scope["server"])
            config = {"apiUrl": f"http://{host}", "schema": self.schema}
            body = f"window.CHURN_CONFIG = {json.dumps(config)};\n".encode()
            return await _send(send, 200, body, "text/javascript; charset=utf-8", [(b"cache-control", b"no-store")])
        if path == "/openapi.json":
            body = OPENAPI.read_bytes()
            return await _send(send, 200, b"" if method == "HEAD" else body, "application/json", length=len(body))
        return await self._static(path, method, send)

    async def _static(self, path: str, method: str, send) -> None:
        relative = "index.html" if path in ("", "/") else path.lstrip("/")
        target = (self.web_dir / relative).resolve()
        if self.web_dir not in target.parents or not target.is_file():
            return await _send(send, 404, b"not found\n", "text/plain")
        body = target.read_bytes()
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        await _send(
            send, 200, b"" if method == "HEAD" else body, kind, [(b"cache-control", b"no-cache")], length=len(body)
        )

    async def _predict(self, scope, receive, send) -> None:
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return await _send(send, 413, b'{"message":"Request Entity Too Large"}', "application/json")
            chunks.append(chunk)
            more = message.get("more_body", False)
        event = api_gateway_event(scope, b"".join(chunks))
        context = types.SimpleNamespace(
            aws_request_id=event["requestContext"]["requestId"],
            function_name="churn-invoker-local",
            memory_limit_in_mb=256,
            get_remaining_time_in_millis=lambda: 29_000,
        )
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.pool, self.handler, event, context)
            status = int(result.get("statusCode", 200))
            body = result.get("body") or ""
            body = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
            headers = [(k.lower().encode(), str(v).encode()) for k, v in (result.get("headers") or {}).items()]
        except Exception:
            LOG.exception("invoker handler failed")
            status, body, headers = (
                500,
                b'{"message":"Internal Server Error"}',
                [(b"content-type", b"application/json")],
            )
        headers = [h for h in headers if h[0] != b"content-length"]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def api_gateway_event(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
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
        "routeKey": f"{method} /predict",
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
            "routeKey": f"{method} /predict",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text_body,
        "isBase64Encoded": encoded,
    }


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _send(send, status: int, body: bytes, content_type: str, extra=(), length: int | None = None) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body) if length is None else length).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_adapter() -> Adapter:
    """The adapter of one server process (a uvicorn factory): ``handler_environment`` is in os.environ."""
    logging.getLogger("botocore").setLevel(logging.WARNING)
    handler = load_handler()
    logging.getLogger("invoker").setLevel(os.environ.get("LOG_LEVEL", "WARNING").upper())
    module = sys.modules[handler.__module__]
    try:  # what a Lambda init phase does: settings and the boto3 client before the first request
        module.runtime_client(module.settings())
    except Exception as err:
        LOG.warning("invoker warm-up failed: %s", err)
    gc.collect()
    gc.freeze()  # boto3's loaded service models are permanent: keep them out of GC passes
    return Adapter(handler, Path(os.environ["FEATURE_SCHEMA_PATH"]).read_text(encoding="utf-8"))


# -- the model server child --------------------------------------------------------------
def start_model_server(model_dir: Path, host: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "ml", "serve", "--model", str(model_dir), "--host", host, "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the model server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"the model server did not answer {url}/ping within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _watch(proc: subprocess.Popen, port: int, stopping: threading.Event) -> None:
    code = proc.wait()
    if not stopping.is_set():
        LOG.warning(
            "model server (pid %d) exited with code %s: /predict answers 503 until a model server is back on port %d",
            proc.pid,
            code,
            port,
        )


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _terminate(signum, frame):  # SIGTERM -> the same clean path as Ctrl-C
    raise SystemExit(0)


def main(args) -> int:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    model_dir = Path(args.model).resolve()
    for name in ("model.tar.gz", "feature_schema.json"):
        if not (model_dir / name).is_file():
            LOG.error("%s not found: train a model first (python -m ml train)", model_dir / name)
            return 1
    display_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    model_url = f"http://{display_host}:{args.model_port}"
    origin = f"http://{display_host}:{args.port}"

    for port in (args.model_port, args.port):
        if _answers(display_host, port):
            LOG.error("port %d on %s is already in use: stop what runs there or pick another port", port, display_host)
            return 1
    logging.getLogger("botocore").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _terminate)
    proc = start_model_server(model_dir, args.host, args.model_port)
    stopping = threading.Event()
    try:
        LOG.info("model server starting (pid %d) on %s", proc.pid, model_url)
        wait_ready(model_url, proc)
        threading.Thread(target=_watch, args=(proc, args.model_port, stopping), daemon=True).start()
        os.environ.update(handler_environment(model_dir, model_url, origin))
        workers = max(1, int(os.environ.get("STACK_WORKERS", "2")))
        options = {
            "host": args.host, "port": args.port, "loop": "uvloop", "http": HTTP_PROTOCOL, "lifespan": "off",
            "access_log": False, "log_level": "warning", "log_config": None, "timeout_keep_alive": 65,
            "backlog": 2048,
        }  # fmt: skip
        print(
            f"Churn demo: open {origin}/  (model server pid {proc.pid} at {model_url}; Ctrl-C stops both)", flush=True
        )
        if workers == 1:
            uvicorn.Server(uvicorn.Config(create_adapter(), **options)).run()
        else:  # boto3 costs ~2 ms of CPU a call, under one GIL per process: one adapter process per core
            uvicorn.run("ml.serving.local_stack:create_adapter", factory=True, workers=workers, **options)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as err:
        LOG.error("%s", err)
        return 1
    finally:
        stopping.set()
        stop_process(proc)
    return 0
