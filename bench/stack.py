"""Whole local stack figures (``python -m ml stack``): ``POST /predict`` at 16, 4 and 1 connections.

The CPU limit beside them is both cores doing nothing but the handler (timed in a loop in a
fresh process, bench/handler_loop.py) and the model server (its CPU per request under load).
"""

from __future__ import annotations

import json
import os
import subprocess

from bench import harness as h
from bench.harness import MODEL, OUT, log

ROOT = h.ROOT


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
            if c == 16:  # the CPU limit: both cores doing nothing but the handler and the model server
                model_cpu = r["cpu_ms_per_request"]["model_server"]
                limit = (os.cpu_count() or 1) * 1000 / (loop["cpu_ms"] + model_cpu)
                out["cpu_limit_rps"], out["model_server_cpu_ms"] = (
                    round(limit),
                    model_cpu,
                )
            r["ratio_to_in_process"] = round(r["rps"] / limit, 3)
            out[f"c{c}"] = r
            log(
                f"stack c={c}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.1f} p99 {r['p99_ms']:.1f} ms "
                f"{r['cpu_ms_per_request']} other {r['other_cpu_pct']}%"
            )
    finally:
        h.stop(proc)
    return out
