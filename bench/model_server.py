"""Model server figures: single-row load at 1 and 16 connections, one 10,000-row request, and
its peak memory while one connection pipelines 17 MB of requests and never reads an answer.

Each is set beside the in-process limit (the same parse + predict in this process, no HTTP),
so the table shows what HTTP costs rather than a bare number. The server scores requests
that wait together in one predict call, so under load it can pass the one-row limit; the
batched limit (16 one-row bodies parsed, one predict call) is its ceiling.

``make bench BEFORE=<rev>`` also runs the model server of an earlier commit (a git worktree
under build/bench), in the same run and on the same core, and puts its figures beside ours.

Explained (``Accept: application/vnd.churn.explain+json``) against plain: the same one-row body
on the same server at 1 and 16 connections, the two kinds of run alternating in pairs, so load
on the machine hits both alike; the median of the pairs' ratios is the figure.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench import harness as h
from bench.harness import MODEL, OUT, log


def single_row_body() -> Path:
    from ml.features.encoder import FeatureEncoder, format_csv

    schema = json.loads((MODEL / "feature_schema.json").read_text())
    encoder = FeatureEncoder(schema)
    row = OUT / "row.csv"
    row.write_text(format_csv([encoder.encode(schema["examples"]["churner"])]))
    record = OUT / "record.json"
    record.write_text(json.dumps(schema["examples"]["churner"]))
    return row


def in_process_rate(fn, seconds: float = 1.5) -> tuple[float, float]:
    """Calls per second of ``fn`` in a loop on this thread, and CPU ms per call."""
    for _ in range(50):
        fn()
    n, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        fn()
        n += 1
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    return n / wall, used * 1000 / n


EXPLAIN_PAIRS = 5  # a p99 over a few seconds moves with any burst on the machine: more pairs than repeats


def explained_vs_plain(url: str, row: Path, connections: int, seconds: float, pairs: int = EXPLAIN_PAIRS) -> dict:
    """wrk runs of the one-row body, plain then explained, ``pairs`` times: the medians of each kind,
    and the median over the pairs of each pair's ratio (the two runs of a pair share the load)."""
    from ml.serving.inference import EXPLAIN_TYPE

    headers = {"Content-Type": "text/csv", "Accept": EXPLAIN_TYPE}
    request = urllib.request.Request(url, row.read_bytes(), headers)  # noqa: S310  (our own server, loopback)
    with urllib.request.urlopen(request) as response:  # noqa: S310  (the same URL)
        answer = json.loads(response.read())
    assert len(answer["explanations"]) == 1, answer  # an explanation, not an error, is what is timed
    runs: dict[str, list[dict]] = {"plain": [], "explained": []}
    for accept in (None, EXPLAIN_TYPE):  # warm-up
        h.wrk(url, row, "text/csv", connections, 1, cpu=1, accept=accept)
    for _ in range(pairs):
        runs["plain"].append(h.wrk(url, row, "text/csv", connections, seconds, cpu=1))
        runs["explained"].append(h.wrk(url, row, "text/csv", connections, seconds, cpu=1, accept=EXPLAIN_TYPE))
    keys = ("rps", "p50_ms", "p99_ms")
    med = {kind: {k: h.median([r[k] for r in rs]) for k in keys} for kind, rs in runs.items()}

    def ratio(key: str) -> float:
        return round(h.median([e[key] / p[key] for e, p in zip(runs["explained"], runs["plain"], strict=True)]), 2)

    return {
        **med,
        "errors": sum(r["errors"] for rs in runs.values() for r in rs),
        "p50_ratio": ratio("p50_ms"),
        "p99_ratio": ratio("p99_ms"),
        "rps_ratio": ratio("rps"),
        "connections": connections,
        "runs": runs,
        "load": h.load(),
    }


def bench_model(repeats: int, seconds: float, before: Path | None = None) -> dict:
    """Our model server's figures; with ``before`` (a work tree of an earlier commit), that
    server's too, measured right after ours with the same load, under ``"before"``."""
    from ml.serving.model_server import Scorer, load_booster

    row = single_row_body()
    scorer = Scorer(load_booster(MODEL))
    body = row.read_bytes()
    limit, limit_cpu = in_process_rate(lambda: scorer.predict(scorer.parse_csv(body)))
    batched, _ = in_process_rate(lambda: scorer.predict(np.vstack([scorer.parse_csv(body) for _ in range(16)])))
    out = {
        "in_process_rps": round(limit),
        "in_process_cpu_ms": round(limit_cpu, 4),
        "in_process_batched_rps": round(batched * 16),
        "cores": "server core 0, wrk core 1",
        **served(h.ROOT, "serve", row, scorer, limit, repeats, seconds, explained=True),
    }
    if before is not None:
        out["before"] = {"tree": str(before), **served(before, "serve-before", row, scorer, limit, repeats, seconds)}
    return out


def served(
    tree: Path, name: str, row: Path, scorer, limit: float, repeats: int, seconds: float, explained: bool = False
) -> dict:
    """``python -m ml serve`` of ``tree`` on core 0: wrk at 1 and 16 connections (``explained``:
    then explained against plain at each), the batch, then the pipelining attack (last: it leaves
    the server busy for a while)."""
    port = h.free_port()
    env = {"PYTHONPATH": str(h.OUT / "before-site")} if tree != h.ROOT else None
    proc = h.start(
        h.pinned([h.PY, "-m", "ml", "serve", "--model", str(MODEL), "--port", str(port)], 0),
        OUT / "logs" / f"{name}.log",
        env,
        cwd=tree,
    )
    url, out = f"http://127.0.0.1:{port}", {}
    try:
        h.wait_200(url + "/ping", proc)
        pids = [proc.pid, *h.descendants(proc.pid)]  # Granian: a main process and the worker that serves
        for c in (1, 16):
            r = h.wrk_repeated(
                url + "/invocations", row, "text/csv", c, seconds, repeats, cpu=1, pids={"model_server": pids}
            )
            r["ratio_to_in_process"] = round(r["rps"] / limit, 3)
            out[f"c{c}"] = r
            log(f"{name} c={c}: {r['rps']:.0f} req/s p99 {r['p99_ms']:.1f} ms other {r['other_cpu_pct']}%")
        for c in (1, 16) if explained else ():
            e = out[f"explain_c{c}"] = explained_vs_plain(url + "/invocations", row, c, seconds)
            log(f"{name} explained c={c}: p50 {e['p50_ratio']}x, p99 {e['p99_ratio']}x, req/s {e['rps_ratio']}x")
        out["batch"] = bench_batch(scorer, port, repeats)
        out["pipelining"] = pipelining_peak(port, pids[-1])
        log(f"{name} pipelining: peak {out['pipelining']['peak_mb']} MB (from {out['pipelining']['start_mb']} MB)")
    finally:
        h.stop(proc)
    return out


def pipelining_peak(port: int, pid: int, megabytes: int = 17, seconds: float = 5.0) -> dict:
    """One connection sends ``megabytes`` of pipelined ``GET /ping`` and never reads an answer;
    the peak resident memory (VmHWM) of the serving process ``pid`` before and after."""

    def vm(field: str) -> float:
        line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith(field + ":"))
        return round(int(line.split()[1]) / 1024, 1)

    start = vm("VmRSS")
    blob = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n" * (megabytes * 1_000_000 // 33)
    sent, deadline = 0, time.monotonic() + seconds
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setblocking(False)
        while sent < len(blob) and time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(blob[sent : sent + (1 << 20)])
            time.sleep(0.005)
        peak = vm("VmHWM")
    return {"megabytes_sent": round(sent / 1e6, 1), "seconds": seconds, "start_mb": start, "peak_mb": peak}


def bench_batch(scorer, port: int, repeats: int, rows: int = 10_000) -> dict:
    """One 10,000-row CSV request, timed at the client, versus parse + predict in this process."""
    from ml.data.synthetic import generate
    from ml.features.encoder import format_csv
    from ml.features.schema import encode_frame

    schema = json.loads((MODEL / "feature_schema.json").read_text())
    matrix = encode_frame(generate(rows, seed=5), schema)
    body = format_csv(matrix.tolist()).encode()
    in_process, server = [], []
    for _ in range(repeats + 2):
        t = time.perf_counter()
        scores = scorer.predict(scorer.parse_csv(body))
        in_process.append(time.perf_counter() - t)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    loads = []
    for _ in range(repeats + 2):
        loads.append(h.load())
        t = time.perf_counter()
        conn.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        response = conn.getresponse()
        answer = response.read()
        server.append(time.perf_counter() - t)
        assert response.status == 200 and answer.count(b"\n") == len(scores), (
            response.status,
            answer[:200],
        )
    conn.close()
    ms_in, ms_server = (
        h.median(in_process[2:]) * 1000,
        h.median(server[2:]) * 1000,
    )  # the first two warm up
    log(f"batch: server {ms_server:.1f} ms, in-process {ms_in:.1f} ms")
    return {
        "rows": rows,
        "body_bytes": len(body),
        "server_ms": round(ms_server, 1),
        "in_process_ms": round(ms_in, 1),
        "ratio": round(ms_server / ms_in, 2),
        "load": loads,
    }
