"""``make bench``: serving, batch scoring, pipeline, demo and package figures; one table, ``build/bench.json``.

    .venv/bin/python bench/run.py [--repeats 3] [--seconds 5] [--only model,batch,score,stack,pipeline,demo,package]
                                  [--before REV]   # the model server of commit REV beside ours

Every figure is the median of ``--repeats`` runs, next to the load average at the time (other
jobs on a 2-core machine move these numbers) and, where one exists, the in-process limit:
the same work done in this process without HTTP. Load comes from ``wrk`` (closed loop: each
connection sends its next request when the previous answer arrives, so latency at N
connections is about N / throughput; see docs/performance.md).

This file only chooses the sections and writes the results; each section lives in the module
named for what it measures (model_server, stack, startup) and the table in bench/table.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import harness as h
from bench.batch_score import bench_score
from bench.harness import MODEL, OUT
from bench.model_server import bench_model, single_row_body
from bench.stack import bench_stack
from bench.startup import bench_demo, bench_package, bench_pipeline
from bench.table import table, verdicts

ROOT = h.ROOT
SECTIONS = ("pipeline", "model", "batch", "score", "stack", "demo", "package")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median reported)")
    parser.add_argument("--seconds", type=float, default=4, help="seconds per wrk run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench.json")
    parser.add_argument("--before", metavar="REV", help="also bench the model server of this git revision")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(only) - set(SECTIONS):
        parser.error(f"unknown sections: {sorted(unknown)}")
    if any(s in only for s in ("model", "batch", "stack")) and not h.shutil.which("wrk"):
        print("bench: wrk is not installed (make tools installs it)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict = {"machine": {"cpus": os.cpu_count(), "load_at_start": list(os.getloadavg())}}
    if "pipeline" in only or not (MODEL / "model.tar.gz").is_file():
        results["pipeline"] = bench_pipeline(args.repeats if "pipeline" in only else 1)
    single_row_body()
    if "model" in only or "batch" in only:
        before = h.before_tree(args.before) if args.before else None
        results["model"] = bench_model(args.repeats, args.seconds, before)
    if "score" in only:
        results["score"] = bench_score(MODEL, OUT, args.repeats)
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
