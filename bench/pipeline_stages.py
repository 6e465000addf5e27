"""Seconds per stage of the local training pipeline, in a fresh process (what ``python -m ml train`` does).

    .venv/bin/python bench/pipeline_stages.py --data synthetic|PATH [--rows 3333] --out DIR

Prints one JSON object: import, data (load + validate), train (features, split, CV for the
cutoff, final fit), evaluate (metrics, curves), bundle (archive, schema, metrics, report
plots, atomic swap) and total. The stages are ``ml.model.pipeline``'s own functions, called in
the same order as ``pipeline.run``.
"""

from __future__ import annotations

import time

started = time.perf_counter()  # the clock starts before the imports it measures

import argparse  # noqa: E402  (timed: imported after the clock starts)
import json  # noqa: E402  (timed)
import sys  # noqa: E402  (timed)
from pathlib import Path  # noqa: E402  (timed)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.config import PRESETS  # noqa: E402  (after sys.path and the clock)
from ml.data.dataset import load  # noqa: E402  (after sys.path and the clock)
from ml.model import pipeline  # noqa: E402  (after sys.path and the clock)
from ml.model.bundle import write_bundle  # noqa: E402  (after sys.path and the clock)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--rows", type=int, default=3333)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = PRESETS[args.preset]
    times = {"import": time.perf_counter() - started}

    t = time.perf_counter()
    frame, provenance = load(args.data, args.rows, 42, quiet=True)
    times["data"] = time.perf_counter() - t

    t = time.perf_counter()
    prep = pipeline.prepare(settings, frame, provenance)
    booster, cutoff, held_out = pipeline.train_local(prep, settings)
    times["train"] = time.perf_counter() - t

    t = time.perf_counter()
    fit_on = "train+validation" if settings.final_fit_on_train_and_validation else "train"
    metrics, test_scores = pipeline.evaluate(booster, prep, settings, cutoff, held_out, fit_on)
    schema = pipeline.finish_schema(prep.schema, metrics, pipeline.page_examples(booster, prep, cutoff.value))
    times["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    write_bundle(
        args.out,
        booster,
        schema,
        metrics,
        pipeline.report_writer(metrics, test_scores, prep, held_out),
    )
    times["bundle"] = time.perf_counter() - t

    times["total"] = time.perf_counter() - started
    print(json.dumps({"rows": len(frame), "source": provenance.source, "seconds": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
