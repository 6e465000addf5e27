"""Endpoint failures seen through ``POST /predict`` of the local stack: 504, 503, 502, recovery.

One stack with low handler timeouts (1 s connect, 1 s read, one attempt: the adapter passes
its environment to the handler). tests/serving/test_stack.py::test_model_server_restart
already proves kill -> 503 -> a new model server -> 200; here: a model server that hangs
(SIGSTOP) is a 504 within the read timeout and recovers when it resumes; a stopped one is a
503 with ``Retry-After`` within the connect timeout; a model port answering junk is a 502;
each time the adapter keeps running and recovers without a restart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .conftest import CHURNER, ROOT, predict, process_tree, start_stack, stop, wait_http

pytestmark = pytest.mark.integration

READ_TIMEOUT = 1.0
CONNECT_TIMEOUT = 1.0
SLACK = 3.0  # process scheduling on a busy 2-core machine


@pytest.fixture(scope="module")
def fault_stack(bundle_dir, tmp_path_factory):
    env = {
        "INVOKE_READ_TIMEOUT": str(READ_TIMEOUT),
        "INVOKE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "INVOKE_MAX_ATTEMPTS": "1",
        "STACK_WORKERS": "1",
    }
    with start_stack(bundle_dir, tmp_path_factory.mktemp("fault-stack"), env) as stack:
        state = {**stack, "replacement": None}
        try:
            yield state
        finally:
            signal_tree(state["model_pid"], signal.SIGCONT)
            if state["replacement"] is not None:
                stop(state["replacement"])


def signal_tree(main_pid: int, signum: int) -> None:
    """The model server is Granian's main process and its worker: both get ``signum``."""
    for pid in process_tree(main_pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def kill_model_server(stack) -> None:
    if stack["replacement"] is not None:
        stop(stack["replacement"])
        stack["replacement"] = None
    else:  # the worker dies with its main process (PR_SET_PDEATHSIG), as when a supervisor kills it
        with contextlib.suppress(ProcessLookupError):
            os.kill(stack["model_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until nothing listens on the port
        try:
            socket.create_connection(("127.0.0.1", stack["model_port"]), timeout=0.5).close()
        except OSError:
            break
        time.sleep(0.05)


def start_model_server(stack) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ml", "serve", "--model", str(stack["bundle"]), "--port", str(stack["model_port"])],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    stack["replacement"], stack["model_pid"] = proc, proc.pid
    wait_http(f"http://127.0.0.1:{stack['model_port']}/ping", proc)


def assert_serving(stack, within: float = 15.0) -> None:
    """/predict answers 200 again within ``within`` seconds, and the adapter never restarted."""
    deadline = time.monotonic() + within
    while True:
        status, _, answer, _ = predict(stack["base"], CHURNER)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200, answer
    assert 0.0 <= answer["predictions"][0]["churn_probability"] <= 1.0
    assert stack["proc"].poll() is None


def test_hung_model_server_is_504_within_the_read_timeout_then_recovers(fault_stack):
    assert_serving(fault_stack)
    signal_tree(fault_stack["model_pid"], signal.SIGSTOP)
    try:
        status, headers, answer, seconds = predict(fault_stack["base"], CHURNER)
    finally:
        signal_tree(fault_stack["model_pid"], signal.SIGCONT)
    assert status == 504, answer
    assert answer == {"error": "the model endpoint did not answer in time"}
    assert headers["content-type"] == "application/json"
    assert READ_TIMEOUT * 0.9 <= seconds <= READ_TIMEOUT + SLACK
    assert_serving(fault_stack)


def test_stopped_model_server_is_503_with_retry_after_within_the_connect_timeout(
    fault_stack,
):
    assert_serving(fault_stack)
    kill_model_server(fault_stack)
    try:
        status, headers, answer, seconds = predict(fault_stack["base"], CHURNER)
        assert status == 503, answer
        assert answer == {"error": "the model endpoint is unreachable; retry shortly"}
        assert headers.get("retry-after") == "5"
        assert seconds <= CONNECT_TIMEOUT + SLACK
    finally:
        start_model_server(fault_stack)
    assert_serving(fault_stack)


class _Junk(BaseHTTPRequestHandler):
    """A 'model server' that answers 200 with something that is not one score per record."""

    calls = 0  # requests answered so far: picks the next junk answer
    answers = (
        b"not,a,score\n",
        b"0.5\n0.7\n",
        b"1.5\n",
        b"nan\n",
        b"",
        b"\xff\xfe garbage",
    )

    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls += 1
        self._answer(self.answers[type(self).calls % len(self.answers)])

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_garbage_from_the_model_port_is_502_and_a_restarted_model_server_is_used(
    fault_stack,
):
    assert_serving(fault_stack)
    kill_model_server(fault_stack)
    _Junk.calls = 0
    junk = ThreadingHTTPServer(("127.0.0.1", fault_stack["model_port"]), _Junk)
    thread = threading.Thread(target=junk.serve_forever, daemon=True)
    thread.start()
    try:
        for _ in range(len(_Junk.answers)):
            status, _, answer, _ = predict(fault_stack["base"], CHURNER)
            assert status == 502, answer
            assert answer == {"error": "the model endpoint returned an unexpected response"}
        assert _Junk.calls >= len(_Junk.answers)
    finally:
        junk.shutdown()
        junk.server_close()
        thread.join(5)
    start_model_server(fault_stack)
    assert_serving(fault_stack)
