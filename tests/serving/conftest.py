"""Fixtures of the serving tests: a model bundle, the invoker handler module, a live model server.

``serving_bundle`` is the project's ``bundle_dir`` fixture (tests/conftest.py, a real
trained bundle) when it exists, else a small bundle made here: the real feature schema
(``build_schema(True)``) with decision/examples sections and a booster trained for a few
rounds on random data of the schema's width.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from http.client import HTTPConnection, HTTPException
from pathlib import Path

import pytest

from tests.shared import free_port

ROOT = Path(__file__).resolve().parents[2]
INVOKER_DIR = ROOT / "functions" / "invoker"

# Made-up customers (555 numbers are fictional): no row of the real dataset is committed.
CHURNER = {
    "State": "NJ",
    "Account Length": 140,
    "Area Code": 415,
    "Phone": "555-0101",
    "Int'l Plan": "yes",
    "VMail Plan": "no",
    "VMail Message": 0,
    "Day Mins": 305.0,
    "Day Calls": 110,
    "Day Charge": 51.85,
    "Eve Mins": 270.0,
    "Eve Calls": 95,
    "Eve Charge": 22.95,
    "Night Mins": 240.0,
    "Night Calls": 100,
    "Night Charge": 10.8,
    "Intl Mins": 14.0,
    "Intl Calls": 2,
    "Intl Charge": 3.78,
    "CustServ Calls": 4,
}
LOYAL = {
    "State": "OH",
    "Account Length": 100,
    "Area Code": "415",
    "Phone": "555-0102",
    "Int'l Plan": "no",
    "VMail Plan": "yes",
    "VMail Message": 25,
    "Day Mins": 160.0,
    "Day Calls": 120,
    "Day Charge": 27.2,
    "Eve Mins": 195.0,
    "Eve Calls": 100,
    "Eve Charge": 16.58,
    "Night Mins": 250.0,
    "Night Calls": 100,
    "Night Charge": 11.25,
    "Intl Mins": 13.0,
    "Intl Calls": 3,
    "Intl Charge": 3.51,
    "CustServ Calls": 1,
}


@pytest.fixture(scope="session")
def serving_bundle(bundle_dir) -> Path:
    """The project's real bundle (tests/conftest.py)."""
    return Path(bundle_dir)


@pytest.fixture(scope="session")
def schema(serving_bundle) -> dict:
    return json.loads((serving_bundle / "feature_schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def booster(serving_bundle):
    from ml.serving.model_server import load_booster

    return load_booster(serving_bundle)


@pytest.fixture(scope="session")
def invoker():
    """functions/invoker/handler.py, imported as the Lambda runtime does (its folder on sys.path)."""
    if str(INVOKER_DIR) not in sys.path:
        sys.path.insert(0, str(INVOKER_DIR))
    return importlib.import_module("handler")


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if http(url, timeout=2)[0] == 200:
                return
        except (OSError, HTTPException):  # not listening yet, or not speaking HTTP yet
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def model_server(model_server_process) -> str:
    """The base URL of ``python -m ml serve``."""
    return model_server_process[0]


@pytest.fixture(scope="session")
def model_server_process(serving_bundle, tmp_path_factory):
    """``python -m ml serve`` on a free loopback port; yields its base URL and its process."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("serve") / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ml",
            "serve",
            "--model",
            str(serving_bundle),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/ping", proc)
        yield url, proc
    finally:
        stop(proc)
        log.close()


@contextlib.contextmanager
def start_stack(bundle: Path, log_dir: Path, env: dict[str, str] | None = None):
    """``python -m ml stack`` on free loopback ports; yields a dict (base URL, process, model port/pid, log).

    ``env`` reaches the handler: it reads its timeouts (``INVOKE_*``) from there.
    """
    port, model_port = free_port(), free_port()
    log_path = log_dir / "stack.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ml", "stack", "--model", str(bundle), "--host", "127.0.0.1",
             "--port", str(port), "--model-port", str(model_port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/config.js", proc, timeout=120)
            pid = model_server_pid(log_path.read_text())
            yield {
                "base": base,
                "proc": proc,
                "model_port": model_port,
                "model_pid": pid,
                "log": log_path,
                "bundle": bundle,
            }
        finally:
            stop(proc)


def http(url: str, data: bytes | None = None, headers=None, method: str | None = None, timeout: float = 30):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not exceptions.

    The path is sent as written (no normalisation), and a ``Host`` in ``headers`` replaces the real one.
    """
    parts = urllib.parse.urlsplit(url)
    path = url[len(f"{parts.scheme}://{parts.netloc}") :] or "/"
    connection = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request(method or ("POST" if data is not None else "GET"), path, data, headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc: a Granian server is a main process and its worker."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            if entry.name.isdigit():
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    pids, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        pids.append(pid)
        frontier.extend(children.get(pid, []))
    return pids


def model_worker_pid(main_pid: int) -> int:
    """The process of a serving model server that reads and scores requests: Granian's one worker
    (the main process only supervises it), or the main process itself if it has no child."""
    pids = process_tree(main_pid)[1:]
    assert len(pids) <= 1, f"expected one worker under {main_pid}, found {pids}"
    return pids[0] if pids else main_pid


def model_server_pid(log: str) -> int:
    """The model server's pid, as the stack logs it at start-up."""
    found = re.search(r"model server pid (\d+)", log)
    assert found, f"no model server pid in the stack's log: {log[-2000:]}"
    return int(found.group(1))
