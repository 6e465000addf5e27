"""The model server (``python -m ml serve``, a real process on loopback) under hostile requests.

Newline bombs, oversized bodies, lines and headers, slow clients (slowloris) and large valid
requests: each is answered with a 4xx JSON message in bounded time, the server's peak memory
(``VmHWM``) stays under ``RSS_BOUND_MB``, ``/ping`` keeps answering meanwhile, and the log holds
one line per refusal and no traceback. Timeouts are shortened through the environment
(``MODEL_SERVER_HEADER_TIMEOUT``, ``MODEL_SERVER_BODY_TIMEOUT``) so the slow-client tests are quick.

The time bounds are correctness bounds with wide margins (a loaded 2-core machine), not speed
targets: the figures live in ``bench/``.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import model_server

pytestmark = pytest.mark.integration

# 8 MB in 5 s even on a loaded machine, sent as curl sends a body of unknown length (64 KiB
# writes): Granian hands the app one frame per receive(), three thread hand-offs each, and
# with 8 KiB writes (~5 KB frames) a CPU-starved 2-core machine took over 5 s for 6 MiB.
HEADER_TIMEOUT, BODY_TIMEOUT = 1.0, 5.0
RSS_BOUND_MB = 400  # docs/reliability.md: peak resident memory of the model server under these attacks
QUICK = 2.0  # s: the bound for a refusal


@pytest.fixture(scope="module")
def server(bundle_dir, tmp_path_factory):
    with model_server(bundle_dir, tmp_path_factory.mktemp("hostile"), HEADER_TIMEOUT, BODY_TIMEOUT) as started:
        yield started


def request(server, body: bytes | Iterator[bytes], content_type: str = "text/csv", headers=None, timeout: float = 30):
    """(status, content type, body bytes, seconds) of one POST /invocations on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request("POST", "/invocations", body, {"Content-Type": content_type, **(headers or {})})
        response = conn.getresponse()
        return response.status, response.getheader("content-type"), response.read(), time.perf_counter() - started
    finally:
        conn.close()


def ping_seconds(server) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=10)
    try:
        conn.request("GET", "/ping")
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    return time.perf_counter() - started


def peak_rss_mb(server) -> float:
    """Peak resident memory of the worker, which reads, buffers and scores every request."""
    status = Path(f"/proc/{server['worker']}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert found is not None, status
    return int(found.group(1)) / 1024


def assert_json_error(content_type, body: bytes, *words: str) -> None:
    assert content_type == "application/json", (content_type, body[:200])
    message = json.loads(body)["error"]
    for word in words:
        assert word in message, message


def valid_rows(width: int, n: int) -> bytes:
    x = np.round(np.random.default_rng(7).random((n, width)) * 100, 3)
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in x).encode()


def pinging_while(server, action):
    """Run ``action`` in a thread while /ping is polled; (its result, the slowest ping in s, pings)."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(value=action()))
    thread.start()
    pings: list[float] = []
    while thread.is_alive() or not pings:
        pings.append(ping_seconds(server))
    thread.join()
    return result["value"], max(pings), len(pings)


# -- the bombs ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content_type", "make_body"),
    [
        ("text/libsvm", lambda: b"\n" * 3_000_000),
        ("text/libsvm", lambda: b"0:1" + b"\n" * 3_000_000 + b"0:1"),
        ("text/csv", lambda: b"\n" * 6_000_000),
        ("text/csv", lambda: b"1" + b"\n" * 6_000_000 + b"1"),
        ("text/csv", lambda: b"1" + b"\r\n" * 3_000_000 + b"1"),
    ],
    ids=["libsvm-newlines", "libsvm-rows-of-nothing", "csv-newlines", "csv-rows-of-nothing", "csv-crlf"],
)  # built in the test, not at collection in every worker
def test_newline_bomb_is_a_quick_4xx_with_bounded_memory_and_ping_answering(server, content_type, make_body):
    body = make_body()
    (status, kind, answer, seconds), slowest_ping, _ = pinging_while(
        server, lambda: request(server, body, content_type)
    )
    assert 400 <= status < 500, answer[:200]
    assert seconds < QUICK, f"{seconds:.2f} s for a {status}"
    assert_json_error(kind, answer)
    assert slowest_ping < QUICK
    assert peak_rss_mb(server) < RSS_BOUND_MB


def test_a_large_valid_request_does_not_stall_ping(server):
    """~5 MB of real rows takes a while to parse and score: /ping answers throughout."""
    body = valid_rows(server["width"], 10_000)
    assert 4_000_000 < len(body) < 6 * 1024 * 1024
    (status, _, answer, seconds), slowest_ping, pings = pinging_while(server, lambda: request(server, body))
    assert status == 200 and answer.count(b"\n") == 10_000
    assert slowest_ping < QUICK, f"/ping took {slowest_ping:.2f} s while a {seconds:.2f} s request ran"
    assert pings >= 2
    assert peak_rss_mb(server) < RSS_BOUND_MB


# -- limits checked while reading --------------------------------------------------------------------
def test_a_declared_oversized_body_is_refused_before_it_is_sent(server):
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=5) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 7000000\r\n\r\n"
        )
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"6291456 bytes" in head


def test_an_oversized_chunked_body_is_refused_while_it_arrives(server):
    chunks = ((b"1," * 4096 + b"\n") * 8 for _ in range(125))  # 8 MB in 64 KiB writes, no length announced
    status, kind, answer, seconds = request(server, chunks)  # an iterator goes chunked
    assert status == 413 and seconds < QUICK * 2
    assert_json_error(kind, answer, "6291456 bytes")


def test_a_line_too_long_is_refused(server):
    status, kind, answer, _ = request(server, b"1," * 40_000 + b"1")
    assert status == 413
    assert_json_error(kind, answer, "65536 bytes")


def test_too_many_rows_is_refused(server):
    status, kind, answer, _ = request(server, b"1\n" * 100_001)
    assert status == 413
    assert_json_error(kind, answer, "100000 rows")


def test_oversized_headers_are_431(server):
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=5) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 431")


def test_malformed_http_is_a_400(server):
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=5) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 400"), head  # hyper's answer, before any app: no body


# -- slow clients ----------------------------------------------------------------------------------
def closed_within(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; fails if it has not closed within ``seconds``."""
    sock.settimeout(seconds)
    started, data = time.perf_counter(), b""
    while chunk := sock.recv(4096):
        data += chunk
    return data, time.perf_counter() - started


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(server):
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=5) as sock:
        data, seconds = closed_within(sock, HEADER_TIMEOUT + 3)
    assert data == b"", data  # hyper closes it: nothing was asked, so nothing is answered
    assert seconds >= HEADER_TIMEOUT * 0.9


def test_trickled_headers_are_cut_off_at_the_header_deadline(server):
    """One byte every 0.2 s: a per-read timeout would never fire; the deadline does."""
    sock = socket.create_connection(("127.0.0.1", server["port"]), timeout=5)
    started = time.perf_counter()
    try:
        for byte in b"POST /invocations HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            sock.sendall(bytes([byte]))
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        pass
    else:
        pytest.fail("the server kept reading trickled headers for 20 s")
    assert time.perf_counter() - started < HEADER_TIMEOUT + 3
    sock.close()


def test_a_trickled_body_is_408_at_the_body_deadline_and_ping_answers(server):
    sock = socket.create_connection(("127.0.0.1", server["port"]), timeout=5)
    sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n")
    started = time.perf_counter()
    answer = b""
    sock.settimeout(0.3)
    while time.perf_counter() - started < BODY_TIMEOUT + 3 and not answer:
        try:
            sock.sendall(b"1,")
            answer = sock.recv(4096)
        except TimeoutError:
            assert ping_seconds(server) < 1.0
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"request body not received within" in answer


def test_many_idle_connections_do_not_stop_ping(server):
    socks = [socket.create_connection(("127.0.0.1", server["port"]), timeout=5) for _ in range(200)]
    try:
        assert ping_seconds(server) < 1.0
    finally:
        for sock in socks:
            sock.close()


# -- growing bodies of every shape -----------------------------------------------------------------
SHAPES = {
    "newlines": lambda n, w: b"\n" * n,
    "crlf": lambda n, w: b"\r\n" * (n // 2),
    "commas": lambda n, w: b"," * n,
    "digits": lambda n, w: b"7" * n,
    "nul": lambda n, w: b"\0" * n,
    "ones": lambda n, w: (b"1," * n)[:n],
    "rows": lambda n, w: ((b",".join([b"1.5"] * w) + b"\n") * (n // (4 * w) + 1))[:n],
    "ragged-rows": lambda n, w: ((b",".join([b"2"] * (w + 1)) + b"\n") * (n // (2 * w) + 1))[:n],
    "empty-fields": lambda n, w: ((b"," * (w - 1) + b"\n") * (n // w + 1))[:n],
    "libsvm-items": lambda n, w: (b"0 1:2.5 " * n)[:n],
    "header-words": lambda n, w: (b"a," * n)[:n],
    "nested-brackets": lambda n, w: b"[" * n,
    "utf16": lambda n, w: ("1," * n)[:n].encode("utf-16"),
}


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    shape=st.sampled_from(sorted(SHAPES)),
    exponent=st.integers(0, 23),  # 1 byte to 8 MB
    content_type=st.sampled_from(["text/csv", "text/libsvm", "text/csv; charset=utf-8"]),
)
def test_no_body_of_any_size_or_shape_gets_a_5xx_or_a_traceback(server, shape, exponent, content_type):
    body = SHAPES[shape](2**exponent, server["width"])
    status, kind, answer, _ = request(server, body, content_type)
    assert status < 500, (shape, exponent, answer[:300])
    if status >= 400:
        assert_json_error(kind, answer)
    log = server["log"].read_bytes()
    assert b"Traceback" not in log
    assert b" 500 " not in log
    assert peak_rss_mb(server) < RSS_BOUND_MB


def test_every_refusal_logged_one_line_and_the_server_still_predicts(server):
    """Runs after the attacks above (pytest keeps file order): the server is still whole."""
    status, kind, answer, _ = request(server, valid_rows(server["width"], 2), headers={"Accept": "application/json"})
    assert status == 200 and kind == "application/json" and len(json.loads(answer)["predictions"]) == 2
    lines = server["log"].read_text().splitlines()
    refusals = [line for line in lines if re.search(r" INFO 4\d\d POST /invocations: ", line)]
    assert refusals, "no refusal was logged"
    assert all(line.count(" INFO ") == 1 for line in refusals)
    assert not any("Traceback" in line or "ERROR" in line for line in lines)


@pytest.mark.parametrize(
    "target",
    [b"*", b"http://[", b"/%00", b"//x", b"/ping?" + b"a" * 5000, b"/" + b"a" * 300, b"/invocations/../ping"],
    ids=["asterisk", "bad-authority", "nul", "double-slash", "5000-char-query", "300-char-path", "dot-dot"],
)
def test_odd_request_targets_are_answered_without_a_5xx(server, target):
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=5) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        head = sock.recv(4096)
    status = int(head[9:12])
    assert 200 <= status < 500, head
    assert b"Traceback" not in server["log"].read_bytes()
