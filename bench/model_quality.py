"""Model quality of each preset on customers it never saw: repeated, stratified outer folds.

The test split of one run holds 334 customers (~48 churners), so one split's cost moves by
thousands of dollars with the seed. Here every preset runs its whole recipe (its own
train/validation cut, cutoff choice, final fit) inside each outer fold, and is scored on
the held-out fold: the mean over folds and repeats, with its standard error.

    .venv/bin/python bench/model_quality.py --data ../shared/data/churn.txt [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from sklearn.model_selection import StratifiedKFold

from ml.config import PRESETS
from ml.data.dataset import load
from ml.features.schema import build_schema, encode_frame, labels
from ml.model import evaluate as ev
from ml.model import pipeline, train


def outer_folds(settings, frame, provenance, folds: int, repeat: int):
    """Yield (Prepared, test x, test y): the preset's own split of the outer-train part."""
    schema = build_schema(settings.derived_features)
    x_all, y_all = encode_frame(frame, schema), labels(frame)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=1000 + repeat)
    for train_idx, test_idx in splitter.split(x_all, y_all):
        # The preset sees only the outer-train rows, shuffled and cut train:validation 70:20.
        order = np.random.default_rng(settings.seed).permutation(train_idx)
        cut = int(len(order) * settings.split[0] / (settings.split[0] + settings.split[1]))
        idx = {"train": order[:cut], "validation": order[cut:]}
        prep = pipeline.Prepared(
            provenance,
            schema,
            {k: frame.iloc[v] for k, v in idx.items()},
            {k: x_all[v] for k, v in idx.items()},
            {k: y_all[v] for k, v in idx.items()},
        )
        yield prep, x_all[test_idx], y_all[test_idx]


def measure(preset: str, frame, provenance, folds: int, repeats: int) -> dict[str, float]:
    settings = PRESETS[preset]
    aucs: list[float] = []
    costs: list[float] = []
    for repeat in range(repeats):
        for prep, x_test, y_test in outer_folds(settings, frame, provenance, folds, repeat):
            booster, cutoff, _ = pipeline.train_local(prep, settings)
            m = ev.split_metrics(y_test, train.predict(booster, x_test), cutoff.value, settings.costs)
            auc, cost = m["auc"], m["cost_per_1000"]
            assert isinstance(auc, float) and isinstance(cost, int | float), m
            aucs.append(auc)
            costs.append(float(cost))
    n = len(costs)
    return {
        "auc": float(np.mean(aucs)),
        "cost_per_1000": float(np.mean(costs)),
        "cost_se": float(np.std(costs, ddof=1) / np.sqrt(n)),
        "folds": n,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["notebook", "default"])
    args = parser.parse_args()
    frame, provenance = load(args.data)
    results = {}
    for preset in args.presets:
        started = time.perf_counter()
        results[preset] = measure(preset, frame, provenance, args.folds, args.repeats)
        r = results[preset]
        print(
            f"{preset:10s} AUC {r['auc']:.4f}   cost per 1,000 ${r['cost_per_1000']:,.0f} ± {r['cost_se']:,.0f}"
            f"   ({r['folds']} held-out folds, {time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    if "notebook" in results:
        base = results["notebook"]["cost_per_1000"]
        for preset, r in results.items():
            if preset != "notebook":
                print(
                    f"{preset} vs notebook: {100 * (1 - r['cost_per_1000'] / base):.1f}% lower cost per 1,000 customers"
                )
    print(json.dumps({"data": provenance.as_dict(), "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
