"""Fixtures of the reliability tests: the local stack as a real process on loopback.

Helpers (ports, waiting, stopping, example customers) come from tests/serving/conftest.py;
the bundle is the project's ``bundle_dir`` (tests/conftest.py). ``start_stack`` passes its
``env`` to ``python -m ml stack``: the handler reads its timeouts (``INVOKE_*``) from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.serving.conftest import (  # noqa: F401 (re-exported)
    CHURNER,
    LOYAL,
    ROOT,
    free_port,
    http,
    model_worker_pid,
    process_tree,
    start_stack,
    stop,
    wait_http,
)


def predict(base: str, payload, timeout: float = 30) -> tuple[int, dict, dict, float]:
    """POST /predict with a JSON payload: (status, headers, JSON answer, seconds)."""
    started = time.perf_counter()
    status, headers, body = http(
        base + "/predict",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
        timeout=timeout,
    )
    return (
        status,
        {k.lower(): v for k, v in headers.items()},
        json.loads(body),
        time.perf_counter() - started,
    )


@pytest.fixture(scope="session")
def live_stack(bundle_dir, tmp_path_factory):
    """One stack with the default settings, shared by the load, bad-input and contract tests."""
    with start_stack(bundle_dir, tmp_path_factory.mktemp("live-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def cutoff(bundle_dir) -> float:
    return json.loads((bundle_dir / "feature_schema.json").read_text())["decision"]["cutoff"]


def raw_request(port: int, head: bytes, body: bytes = b"", chunked: bool = False, timeout: float = 30):
    """One request over a raw socket, its body sent while the answer is read (a server may answer
    and close before a refused body is all sent): (status, headers, body, seconds). Status 0:
    the connection closed with no answer."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        received = bytearray()

        def read() -> None:
            with contextlib.suppress(OSError):
                while data := sock.recv(65536):
                    received.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        with contextlib.suppress(OSError):  # the server may close once it has answered
            sock.sendall(head)
            for i in range(0, len(body), 65536):
                part = body[i : i + 65536]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        reader.join(timeout)
    seconds = time.perf_counter() - started
    head_bytes, _, rest = bytes(received).partition(b"\r\n\r\n")
    if not head_bytes:
        return 0, {}, b"", seconds
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest, seconds


def post_head(content_type: str, length: int | None = None) -> bytes:
    """Request head of ``POST /predict`` closing the connection after the answer; chunked without a length."""
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Connection: close\r\n{framing}\r\n\r\n"
    ).encode()


def adapter_pids(stack: dict) -> list[int]:
    """The stack's own processes (server main + workers), not the model server it started (nor its worker)."""
    model_server = set(process_tree(stack["model_pid"]))
    return [p for p in process_tree(stack["proc"].pid) if p not in model_server]


def memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak since start) of a process, KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


@contextlib.contextmanager
def model_server(bundle: Path, log_dir: Path, header_timeout: float, body_timeout: float | None = None):
    """``python -m ml serve`` on a free port with its output in ``serve.log``; yields a dict: port,
    proc, worker (the pid that reads and scores: peak memory is read there), log, width."""
    port, log = free_port(), log_dir / "serve.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MODEL_SERVER_HEADER_TIMEOUT": str(header_timeout)}
    if body_timeout is not None:
        env["MODEL_SERVER_BODY_TIMEOUT"] = str(body_timeout)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ml", "serve", "--model", str(bundle), "--port", str(port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            wait_http(f"http://127.0.0.1:{port}/ping", proc)
            width = re.search(rb"\((\d+) features\)", log.read_bytes())
            assert width is not None, log.read_text()
            yield {
                "port": port,
                "proc": proc,
                "worker": model_worker_pid(proc.pid),
                "log": log,
                "width": int(width.group(1)),
            }
        finally:
            stop(proc)
