"""Local stack: model server (a child process) + the web page + ``POST /predict`` via the Lambda handler.

The app (ml/serving/stack_adapter.py) calls the SAME ``functions/invoker/handler.handler`` that
runs in AWS, with ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` pointing its boto3 client at the model
server; the page's files, ``/config.js`` and security headers come from ml/serving/web_files.py.

The HTTP server is Granian (public options only): its HTTP/1 layer closes a connection whose
request headers have not all arrived within ``STACK_HEADER_TIMEOUT_S`` (slowloris) and bounds
header size; the app bounds the body (size, arrival time). The page and its API share this one
origin, as they do behind CloudFront in AWS: ``/config.js`` says ``apiUrl: ""`` (call
``/predict`` here), the CSP's ``connect-src`` is ``'self'`` and the handler gets no
``ALLOWED_ORIGIN`` (no CORS). The public origin (``CHURN_PUBLIC_ORIGIN``, else this server's own
address) only decides HSTS (https) and what the start-up line prints; never the ``Host`` header.
The bundle served here is not from the model registry, so the API's ``model`` field is null
unless the stack's own environment sets ``MODEL_VERSION`` and ``MODEL_APPROVED_AT`` (handed to
the handler as Terraform hands them to the Lambda; the handler validates them).

The model server is a separate process (``python -m ml serve``) so it can be stopped and
restarted on the same port: meanwhile ``/predict`` answers 503 and then recovers.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ml.serving.web_files import ROOT

ENDPOINT_NAME = "churn-local"
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")  # scheme://host[:port], nothing after it
LOG = logging.getLogger("ml.serving.local_stack")


def handler_environment(model_dir: Path, model_url: str, origin: str) -> dict[str, str]:
    """What the handler's Lambda environment holds in AWS (no ALLOWED_ORIGIN: the page is on the
    API's own origin, so no CORS), pointed at the local model server."""
    return {
        "ENDPOINT_NAME": ENDPOINT_NAME,
        "FEATURE_SCHEMA_PATH": str(model_dir / "feature_schema.json"),
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": model_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "INVOKE_MAX_ATTEMPTS": os.environ.get("INVOKE_MAX_ATTEMPTS", "2"),
        "MODEL_VERSION": os.environ.get("MODEL_VERSION", ""),  # "": a local bundle, not from the registry
        "MODEL_APPROVED_AT": os.environ.get("MODEL_APPROVED_AT", ""),
        "STACK_PUBLIC_ORIGIN": origin,  # https turns HSTS on
    }


# -- the model server child --------------------------------------------------------------
def start_model_server(model_dir: Path, host: str, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "ml", "serve", "--model", str(model_dir), "--host", host, "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_ready(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the model server exited with code {proc.returncode}")
        connection = http.client.HTTPConnection(host, port, timeout=2)
        try:
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise TimeoutError(f"the model server did not answer http://{host}:{port}/ping within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _watch(proc: subprocess.Popen[bytes], port: int, stopping: threading.Event) -> None:
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


def _display_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to ``host`` (any-address -> loopback)."""
    try:
        unspecified = not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:  # a host name
        unspecified = False
    return "127.0.0.1" if unspecified else host


def _terminate(signum: int, frame: Any) -> None:  # SIGTERM -> the same clean path as Ctrl-C
    raise SystemExit(0)


def serve(host: str, port: int, workers: int) -> None:
    """Granian with the adapter factory; every option is a public one of ``granian.Granian``."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    header_timeout_ms = int(float(os.environ.get("STACK_HEADER_TIMEOUT_S", "10")) * 1000)
    Granian(
        "ml.serving.stack_adapter:create_adapter",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        loop=Loops.uvloop,
        workers=workers,  # boto3 costs ~2 ms of CPU a call, under one GIL per process: one per core
        backlog=2048,
        http1_settings=HTTP1Settings(header_read_timeout=header_timeout_ms),
        log_level=LogLevels.warning,
        log_access=False,
        workers_kill_timeout=5,  # a worker told to stop while still starting up may never answer
        websockets=False,
    ).serve()


def main(args: Any) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    model_dir = Path(args.model).resolve()
    for name in ("model.tar.gz", "feature_schema.json"):
        if not (model_dir / name).is_file():
            LOG.error("%s not found: train a model first (python -m ml train)", model_dir / name)
            return 1
    display_host = _display_host(args.host)
    model_url = f"http://{display_host}:{args.model_port}"
    origin = os.environ.get("CHURN_PUBLIC_ORIGIN") or f"http://{display_host}:{args.port}"
    if not ORIGIN.fullmatch(origin):
        LOG.error("CHURN_PUBLIC_ORIGIN %r is not scheme://host[:port] (http or https, no path)", origin[:100])
        return 1

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
        wait_ready(display_host, args.model_port, proc)
        threading.Thread(target=_watch, args=(proc, args.model_port, stopping), daemon=True).start()
        os.environ.update(handler_environment(model_dir, model_url, origin))
        workers = max(1, int(os.environ.get("STACK_WORKERS", "2")))
        print(
            f"Churn demo: open {origin}/  (model server pid {proc.pid} at {model_url}; Ctrl-C stops both)", flush=True
        )
        serve(args.host, args.port, workers)
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as err:
        LOG.error("%s", err)
        return 1
    finally:
        stopping.set()
        stop_process(proc)
    return 0
