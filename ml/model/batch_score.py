"""Batch scoring of a raw CSV with a bundle, streamed in chunks; output written atomically."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ml.atomic import atomic_file
from ml.config import CostMatrix
from ml.data import raw_schema as rs
from ml.data.dataset import DataValidationError, parse_raw
from ml.features.schema import encode_frame, labels
from ml.model import evaluate as ev
from ml.model.bundle import Bundle
from ml.model.train import predict

# Scoring accepts the raw format with or without the label, the phone and the charges.
OPTIONAL_FOR_SCORING = (rs.LABEL, *rs.DROPPED)
OUTPUT_COLUMNS = ("churn_probability", "will_churn")
CHUNK_ROWS = 50_000


def chunks(path: Path, rows: int = CHUNK_ROWS) -> Iterator[tuple[bytes, list[bytes], int]]:
    """(header, data lines, file line of the first) per chunk, without reading the whole file."""
    with open(path, "rb") as handle:
        header = handle.readline()
        line_no, lines = 2, []
        for line in handle:
            lines.append(line)
            if len(lines) == rows:
                yield header, lines, line_no
                line_no, lines = line_no + len(lines), []
        if lines or line_no == 2:
            yield header, lines, line_no


def score_file(bundle: Bundle, source: Path, target: Path) -> dict[str, object]:
    """Write the input rows untouched plus the two score columns; returns labels/scores seen."""
    schema, booster = bundle.schema(), bundle.booster()
    cutoff = float(schema["decision"]["cutoff"])
    all_scores, all_labels = [], []
    with atomic_file(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for index, (header, lines, first) in enumerate(chunks(source)):
            frame = parse_raw(
                header + b"".join(lines), origin=str(source), optional=OPTIONAL_FOR_SCORING, first_line=first
            )
            scores = predict(booster, encode_frame(frame, schema))
            text_rows = csv.reader(io.StringIO((header + b"".join(lines)).decode("utf-8-sig")))
            head = next(text_rows)
            if index == 0:
                writer.writerow([*head, *OUTPUT_COLUMNS])
            body = (row for row in text_rows if row)
            for row, score in zip(body, scores):
                writer.writerow([*row, repr(float(score)), score >= cutoff])
            all_scores.append(scores)
            if rs.LABEL in frame:
                all_labels.append(labels(frame))
    scores = np.concatenate(all_scores)
    return {
        "rows": len(scores),
        "cutoff": cutoff,
        "scores": scores,
        "labels": np.concatenate(all_labels) if all_labels else None,
    }


def print_label_metrics(result: dict[str, object], schema: dict[str, object]) -> None:
    """With labels in the input: AUC and cost at the bundle's cutoff."""
    if result["labels"] is None:
        return
    costs = CostMatrix(**schema["decision"]["costs"])
    m = ev.split_metrics(result["labels"], result["scores"], result["cutoff"], costs)
    auc = "n/a" if m["auc"] is None else f"{m['auc']:.4f}"
    print(
        f"labels present: AUC {auc}, cost ${m['cost']:,.0f} (${m['cost_per_1000']:,.0f} per 1,000; doing nothing ${m['do_nothing_cost_per_1000']:,.0f})"
    )


def main(args) -> int:
    bundle = Bundle(args.model)
    try:
        result = score_file(bundle, args.input, args.output)
    except DataValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"error: {err.filename}: no such file", file=sys.stderr)
        return 2
    flagged = int((result["scores"] >= result["cutoff"]).sum())
    print(f"{args.output}: {result['rows']} rows scored, {flagged} flagged to churn at cutoff {result['cutoff']:.2f}")
    print_label_metrics(result, bundle.schema())
    return 0
