"""Startup figures: the training pipeline by stage, ``make demo``/``make serve`` to a
page, and the Lambda zip (size, handler cold import).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench import harness as h
from bench.harness import MODEL, OUT, log

ROOT = h.ROOT
REAL_DATA = ROOT.parent / "shared" / "data" / "churn.txt"


# -- pipeline ----------------------------------------------------------------------------------
def bench_pipeline(repeats: int) -> dict:
    results = {}
    sources = [("synthetic", "synthetic")] + ([("real", str(REAL_DATA))] if REAL_DATA.is_file() else [])
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
            "seconds": {s: round(h.median([r["seconds"][s] for r in runs]), 2) for s in stages},
            "load": loads,
        }
    return results


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
    out: dict[str, Any] = {}
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
