"""Local training: data -> features -> split -> train -> choose cutoff -> evaluate -> bundle.

The SageMaker backend reuses ``prepare`` and ``evaluate`` so a model trained there is
measured exactly like one trained here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.config import PRESETS, SAGEMAKER_XGBOOST_VERSION, Settings
from ml.data.dataset import DataValidationError, Provenance, load
from ml.data.split import split_frame
from ml.features.encoder import format_csv
from ml.features.schema import build_schema, encode_frame, labels
from ml.model import evaluate as ev
from ml.model import train
from ml.model.bundle import Bundle, write_bundle
from ml.model.examples import synthetic_examples
from ml.monitoring import reference

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Prepared:
    provenance: Provenance
    schema: dict[str, Any]
    parts: dict[str, pd.DataFrame]
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]


@dataclass(frozen=True)
class Cutoff:
    value: float
    method: str
    chosen_on: str
    rows: int
    curve: np.ndarray


def labelled_csv(x: np.ndarray, y: np.ndarray) -> bytes:
    """The container's training CSV: label in the first column, no header."""
    return format_csv(np.column_stack([y, x])).encode("ascii")


def prepare(settings: Settings, frame: pd.DataFrame, provenance: Provenance) -> Prepared:
    schema = build_schema(settings.derived_features)
    parts = split_frame(frame, settings.split, settings.seed)
    x = {name: encode_frame(part, schema) for name, part in parts.items()}
    y = {name: labels(part) for name, part in parts.items()}
    return Prepared(provenance, schema, parts, x, y)


def cutoff_from(y: np.ndarray, scores: np.ndarray, settings: Settings, method: str, chosen_on: str) -> Cutoff:
    grid = ev.cutoff_grid(settings.cutoff_grid)
    curve = ev.cost_curve(y, scores, grid, settings.costs)
    return Cutoff(ev.choose_cutoff(y, scores, grid, settings.costs), method, chosen_on, len(y), curve)


def train_local(prep: Prepared, settings: Settings) -> tuple[xgb.Booster, Cutoff, dict[str, np.ndarray]]:
    """The model and its cutoff; the test split is never read here."""
    hp, seed = settings.hyperparameters, settings.seed
    x_tv = np.vstack([prep.x["train"], prep.x["validation"]])
    y_tv = np.concatenate([prep.y["train"], prep.y["validation"]])
    held_out: dict[str, np.ndarray] = {}
    if settings.cutoff_method == "cv":
        oof = train.out_of_fold(x_tv, y_tv, hp, settings.cv_folds, seed)
        held_out["cv"] = oof
        cutoff = cutoff_from(
            y_tv, oof, settings, "cv", f"out-of-fold predictions of {settings.cv_folds}-fold CV over train+validation"
        )
    booster = train.fit(prep.x["train"], prep.y["train"], hp, seed)
    if settings.cutoff_method == "validation":
        held_out["validation"] = train.predict(booster, prep.x["validation"])
        cutoff = cutoff_from(
            prep.y["validation"], held_out["validation"], settings, "validation", "validation split, model fit on train"
        )
    if settings.final_fit_on_train_and_validation:
        booster = train.fit(x_tv, y_tv, hp, seed)
    return booster, cutoff, held_out


def evaluate(
    booster: xgb.Booster,
    prep: Prepared,
    settings: Settings,
    cutoff: Cutoff,
    held_out: dict[str, np.ndarray],
    fit_on: str,
) -> tuple[dict[str, Any], np.ndarray]:
    """metrics.json's content, and the test split's scores (for the plots)."""
    grid = ev.cutoff_grid(settings.cutoff_grid)
    test_scores = train.predict(booster, prep.x["test"])
    y_tv = np.concatenate([prep.y["train"], prep.y["validation"]])
    evaluation = {}
    for name, scores in held_out.items():
        y = y_tv if name == "cv" else prep.y[name]
        evaluation[name] = ev.split_metrics(y, scores, cutoff.value, settings.costs)
    evaluation["test"] = ev.split_metrics(prep.y["test"], test_scores, cutoff.value, settings.costs)
    curves = {"cutoffs": grid.tolist(), cutoff.method: cutoff.curve.tolist()}
    curves["test"] = ev.cost_curve(prep.y["test"], test_scores, grid, settings.costs).tolist()
    metrics = {
        "data": prep.provenance.as_dict(),
        "split": {
            "fractions": list(settings.split),
            "seed": settings.seed,
            "rows": {k: len(v) for k, v in prep.parts.items()},
        },
        "preset": settings.preset,
        "hyperparameters": settings.hyperparameters.as_dict(),
        "features": {"count": len(prep.schema["columns"]), "derived": [d["name"] for d in prep.schema["derived"]]},
        "model": {
            "fit_on": fit_on,
            "trees": booster.num_boosted_rounds(),
            "xgboost": xgb.__version__,
            "container": f"sagemaker-xgboost:{SAGEMAKER_XGBOOST_VERSION}",
        },
        "costs": settings.costs.as_dict(),
        "cutoff": {
            "value": cutoff.value,
            "method": cutoff.method,
            "chosen_on": cutoff.chosen_on,
            "rows": cutoff.rows,
            "never_on": "test",
        },
        "evaluation": evaluation,
        # On the test split: the held-out customers no choice was made on, as a user's own costs see them.
        "calibration": {"split": "test", **ev.calibration(prep.y["test"], test_scores)},
        "cost_curve": curves,
        "importance": train.importance(booster, [c["name"] for c in prep.schema["columns"]]),
        # What the live flagged share and score deciles are compared with: the validation
        # rows, each scored by a model that never saw it (ml.monitoring; the alarm band rides
        # the tfvars handoff).
        "monitoring": reference(
            held_out["validation"] if "validation" in held_out else held_out["cv"][len(prep.y["train"]) :],
            cutoff.value,
            "validation split, held out"
            + ("" if "validation" in held_out else f" (out-of-fold, {settings.cv_folds}-fold CV)"),
        ),
    }
    return metrics, test_scores


def page_examples(booster: xgb.Booster, prep: Prepared, cutoff: float) -> dict[str, dict[str, Any]]:
    """Synthetic churner and loyal customers for the public page (never a row of the data)."""
    fit_rows = pd.concat([prep.parts["train"], prep.parts["validation"]], ignore_index=True)
    fit_labels = np.concatenate([prep.y["train"], prep.y["validation"]])
    fit_scores = train.predict(booster, np.vstack([prep.x["train"], prep.x["validation"]]))
    all_rows = pd.concat(list(prep.parts.values()), ignore_index=True)
    return synthetic_examples(prep.schema, fit_rows, fit_labels, fit_scores, all_rows, booster, cutoff)


def finish_schema(
    schema: dict[str, Any], metrics: dict[str, Any], examples: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        **schema,
        "decision": {
            "cutoff": metrics["cutoff"]["value"],
            "method": metrics["cutoff"]["method"],
            "costs": metrics["costs"],
            # The page lets a user change the costs; how far its probabilities hold says whether
            # that is sound. The summary only: the reliability table stays in metrics.json.
            "calibration": {k: metrics["calibration"][k] for k in ("split", "rows", "ece", "brier")},
        },
        "examples": examples,
    }


def report_writer(
    metrics: dict[str, Any], test_scores: np.ndarray, prep: Prepared, held_out: dict[str, np.ndarray]
) -> Callable[[Path], None]:
    def write(out: Path) -> None:
        from ml.report import plots

        out.mkdir(parents=True, exist_ok=True)
        y_tv = np.concatenate([prep.y["train"], prep.y["validation"]])
        curves = [(name, y_tv if name == "cv" else prep.y[name], s) for name, s in held_out.items()]
        curves.append(("test", prep.y["test"], test_scores))
        plots.roc_curve_png(out / "roc.png", curves)
        costs = {k: np.asarray(v) for k, v in metrics["cost_curve"].items() if k != "cutoffs"}
        plots.cost_curve_png(
            out / "cost_curve.png", np.asarray(metrics["cost_curve"]["cutoffs"]), costs, metrics["cutoff"]["value"]
        )
        plots.feature_importance_png(out / "feature_importance.png", metrics["importance"])
        plots.model_report_html(
            out,
            metrics,
            [
                ("ROC", "roc.png"),
                ("Cost by cutoff", "cost_curve.png"),
                ("Feature importance", "feature_importance.png"),
            ],
        )

    return write


def build(
    booster: xgb.Booster,
    prep: Prepared,
    settings: Settings,
    cutoff: Cutoff,
    held_out: dict[str, np.ndarray],
    fit_on: str,
    out_dir: Path,
) -> tuple[Bundle, dict[str, Any]]:
    metrics, test_scores = evaluate(booster, prep, settings, cutoff, held_out, fit_on)
    schema = finish_schema(prep.schema, metrics, page_examples(booster, prep, cutoff.value))
    bundle = write_bundle(out_dir, booster, schema, metrics, report_writer(metrics, test_scores, prep, held_out))
    return bundle, metrics


def run(
    settings: Settings, source: str, out_dir: Path, rows: int = 3333, seed: int = 42
) -> tuple[Bundle, dict[str, Any]]:
    frame, provenance = load(source, rows, seed)
    prep = prepare(settings, frame, provenance)
    booster, cutoff, held_out = train_local(prep, settings)
    fit_on = "train+validation" if settings.final_fit_on_train_and_validation else "train"
    return build(booster, prep, settings, cutoff, held_out, fit_on, out_dir)


def summary(metrics: dict[str, Any]) -> str:
    t = metrics["evaluation"]["test"]
    c = metrics["cutoff"]
    cm, cm5 = t["confusion_at_cutoff"], t["confusion_at_0.5"]
    lines = [
        f"data      {metrics['data']['source']} ({metrics['data']['rows']} rows, "
        f"sha256 {metrics['data']['sha256'][:12]}…)",
        "split     "
        + ", ".join(f"{k} {v}" for k, v in metrics["split"]["rows"].items())
        + f" (seed {metrics['split']['seed']})",
        f"model     preset '{metrics['preset']}', {metrics['features']['count']} features, "
        f"{metrics['model']['trees']} trees, fit on {metrics['model']['fit_on']}",
        f"cutoff    {c['value']:.2f}, chosen on {c['chosen_on']} ({c['rows']} rows)",
        f"test      AUC {t['auc']:.4f}   rows {t['rows']}",
        f"          at 0.5:    TN {cm5['tn']:4d}  FP {cm5['fp']:4d}  FN {cm5['fn']:4d}  TP {cm5['tp']:4d}   "
        f"cost ${t['cost_at_0.5']:,.0f}",
        f"          at {c['value']:.2f}:   TN {cm['tn']:4d}  FP {cm['fp']:4d}  FN {cm['fn']:4d}  TP {cm['tp']:4d}   "
        f"cost ${t['cost']:,.0f}",
        f"cost      ${t['cost_per_1000']:,.0f} per 1,000 customers "
        f"(doing nothing: ${t['do_nothing_cost_per_1000']:,.0f})",
    ]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    settings = PRESETS[args.preset]
    started = time.perf_counter()
    try:
        bundle, metrics = run(settings, args.data, args.out, args.rows, args.seed)
    except DataValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary(metrics))
    print(f"bundle    {bundle.path}/ in {time.perf_counter() - started:.1f}s")
    return 0
