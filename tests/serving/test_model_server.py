"""The model server against the SageMaker XGBoost container contract, over real HTTP on loopback."""

from __future__ import annotations

import concurrent.futures
import http.client
import io
import json
import socket
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import numpy as np
import pytest
import xgboost as xgb
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.serving.inference import BodyGuard, Limits
from ml.serving.model_server import RequestError, Scorer, load_booster


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def rows(booster) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.random((5, booster.num_features())) * 50
    x[:, -10:] = rng.integers(0, 2, (5, 10))
    return np.round(x, 3)


def as_csv(x: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in x).encode()


def expected(booster, x: np.ndarray) -> list[float]:
    """What the container computes: a DMatrix of the float64 CSV values, every tree."""
    return [float(s) for s in booster.predict(xgb.DMatrix(x), iteration_range=(0, 0))]


def csv_answer(scores) -> bytes:
    return "".join(repr(s) + "\n" for s in scores).encode()


def test_ping(model_server):
    parts = urlsplit(model_server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/ping")
    assert conn.getresponse().status == 200


@pytest.mark.parametrize("accept", [None, "text/csv", "*/*", "text/csv; charset=utf-8"])
@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8", "TEXT/CSV"])
def test_csv_bytes_exactly_as_the_container(model_server, booster, rows, accept, content_type):
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    status, got_headers, body = post(model_server, "/invocations", as_csv(rows), headers)
    assert status == 200
    assert body == csv_answer(expected(booster, rows))
    assert got_headers["content-type"].startswith("text/csv")


def test_json_answer(model_server, booster, rows):
    status, headers, body = post(
        model_server, "/invocations", as_csv(rows[:3]), {"Content-Type": "text/csv", "Accept": "application/json"}
    )
    assert status == 200 and headers["content-type"] == "application/json"
    scores = expected(booster, rows[:3])
    assert body == json.dumps({"predictions": [{"score": s} for s in scores]}).encode()
    assert body.startswith(b'{"predictions": [{"score": ')


def test_missing_values_and_crlf(model_server, booster, rows):
    x = rows[:2].copy()
    x[0, 1] = np.nan
    text = as_csv(x).decode().replace("nan", "").replace("\n", "\r\n").encode()
    status, _, body = post(model_server, "/invocations", text, {"Content-Type": "text/csv"})
    assert status == 200
    assert body == csv_answer(expected(booster, x))


def test_libsvm(model_server, booster):
    width = booster.num_features()
    x = np.full((2, width), np.nan)
    x[0, [0, 3, width - 1]] = [1.5, 2.0, 1.0]
    x[1, [1]] = [7.25]
    body = f"1 0:1.5 3:2 {width - 1}:1\n0 1:7.25\n".encode()
    for content_type in ("text/libsvm", "text/x-libsvm"):
        status, _, answer = post(model_server, "/invocations", body, {"Content-Type": content_type})
        assert status == 200
        assert answer == csv_answer(expected(booster, x))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"1,2", "application/json", 415, [b"application/json"]),
        (b"1,2", "application/x-www-form-urlencoded", 415, [b"not supported"]),
        (None, "text/csv", 415, [b"header"]),  # header row
        (b"", "text/csv", 400, [b"empty"]),
        (b"  \n", "text/csv", 400, [b"empty"]),
        ("extra", "text/csv", 400, [b"more than"]),
        ("fewer", "text/csv", 400, [b"fewer than"]),
        ("word", "text/csv", 400, [b"row 2, column 3", b"abc"]),
        ("ragged", "text/csv", 400, [b"row 2 has"]),
        (b"\xff\xfe,1", "text/csv", 400, [b"UTF-8"]),
        (b"0:1 x:2", "text/libsvm", 400, [b"libsvm"]),
        (b"0:1 100000:2", "text/libsvm", 400, [b"feature index"]),
    ],
)
def test_refusals(model_server, booster, rows, body, content_type, status, words):
    width = booster.num_features()
    good = as_csv(rows[:1]).strip()
    variants = {
        None: (",".join(f"f{i}" for i in range(width)) + "\n").encode() + good,
        "extra": good + b",1",
        "fewer": good.rsplit(b",", 1)[0],
        "word": good + b"\n" + b"1,2,abc," + b",".join([b"0"] * (width - 3)),
        "ragged": good + b"\n" + good + b",1",
    }
    payload = variants.get(body, body)
    got, _, answer = post(model_server, "/invocations", payload, {"Content-Type": content_type})
    assert got == status, answer
    for word in words:
        assert word in answer
    assert b"Traceback" not in answer


def test_accept_not_supported_is_406(model_server, rows):
    status, _, _ = post(
        model_server, "/invocations", as_csv(rows[:1]), {"Content-Type": "text/csv", "Accept": "text/html"}
    )
    assert status == 406


def test_the_model_server_never_loads_scikit_learn(model_server_process):
    """It only predicts: xgboost's optional scikit-learn wrappers (2 s of CPU per start) stay out."""
    _, proc = model_server_process
    mapped = Path(f"/proc/{proc.pid}/maps").read_text()
    assert "/xgboost/" in mapped and "/sklearn/" not in mapped


def test_unknown_path_and_method(model_server):
    assert post(model_server, "/nope", b"", {})[0] == 404
    parts = urlsplit(model_server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", "/invocations")
    assert conn.getresponse().status == 405


def test_large_request(model_server, booster):
    x = np.round(np.random.default_rng(5).random((10_000, booster.num_features())) * 100, 2)
    status, _, body = post(model_server, "/invocations", as_csv(x), {"Content-Type": "text/csv"})
    assert status == 200
    assert body == csv_answer(expected(booster, x))


# -- the SageMaker runtime API path, through an unmodified boto3 client --------------------
def runtime(url: str | None = None):
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def test_runtime_api_same_bytes(model_server, rows):
    direct = post(model_server, "/invocations", as_csv(rows), {"Content-Type": "text/csv", "Accept": "text/csv"})[2]
    answer = runtime(model_server).invoke_endpoint(
        EndpointName="churn-xgboost", ContentType="text/csv", Accept="text/csv", Body=as_csv(rows)
    )
    assert answer["Body"].read() == direct
    assert answer["ContentType"] == "text/csv"
    as_json = runtime(model_server).invoke_endpoint(
        EndpointName="churn-xgboost", ContentType="text/csv", Accept="application/json", Body=as_csv(rows)
    )
    assert (
        as_json["Body"].read()
        == post(model_server, "/invocations", as_csv(rows), {"Content-Type": "text/csv", "Accept": "application/json"})[
            2
        ]
    )


def test_runtime_api_via_environment(model_server, rows, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", model_server)
    answer = runtime().invoke_endpoint(EndpointName="churn", ContentType="text/csv", Body=as_csv(rows[:1]))
    assert answer["Body"].read().count(b"\n") == 1


def test_runtime_api_errors_are_model_errors(model_server):
    client = runtime(model_server)
    with pytest.raises(client.exceptions.ModelError) as raised:
        client.invoke_endpoint(EndpointName="churn", ContentType="text/csv", Body=b"1,2,3")
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400 and "fewer than" in error["OriginalMessage"]
    with pytest.raises(client.exceptions.ModelError) as raised:
        client.invoke_endpoint(EndpointName="churn", ContentType="application/json", Body=b"{}")
    assert raised.value.response["OriginalStatusCode"] == 415


# -- in process: loading and parsing ---------------------------------------------------------
def _tarball(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path / "model.tar.gz", "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_load_takes_a_training_jobs_archive_or_a_bundles_and_nothing_else(tmp_path, booster):
    raw = bytes(booster.save_raw("ubj"))
    script = b"def model_fn(model_dir): ...\n"
    for good in ({"xgboost-model": raw}, {"xgboost-model": raw, "code/inference.py": script}):
        _tarball(tmp_path, good)
        assert load_booster(tmp_path).num_features() == booster.num_features()
    for members in (
        {"xgboost-model": raw, "feature_schema.json": b"{}"},
        {"xgboost-model": raw, "code/inference.py": script, "code/other.py": b""},
        {"xgboost-model": raw, "code/train.py": script},
        {"model/xgboost-model": raw},
        {"../xgboost-model": raw},
    ):
        _tarball(tmp_path, members)
        with pytest.raises(ValueError, match=r"must hold the files 'xgboost-model' and 'code/inference\.py'"):
            load_booster(tmp_path)


def test_in_process_scorer_matches_predict(booster, rows):
    scorer = Scorer(booster)
    body, kind = scorer.score(as_csv(rows), "text/csv", None)
    assert kind == "text/csv" and body == csv_answer(expected(booster, rows))
    one = as_csv(rows[:1])
    assert scorer.parse_csv(one).dtype == np.float64
    with pytest.raises(RequestError) as raised:
        scorer.parse_csv(b"1,,2\n3,4")
    assert raised.value.status == 400


def test_errors_are_json_messages(model_server):
    status, headers, body = post(model_server, "/invocations", b"1,2", {"Content-Type": "text/csv"})
    assert status == 400 and headers["content-type"] == "application/json"
    assert "fewer than" in json.loads(body)["error"]
    status, headers, body = post(model_server, "/nope", b"", {})
    assert status == 404 and "error" in json.loads(body)


def test_concurrent_requests_each_get_their_own_scores(model_server, booster):
    """Requests in flight together are scored in one batch: every answer must still be its own."""
    x = np.round(np.random.default_rng(11).random((64, booster.num_features())) * 100, 2)
    want = expected(booster, x)
    sizes = [1 + i % 3 for i in range(32)]  # 1-3 rows each, 64 rows in all
    starts = np.cumsum([0, *sizes[:-1]])

    def one(i: int) -> tuple[int, bytes, bytes]:
        rows = x[starts[i] : starts[i] + sizes[i]]
        status, _, body = post(model_server, "/invocations", as_csv(rows), {"Content-Type": "text/csv"})
        return status, body, csv_answer(want[starts[i] : starts[i] + sizes[i]])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for status, got, wanted in pool.map(one, range(len(sizes))):
            assert status == 200 and got == wanted


def test_pipelined_requests_are_answered_in_order(model_server, booster, rows):
    parts = urlsplit(model_server)
    bodies = [as_csv(rows[:1]), b"1,2", as_csv(rows[1:3])]
    wire = b"".join(
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b)
        for b in bodies
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(wire)
        data = b""
        while data.count(b"HTTP/1.1 ") < 3 or not data.endswith(b"\n"):
            data += sock.recv(65536)
    answers = data.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200", b"400", b"200"]
    assert answers[0].endswith(csv_answer(expected(booster, rows[:1])))
    assert answers[2].endswith(csv_answer(expected(booster, rows[1:3])))


@settings(max_examples=300, deadline=None)
@given(
    body=st.lists(st.sampled_from([b"\n", b"\r\n", b"1", b"22,", b"x" * 300]), max_size=200).map(b"".join),
    cuts=st.lists(st.integers(0, 70_000), max_size=6),
    max_line=st.integers(1, 400),
)
def test_body_guard_agrees_with_the_whole_body_however_it_is_chunked(body, cuts, max_line):
    """The limits are checked chunk by chunk: the verdict must not depend on where chunks split."""
    limits = Limits(max_body_bytes=50_000, max_rows=40, max_line_bytes=max_line)
    lines = body.split(b"\n")
    if len(body) > limits.max_body_bytes:
        verdict = "bytes"
    elif body.count(b"\n") > limits.max_rows:
        verdict = "rows"
    elif max(map(len, lines)) > max_line:
        verdict = "line"
    else:
        verdict = "ok"
    points = sorted({c for c in cuts if c < len(body)})
    guard = BodyGuard(limits)
    caught: RequestError | None = None
    try:
        for a, b in zip([0, *points], [*points, len(body)], strict=True):
            guard.feed(body[a:b])
    except RequestError as err:
        caught = err
    got = "ok"
    if caught is not None:
        assert caught.status == 413
        got = "bytes" if "request body" in caught.message else "rows" if "rows" in caught.message else "line"
    if verdict == "ok" or got == "ok":
        assert got == verdict
    else:  # several limits broken: chunk order decides which one is seen first
        assert got in ("bytes", "rows", "line")


def test_missing_values_in_a_body_of_many_blocks(booster):
    """Empty fields anywhere (first, last, runs) in a body parsed block by block: NaN in place."""
    rng = np.random.default_rng(13)
    x = np.round(rng.random((3000, booster.num_features())) * 100, 3)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[::7, 0] = x[::5, -1] = x[3, :] = np.nan
    body = as_csv(x).replace(b"nan", b"")
    assert len(body) > 600_000  # several of the parser's blocks
    scorer = Scorer(booster)
    assert np.array_equal(scorer.parse_csv(body), x, equal_nan=True)
    assert scorer.score(body, "text/csv", None)[0] == csv_answer(expected(booster, x))
