"""Random and hostile request bodies: never a 5xx for a client's mistake, never a crash.

Hypothesis throws bodies (bytes, CSV rows with NaN/inf/negative/huge values, JSON with
``NaN``/``Infinity`` literals, wrong and odd content types, other text encodings, chunked
uploads) at the model server's ASGI app in-process and at ``POST /predict`` of the real local
stack (adapter -> Lambda handler -> boto3 -> model server); after each run the server still
answers (/ping, a valid prediction). Examples are bounded (``max_examples``) and so is each
one's time (``deadline``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.serving.model_server import create_app

from .conftest import CHURNER, LOYAL, http, predict

pytestmark = pytest.mark.integration

SETTINGS = settings(
    max_examples=200,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-1.0, -1e308, 1e308, 0.0, -0.0, 1e-320, 2**63, -(2**63)]),
    st.integers(min_value=-(10**30), max_value=10**30),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        ["text/csv", "TEXT/CSV", "text/csv; charset=utf-8", "text/csv; charset=utf-16", "application/json",
         "application/json; charset=latin-1", "text/libsvm", "text/plain", "application/x-www-form-urlencoded",
         "multipart/form-data; boundary=x", "", "*/*", "text/", ";", "application/octet-stream"]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)  # fmt: skip


# -- the model server, in-process ----------------------------------------------------------------
@pytest.fixture(scope="module")
def app(bundle_dir):
    return create_app(bundle_dir)


def call_app(app, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    """One ASGI request; the body arrives in ``chunks``. Returns (status, body)."""
    sent: list[dict] = []
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    pending = pending or [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers,
        "query_string": b"",
    }
    # A loop of its own in a thread of its own: another test's loop (Playwright's sync API
    # keeps one running in the main thread for the session) must not be in the way.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def csv_rows(width: int):
    row = st.lists(HOSTILE_FLOATS, min_size=max(width - 2, 0), max_size=width + 2)
    return st.lists(row, min_size=0, max_size=5).map(lambda rows: "\n".join(",".join(map(repr, r)) for r in rows))


def model_bodies(width: int):
    return st.one_of(
        st.binary(max_size=2000),
        csv_rows(width).map(str.encode),
        csv_rows(width).map(lambda t: t.encode("utf-16")),
        st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.just(b""),
        st.just(b"\n\n\r\n"),
        st.just(b"nan," * width),
        st.just(("1e400," * width)[:-1].encode()),
    )


@st.composite
def model_requests(draw, width: int):
    body = draw(model_bodies(width))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    headers = []
    content_type = draw(st.none() | CONTENT_TYPES)
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    accept = draw(
        st.none()
        | st.sampled_from(
            [
                "text/csv",
                "application/json",
                "application/jsonlines",
                "*/*",
                "image/png",
                "x",
            ]
        )
    )
    if accept is not None:
        headers.append((b"accept", accept.encode()))
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"]))
    path = draw(
        st.sampled_from(
            [
                "/invocations",
                "/endpoints/churn-local/invocations",
                "/endpoints/-x/invocations",
                "/ping",
                "/x",
            ]
        )
    )
    return method, path, headers, chunks


def test_model_server_never_fails_on_client_input(app):
    width = app.scorer.width

    @SETTINGS
    @given(model_requests(width))
    def run(request):
        method, path, headers, chunks = request
        status, body = call_app(app, method, path, headers, chunks)
        assert status < 500, (status, body[:300], request)
        if status == 200 and path != "/ping" and method == "POST":
            assert body  # scores for a scorable body, NaN/inf inputs included
        assert b"Traceback" not in body

    run()
    assert call_app(app, "GET", "/ping", [], [])[0] == 200
    row = ",".join(["1"] * width).encode()
    status, body = call_app(app, "POST", "/invocations", [(b"content-type", b"text/csv")], [row])
    assert status == 200 and 0.0 <= float(body) <= 1.0


def test_model_server_refuses_an_oversized_body_without_reading_it_all(app):
    chunk = b"1," * (512 * 1024)
    status, body = call_app(app, "POST", "/invocations", [(b"content-type", b"text/csv")], [chunk] * 8)
    assert status == 413, body
    assert call_app(app, "GET", "/ping", [], [])[0] == 200


# -- POST /predict of the real local stack --------------------------------------------------------
FIELDS = list(CHURNER)
JSON_VALUES = st.one_of(
    HOSTILE_FLOATS, st.text(max_size=20), st.booleans(), st.none(), st.lists(st.integers(), max_size=2),
    st.sampled_from(["NaN", "Infinity", "-1", "1e999", "", " ", "yes", "415"]),
)  # fmt: skip


def records():
    """A real customer with some fields dropped, renamed or replaced by hostile values."""
    base = st.sampled_from([CHURNER, LOYAL])
    changes = st.dictionaries(st.sampled_from([*FIELDS, "Churn?", "Extra", ""]), JSON_VALUES, max_size=4)
    drops = st.sets(st.sampled_from(FIELDS), max_size=3)
    return st.tuples(base, changes, drops).map(lambda t: {k: v for k, v in {**t[0], **t[1]}.items() if k not in t[2]})


def to_json(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()  # NaN and Infinity literals on purpose


def to_csv(items) -> bytes:
    names = sorted({k for r in items for k in r})
    return (
        "\n".join(
            [
                ",".join(names),
                *(",".join(str(r.get(n, "")) for n in names) for r in items),
            ]
        )
        + "\n"
    ).encode()


@st.composite
def predict_requests(draw):
    items = draw(st.lists(records(), min_size=0, max_size=4))
    kind = draw(st.sampled_from(["json", "json-one", "csv", "csv-utf16", "bytes", "text"]))
    if kind == "json":
        body = to_json(items)
    elif kind == "json-one":
        body = to_json(items[0] if items else draw(JSON_VALUES))
    elif kind == "csv":
        body = to_csv(items)
    elif kind == "csv-utf16":
        body = to_csv(items).decode().encode("utf-16")
    elif kind == "bytes":
        body = draw(st.binary(max_size=1000))
    else:
        body = draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    content_type = draw(st.sampled_from(["application/json", "text/csv"]) | CONTENT_TYPES)
    method = draw(st.sampled_from(["POST"] * 6 + ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    return method, content_type, body


def test_predict_never_fails_on_client_input(live_stack, cutoff):
    base = live_stack["base"]

    @SETTINGS
    @given(predict_requests())
    def run(request):
        method, content_type, body = request
        headers = {"Content-Type": content_type} if content_type else {}
        status, _, raw = http(base + "/predict", body, headers, method=method)
        assert status in (200, 204, 400, 405, 413, 415), (status, raw[:300], request)
        if status == 204:
            return
        answer = json.loads(raw)
        if status == 200:
            assert answer["cutoff"] == cutoff and answer["predictions"]
            assert all(0.0 <= p["churn_probability"] <= 1.0 for p in answer["predictions"])
        else:
            assert isinstance(answer["error"], str) and answer["error"] and "Traceback" not in answer["error"]

    run()
    status, _, answer, _ = predict(base, [CHURNER, LOYAL])
    assert status == 200 and len(answer["predictions"]) == 2
    assert http(base + "/config.js")[0] == 200
    assert live_stack["proc"].poll() is None


@pytest.mark.parametrize(
    ("make_body", "content_type", "status"),
    [
        pytest.param(lambda: b"", "application/json", 400, id="empty-json"),
        pytest.param(lambda: b"", "text/csv", 400, id="empty-csv"),
        pytest.param(lambda: b"\xef\xbb\xbf", "text/csv", 400, id="bom-only"),
        pytest.param(lambda: b"[" + b"{}," * 1000 + b"{}]", "application/json", 413, id="1001-records"),
        pytest.param(lambda: b"1" * (1024 * 1024 + 1), "text/csv", 413, id="over-1MiB"),  # the handler's limit
        # refused by the adapter at the handler's limit, the rest read and dropped
        pytest.param(lambda: b"x" * (10 * 1024 * 1024 + 1), "text/csv", 413, id="over-10MiB"),
    ],
)  # bodies built in the test: a body as a parameter would be its test id (10 MiB; see tests/conftest.py)
def test_empty_and_huge_payloads(live_stack, make_body, content_type, status):
    got, _, raw = http(
        live_stack["base"] + "/predict",
        make_body(),
        {"Content-Type": content_type},
        method="POST",
    )
    assert got == status, raw[:300]
    answer = json.loads(raw)
    assert answer.get("error") or answer.get("message")
    assert predict(live_stack["base"], CHURNER)[0] == 200
