"""The local stack (``python -m ml stack``) under the attacks of issue 11, as a real process on loopback.

The stack runs with short timeouts (headers within 2 s, a body within 2 s) so that slow clients
are cut off inside the test's time. Bounds asserted:

* every refusal is a 4xx JSON answer with a message, in under 3 s (``FAST_S``);
* the newline bombs (3-40 MB bodies) raise no adapter process's peak RSS (``VmHWM``) by more
  than ``RSS_GROWTH_KIB`` (48 MiB) over its size before them; the handler's limit is 1 MiB and a
  refused body is dropped chunk by chunk, never held;
* other requests keep answering while bombs and slow clients are in flight;
* no traceback reaches the stack's log.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from .conftest import (
    CHURNER,
    adapter_pids,
    http,
    memory_kib,
    post_head,
    predict,
    raw_request,
    start_stack,
)

pytestmark = pytest.mark.integration

FAST_S = 3.0  # a 40 MB bomb is read up to 17 MB (the drain) beside the whole suite; before the fix: 25 s and more
HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 2
RSS_GROWTH_KIB = 48 * 1024


@pytest.fixture(scope="module")
def stack(bundle_dir, tmp_path_factory):
    env = {"STACK_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S), "STACK_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S)}
    with start_stack(bundle_dir, tmp_path_factory.mktemp("hostile-stack"), env=env) as started:
        started["port"] = int(started["base"].rsplit(":", 1)[1])
        yield started


def no_traceback(stack) -> None:
    log = stack["log"].read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def assert_refused(status: int, body: bytes, seconds: float, statuses=(400, 413)) -> dict:
    assert status in statuses, (status, body[:300])
    assert seconds < FAST_S, seconds
    answer = json.loads(body)
    assert isinstance(answer["error"], str) and answer["error"]
    return answer


def still_serving(stack, seconds: float) -> list[float]:
    """Valid predictions and the page, back to back, for ``seconds``: each one's latency."""
    latencies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, _, _, took = predict(stack["base"], CHURNER, timeout=10)
        assert status == 200
        latencies.append(took)
        assert http(stack["base"] + "/config.js", timeout=10)[0] == 200
    return latencies


BOMBS = [
    ("csv newlines, 3 MB, Content-Length", "text/csv", b"\n" * 3_000_000, False),
    ("csv newlines, 6 MB, chunked", "text/csv", b"\n" * 6_000_000, True),
    ("json newlines, 6 MB, chunked", "application/json", b"\n" * 6_000_000, True),
    ("csv newlines, 40 MB, chunked", "text/csv", b"\n" * 40_000_000, True),
    ("csv newlines, 1 MiB - 1 (under the body limit)", "text/csv", b"\n" * (1024 * 1024 - 1), False),
    ("json spaces, 1 MiB - 1", "application/json", b" " * (1024 * 1024 - 1), False),
]


def test_newline_bombs_are_refused_fast_in_bounded_memory_while_others_answer(stack):
    pids = adapter_pids(stack)
    assert len(pids) >= 2, pids  # the server's main process and at least one worker
    before = {pid: memory_kib(pid, "VmRSS") for pid in pids}
    results: list[tuple[str, int, bytes, float]] = []

    def fire() -> None:
        for _ in range(3):
            for name, kind, body, chunked in BOMBS:
                head = post_head(kind, None if chunked else len(body))
                status, _, answer, took = raw_request(stack["port"], head, body, chunked=chunked)
                results.append((name, status, answer, took))

    bombers = [threading.Thread(target=fire) for _ in range(2)]
    for t in bombers:
        t.start()
    latencies = []
    while any(t.is_alive() for t in bombers):
        latencies += still_serving(stack, 0.2)
    for t in bombers:
        t.join()
    assert len(results) == 2 * 3 * len(BOMBS)
    for name, status, answer, took in results:
        assert status in (400, 413), (name, status, answer[:200])
        assert_refused(status, answer, took)
    assert latencies and max(latencies) < FAST_S, latencies
    for pid in pids:
        grown = memory_kib(pid, "VmHWM") - before[pid]
        assert grown < RSS_GROWTH_KIB, f"pid {pid}: peak RSS {grown} KiB over its {before[pid]} KiB before the bombs"
    no_traceback(stack)


def test_slowloris_headers_are_cut_off_while_others_answer(stack):
    socks = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", stack["port"]), timeout=HEADER_TIMEOUT_S + 5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(sock)
    started = time.monotonic()
    still_serving(stack, 0.5)
    closed_after = []
    for sock in socks:
        with sock:
            try:
                while sock.recv(4096):
                    pass
            except OSError:  # a reset is a close too
                pass
            closed_after.append(time.monotonic() - started)
    assert max(closed_after) < HEADER_TIMEOUT_S + 3, closed_after
    still_serving(stack, 0.2)
    no_traceback(stack)


def test_slow_body_gets_408(stack):
    with socket.create_connection(("127.0.0.1", stack["port"]), timeout=BODY_TIMEOUT_S + 10) as sock:
        sock.sendall(post_head("application/json", 100) + b'{"State": ')
        started = time.monotonic()
        still_serving(stack, 0.3)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
            if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                break
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert "not received within" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
    assert took < BODY_TIMEOUT_S + 3
    no_traceback(stack)


@pytest.mark.parametrize("chunks", [b"ZZ\r\n{}\r\n0\r\n\r\n", b"2\r\n{}X0\r\n\r\n", b"-1\r\n\r\n"])
def test_a_bad_chunked_body_is_a_400(stack, chunks):
    """Granian reports a body it cannot read as a disconnect: the client still gets its 400, not a 500."""
    with socket.create_connection(("127.0.0.1", stack["port"]), timeout=5) as sock:
        sock.sendall(post_head("application/json") + chunks)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"] == "request body malformed or cut short"
    no_traceback(stack)


def record_with(field: str, raw_value: str) -> bytes:
    """CHURNER as JSON with one field's value replaced by raw JSON text."""
    text = json.dumps({**CHURNER, field: "@@"})
    return text.replace('"@@"', raw_value).encode()


def csv_with(field: str, cell: str) -> bytes:
    names = list(CHURNER)
    row = [cell if n == field else str(CHURNER[n]) for n in names]
    return (",".join(names) + "\n" + ",".join(row) + "\n").encode()


ATTACKS = [
    ("duplicate key", "application/json", json.dumps(CHURNER)[:-1].encode() + b', "State": "OH"}', "State"),
    ("1_0 in a JSON string", "application/json", record_with("Day Mins", '"1_0"'), "Day Mins"),
    ("1_0 in a CSV cell", "text/csv", csv_with("Day Calls", "1_0"), "Day Calls"),
    ("400-digit integer", "application/json", record_with("Account Length", "9" * 400), "Account Length"),
    ("5000-digit integer", "application/json", record_with("Area Code", "4" * 5000), "Area Code"),
    ("1e999", "application/json", record_with("Eve Mins", "1e999"), "Eve Mins"),
    ("NaN literal", "application/json", record_with("Night Mins", "NaN"), "Night Mins"),
    ("-Infinity literal", "application/json", record_with("Intl Mins", "-Infinity"), "Intl Mins"),
    ("100k nested [", "application/json", b"[" * 100_000, "nested"),
    ("100k nested objects", "application/json", b'{"a":' * 100_000, "nested"),
]


@pytest.mark.parametrize(("name", "kind", "body", "named"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_hostile_json_and_csv_values_are_400_naming_the_field(stack, name, kind, body, named):
    status, _, answer, took = raw_request(stack["port"], post_head(kind, len(body)), body)
    assert named in assert_refused(status, answer, took, statuses=(400,))["error"], name
    no_traceback(stack)


@st.composite
def growing_bodies(draw):
    """Bodies growing in size (to 12 MB, past every limit) and nesting (to 200k levels)."""
    kind = draw(st.sampled_from(["nested-lists", "nested-objects", "newlines", "records", "csv-rows", "mixed"]))
    size = draw(st.integers(0, 12 * 1024 * 1024))
    depth = draw(st.integers(0, 200_000))
    if kind == "nested-lists":
        body = b"[" * depth + b"]" * depth
    elif kind == "nested-objects":
        body = b'{"State":' * depth + b"1" + b"}" * depth
    elif kind == "newlines":
        body = b"\n" * size
    elif kind == "records":
        one = json.dumps(CHURNER).encode()
        body = b"[" + b",".join([one] * max(1, size // len(one))) + b"]"
    elif kind == "csv-rows":
        row = ",".join(str(v) for v in CHURNER.values()).encode() + b"\n"
        body = row * max(1, size // len(row))
    else:
        body = (b"[" * min(depth, 5000) + b"\n" * (size // 4))[:size]
    target(float(len(body)), label="body bytes")
    target(float(depth), label="nesting")
    content_type = "text/csv" if kind in ("csv-rows", "newlines") and depth % 2 else "application/json"
    return content_type, body, draw(st.booleans())


def test_growing_size_and_nesting_never_5xx_nor_a_traceback(stack):
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(growing_bodies())
    def run(request):
        content_type, body, chunked = request
        head = post_head(content_type, None if chunked else len(body))
        status, _, answer, took = raw_request(stack["port"], head, body, chunked=chunked)
        assert 200 <= status < 500, (status, answer[:300], content_type, len(body))
        assert took < FAST_S * 2, took  # 12 MB through loopback and a 413: well inside this
        if status != 200:
            assert json.loads(answer)["error"]
        assert "Traceback" not in stack["log"].read_text(errors="replace")

    run()
    assert predict(stack["base"], CHURNER)[0] == 200
    no_traceback(stack)
