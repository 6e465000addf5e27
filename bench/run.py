"""``make bench``: serving, pipeline, demo and package figures; one table, ``build/bench.json``.

    .venv/bin/python bench/run.py [--repeats 3] [--seconds 5] [--only model,batch,stack,pipeline,demo,package]

Every figure is the median of ``--repeats`` runs, next to the load average at the time (other
jobs on a 2-core machine move these numbers) and, where one exists, the in-process limit:
the same work done in this process without HTTP. Load comes from ``wrk`` (closed loop: each
connection sends its next request when the previous answer arrives, so latency at N
connections is about N / throughput; see the README's Performance section).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness as h

ROOT = h.ROOT
OUT = ROOT / "build" / "bench"
MODEL = OUT / "model"
REAL_DATA = ROOT.parent / "shared" / "data" / "churn.txt"
SECTIONS = ("pipeline", "model", "batch", "stack", "demo", "package")
TARGETS = {  # name: (description, test)
    "model_c16": (
        "≥ 2,000 req/s, p99 ≤ 20 ms",
        lambda r: r["rps"] >= 2000 and r["p99_ms"] <= 20,
    ),
    "batch": ("≤ 1.5× in-process", lambda r: r["ratio"] <= 1.5),
    "stack_c16": (
        "≥ 300 req/s, p99 ≤ 50 ms",
        lambda r: r["rps"] >= 300 and r["p99_ms"] <= 50,
    ),
    "demo_train_serve": ("≤ 15 s", lambda r: r["seconds"] <= 15),
    "demo_serve": ("≤ 15 s", lambda r: r["seconds"] <= 15),
    "zip": ("≤ 50 KB", lambda r: r["bytes"] <= 50_000),
}


def log(message: str) -> None:
    print(
        f"[bench {time.strftime('%H:%M:%S')} load {h.load():.2f}] {message}",
        file=sys.stderr,
        flush=True,
    )


# -- pipeline ----------------------------------------------------------------------------------
def bench_pipeline(repeats: int) -> dict:
    results = {}
    sources = [("synthetic", "synthetic")] + (
        [("real", str(REAL_DATA))] if REAL_DATA.is_file() else []
    )
    for name, source in sources:
        runs, loads = [], []
        for i in range(repeats):
            out = MODEL if name == "synthetic" else OUT / "model-real"
            loads.append(h.load())
            done = subprocess.run(
                [h.PY, "bench/pipeline_stages.py", "--data", source, "--rows", "3333", "--out", str(out)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            log(f"pipeline {name} run {i + 1}: {runs[-1]['seconds']['total']:.1f} s")
        stages = runs[0]["seconds"].keys()
        results[name] = {
            "rows": runs[0]["rows"],
            "source": runs[0]["source"],
            "seconds": {
                s: round(h.median([r["seconds"][s] for r in runs]), 2) for s in stages
            },
            "load": loads,
        }
    return results


# -- model server ------------------------------------------------------------------------------
def single_row_body() -> Path:
    from ml.encoding import FeatureEncoder, format_csv

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


def bench_model(repeats: int, seconds: float) -> dict:
    from ml.serve import Scorer

    row = single_row_body()
    scorer = Scorer.from_dir(MODEL)
    body = row.read_bytes()
    limit, limit_cpu = in_process_rate(lambda: scorer.predict(scorer.parse_csv(body)))
    port = h.free_port()
    proc = h.start(
        h.pinned(
            [h.PY, "-m", "ml", "serve", "--model", str(MODEL), "--port", str(port)], 0
        ),
        OUT / "logs" / "serve.log",
    )
    url = f"http://127.0.0.1:{port}"
    out = {
        "in_process_rps": round(limit),
        "in_process_cpu_ms": round(limit_cpu, 4),
        "cores": "server core 0, wrk core 1",
    }
    try:
        h.wait_200(url + "/ping", proc)
        for c in (1, 16):
            r = h.wrk_repeated(
                url + "/invocations",
                row,
                "text/csv",
                c,
                seconds,
                repeats,
                cpu=1,
                pids={"model_server": [proc.pid]},
            )
            r["ratio_to_in_process"] = round(r["rps"] / limit, 3)
            out[f"c{c}"] = r
            log(
                f"model server c={c}: {r['rps']:.0f} req/s p99 {r['p99_ms']:.1f} ms other {r['other_cpu_pct']}%"
            )
        out["batch"] = bench_batch(scorer, port, repeats)
    finally:
        h.stop(proc)
    return out


def bench_batch(scorer, port: int, repeats: int, rows: int = 10_000) -> dict:
    """One 10,000-row CSV request, timed at the client, versus parse + predict in this process."""
    from ml.encoding import format_csv
    from ml.features import encode_frame
    from ml.synthetic import generate

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
    for i in range(repeats + 2):
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


# -- whole local stack -------------------------------------------------------------------------
def handler_loop(model_url: str, repeats: int) -> dict:
    """The handler in a loop in a fresh process (bench/handler_loop.py), ``repeats`` times: medians."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [
                h.PY,
                "bench/handler_loop.py",
                str(MODEL),
                model_url,
                str(OUT / "record.json"),
                "2",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: h.median([r[key] for r in runs]) for key in ("rps", "cpu_ms")}


def bench_stack(repeats: int, seconds: float) -> dict:
    port, model_port = h.free_port(), h.free_port()
    command = [
        h.PY,
        "-m",
        "ml",
        "stack",
        "--model",
        str(MODEL),
        "--port",
        str(port),
        "--model-port",
        str(model_port),
    ]
    proc = h.start(command, OUT / "logs" / "stack.log")
    url = f"http://127.0.0.1:{port}"
    out: dict = {"workers": os.environ.get("STACK_WORKERS", "2 (default)")}
    try:
        h.wait_200(url + "/config.js", proc)
        kids = h.descendants(proc.pid)
        model_pids = [p for p in kids if " ml serve " in h.cmdline(p)]
        adapter_pids = [proc.pid, *(p for p in kids if p not in model_pids)]
        loop = handler_loop(f"http://127.0.0.1:{model_port}", repeats)
        out["handler_loop_rps"], out["handler_cpu_ms"] = (
            round(loop["rps"]),
            round(loop["cpu_ms"], 3),
        )
        for c in (16, 4, 1):
            r = h.wrk_repeated(
                url + "/predict", OUT / "record.json", "application/json", c, seconds, repeats,
                pids={"adapter": adapter_pids, "model_server": model_pids},
            )  # fmt: skip
            if (
                c == 16
            ):  # the CPU limit: both cores doing nothing but the handler and the model server
                model_cpu = r["cpu_ms_per_request"]["model_server"]
                limit = (os.cpu_count() or 1) * 1000 / (loop["cpu_ms"] + model_cpu)
                out["cpu_limit_rps"], out["model_server_cpu_ms"] = (
                    round(limit),
                    model_cpu,
                )
            r["ratio_to_in_process"] = round(r["rps"] / limit, 3)
            out[f"c{c}"] = r
            log(
                f"stack c={c}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} p99 {r['p99_ms']:.1f} ms {r['cpu_ms_per_request']} other {r['other_cpu_pct']}%"
            )
    finally:
        h.stop(proc)
    return out


# -- make demo ---------------------------------------------------------------------------------
def time_make(target: str, model: Path) -> dict:
    """``make TARGET`` (the venv counts as built: warm) until its page answers 200, then stop it."""
    port, model_port = h.free_port(), h.free_port()
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", target, f"MODEL={model}",
               f"PORT={port}", f"MODEL_PORT={model_port}"]  # fmt: skip
    load = h.load()
    started = time.perf_counter()
    proc = h.start(command, OUT / "logs" / f"make-{target}.log")
    try:
        h.wait_200(f"http://127.0.0.1:{port}/", proc, timeout=300)
        seconds = time.perf_counter() - started
    finally:
        h.stop(proc)
    return {"seconds": seconds, "load": load}


def bench_demo(repeats: int) -> dict:
    model = OUT / "demo-model"
    out = {}
    for target, name in (("demo", "train_serve"), ("serve", "serve")):
        runs = [time_make(target, model) for _ in range(repeats)]
        out[name] = {
            "seconds": round(h.median([r["seconds"] for r in runs]), 2),
            "runs": runs,
        }
        log(f"make {target}: {out[name]['seconds']:.1f} s to the page")
    metrics = json.loads((model / "metrics.json").read_text())
    out["data_source"] = metrics["data"]["source"] + (
        f" ({metrics['data']['note']})" if metrics["data"]["note"] else ""
    )
    out["venv_stamp_present"] = (ROOT / ".venv" / ".installed").is_file()
    return out


# -- Lambda package ----------------------------------------------------------------------------
def bench_package(repeats: int) -> dict:
    zip_path = OUT / "invoker.zip"
    subprocess.run(
        [h.PY, "scripts/package_lambda.py", "--model", str(MODEL), "--out", str(zip_path)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    probe = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); import handler; "
        "print(time.perf_counter() - t)"
    )
    imports, wall = [], []
    with tempfile.TemporaryDirectory() as tmp:
        zipfile.ZipFile(zip_path).extractall(tmp)
        for _ in range(max(repeats, 5)):
            t = time.perf_counter()
            done = subprocess.run(
                [h.PY, "-I", "-c", probe, tmp],
                capture_output=True,
                text=True,
                check=True,
                cwd=tmp,
            )
            wall.append(time.perf_counter() - t)
            imports.append(float(done.stdout.strip()))
    out = {
        "bytes": zip_path.stat().st_size,
        "import_ms": round(h.median(imports) * 1000, 1),
        "process_ms": round(h.median(wall) * 1000, 1),
        "runs": max(repeats, 5),
    }
    log(f"package: {out}")
    return out


# -- the table ---------------------------------------------------------------------------------
def verdicts(results: dict) -> dict:
    found = {
        "model_c16": results.get("model", {}).get("c16"),
        "batch": results.get("model", {}).get("batch"),
        "stack_c16": results.get("stack", {}).get("c16"),
        "demo_train_serve": results.get("demo", {}).get("train_serve"),
        "demo_serve": results.get("demo", {}).get("serve"),
        "zip": results.get("package"),
    }
    return {
        k: ("met" if TARGETS[k][1](v) else "MISSED")
        for k, v in found.items()
        if v is not None
    }


def table(results: dict) -> str:
    v = verdicts(results)
    rows: list[tuple[str, str, str, str]] = []

    def serving(label, r, key):
        cpu = ", ".join(f"{k} {x:.2f}" for k, x in r["cpu_ms_per_request"].items())
        rows.append((
            label,
            f"{r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['errors']} errors",
            f"{r['ratio_to_in_process']:.0%} of the limit; CPU ms/req: {cpu}; other processes {r['other_cpu_pct']:.0f}% CPU",
            f"{TARGETS[key][0]}: {v[key]}" if key in v else "",
        ))  # fmt: skip

    if "model" in results:
        m = results["model"]
        rows.append(
            (
                "model server in-process limit",
                f"{m['in_process_rps']:,} rows/s (parse + predict, 1 row)",
                "one core",
                "",
            )
        )
        serving("model server, 1 connection", m["c1"], "")
        serving("model server, 16 connections", m["c16"], "model_c16")
        b = m["batch"]
        rows.append((
            f"10,000-row request ({b['body_bytes'] / 1e6:.1f} MB)",
            f"{b['server_ms']:.0f} ms at the client",
            f"in-process parse + predict {b['in_process_ms']:.0f} ms: {b['ratio']:.2f}×",
            f"{TARGETS['batch'][0]}: {v['batch']}",
        ))  # fmt: skip
    if "stack" in results:
        s = results["stack"]
        rows.append((
            "stack CPU limit (in-process)",
            f"{s['cpu_limit_rps']:,} req/s on {results['machine']['cpus']} cores",
            (f"handler in a loop {s['handler_cpu_ms']:.2f} CPU ms/call ({s['handler_loop_rps']:,} calls/s on one "
             f"thread) + model server {s['model_server_cpu_ms']:.2f} ms"),
            "",
        ))  # fmt: skip
        for c in (1, 4, 16):
            serving(
                f"stack POST /predict, {c} conn.",
                s[f"c{c}"],
                "stack_c16" if c == 16 else "",
            )
    if "pipeline" in results:
        for name, p in results["pipeline"].items():
            sec = p["seconds"]
            rows.append((
                f"pipeline, {name} ({p['rows']:,} rows)",
                f"{sec['total']:.1f} s total",
                (f"import {sec['import']:.1f}, data {sec['data']:.2f}, train {sec['train']:.1f}, evaluate "
                 f"{sec['evaluate']:.2f}, bundle {sec['bundle']:.1f} s; load avg {min(p['load']):.1f}-{max(p['load']):.1f}"),
                "",
            ))  # fmt: skip
    if "demo" in results:
        d = results["demo"]
        for key, label in (
            ("train_serve", "make demo (train + serve), warm"),
            ("serve", "make serve (existing bundle)"),
        ):
            loads = [r["load"] for r in d[key]["runs"]]
            rows.append((label, f"{d[key]['seconds']:.1f} s to the page", f"load {min(loads):.1f}-{max(loads):.1f}",
                         f"{TARGETS['demo_' + key][0]}: {v['demo_' + key]}"))  # fmt: skip
    if "package" in results:
        p = results["package"]
        rows.append(
            (
                "Lambda zip",
                f"{p['bytes']:,} bytes",
                "",
                f"{TARGETS['zip'][0]}: {v['zip']}",
            )
        )
        rows.append(("handler cold import", f"{p['import_ms']:.0f} ms (median of {p['runs']})",
                     f"whole `python -I` process {p['process_ms']:.0f} ms", ""))  # fmt: skip
    head = ("figure", "median", "context", "target")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *map(line, rows)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per figure (median reported)"
    )
    parser.add_argument("--seconds", type=float, default=4, help="seconds per wrk run")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help="comma-separated sections"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(only) - set(SECTIONS):
        parser.error(f"unknown sections: {sorted(unknown)}")
    if any(s in only for s in ("model", "batch", "stack")) and not h.shutil.which(
        "wrk"
    ):
        print("bench: wrk is not installed (make tools installs it)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "load_at_start": list(os.getloadavg())}
    }
    if "pipeline" in only or not (MODEL / "model.tar.gz").is_file():
        results["pipeline"] = bench_pipeline(args.repeats if "pipeline" in only else 1)
    single_row_body()
    if "model" in only or "batch" in only:
        results["model"] = bench_model(args.repeats, args.seconds)
    if "stack" in only:
        results["stack"] = bench_stack(args.repeats, args.seconds)
    if "demo" in only:
        results["demo"] = bench_demo(args.repeats)
    if "package" in only:
        results["package"] = bench_package(args.repeats)
    results["machine"]["load_at_end"] = list(os.getloadavg())
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = verdicts(results)
    text = table(results)
    results["table"] = text
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    load = results["machine"]
    print(text)
    print(
        f"\n{load['cpus']} CPUs; load average {load['load_at_start'][0]:.2f} at start, {load['load_at_end'][0]:.2f} at "
        f"end; {results['seconds']:.0f} s; medians of {args.repeats} runs; written to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
