"""Batch scoring of a raw CSV with a bundle: streamed in bounded blocks, validated, written atomically.

Each output row is the input row as the csv module writes it back, plus ``churn_probability``
(the score's ``repr``) and ``will_churn`` (score >= the bundle's cutoff); with ``explain``,
then the reason columns of ``reasons.csv_columns()`` (``ml.model.reason_cells``, from the
inference script's own explanations of the block). Plain lines (no quotes: what spreadsheets
and pandas export) are validated, encoded and written back vectorised; other blocks go
through the strict line-by-line path. Both give the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import operator
import os
import stat
import sys
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ml.atomic import Interrupted, NotARegularFile, atomic_file, check_replaceable, reraise, signals_interrupt
from ml.config import CostMatrix
from ml.data import raw_schema as rs
from ml.data.dataset import Chunk, DataValidationError, validate_chunk
from ml.data.reader import chunks as chunks
from ml.data.reader import read_blocks
from ml.features import reasons
from ml.features.columnar import encode_columns
from ml.model import evaluate as ev
from ml.model.bundle import Bundle
from ml.model.csv_safety import guard_cells, guarded_positions, rows_to_guard
from ml.model.reason_cells import ReasonCells
from ml.serving.inference import Explanations, Scorer

# Scoring accepts the raw format with or without the label, the phone and the charges.
OPTIONAL_FOR_SCORING = (rs.LABEL, *rs.DROPPED)
OUTPUT_COLUMNS = ("churn_probability", "will_churn")
CHUNK_ROWS = 50_000  # rows per chunk of ``chunks`` (the SageMaker path's encoder)
# Rows per explain call (~0.1-0.2 s of TreeSHAP): a block (~100,000 rows) makes a dozen pieces
# for the workers to share, and XGBoost's cost per call (~0.3 ms) stays noise.
EXPLAIN_ROWS = 8192


class ScoringError(Exception):
    """A bad --input, --output or --model: the message says which and why."""


def check_paths(source: Path, target: Path) -> None:
    """Refuse bad paths before anything is read or created."""
    try:
        info = os.stat(source)
    except FileNotFoundError:
        raise ScoringError(f"--input {source}: no such file") from None
    except OSError as err:
        raise ScoringError(f"--input {source}: {err.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScoringError(f"--input {source}: is a directory, expected a CSV file")
    if not os.access(source, os.R_OK):
        raise ScoringError(f"--input {source}: permission denied")
    if target.is_dir() and not target.is_symlink():
        raise ScoringError(f"--output {target}: is a directory, expected a file name")
    try:  # a FIFO, /dev/null, a symbolic link: refused, never replaced (ml.atomic)
        check_replaceable(target)
    except NotARegularFile as err:
        raise ScoringError(f"--output {target}: {err.strerror}") from None
    if target.exists():
        if os.path.samefile(source, target):
            raise ScoringError(f"--output {target}: is the input file; write the scores to another file")
        if not os.access(target, os.W_OK):
            raise ScoringError(f"--output {target}: not writable")
    parent = target.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ScoringError(f"--output {target}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ScoringError(f"--output {target}: cannot create files in {parent} (permission denied)")


def _cores() -> int:
    """The cores this process may run on (its affinity, where the OS tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _make_parents(target: Path) -> list[Path]:
    """Create the missing folders of ``target``; returns them, innermost first, to undo on failure."""
    missing = []
    parent = target.absolute().parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir()
    return missing


def _render_plain(
    chunk: Chunk, scores: np.ndarray, cutoff: float, guard: bool, reason_tails: list[str] | None
) -> bytes:
    """Plain lines written back as the csv module would (unchanged), plus the two score cells
    (and the reason cells)."""
    text = chunk.body.decode("utf-8")
    if "\r" in text:  # plain means every CR ends a line
        text = text.replace("\r\n", "\n")
    lines = [line for line in text.split("\n") if line]
    if guard:
        positions = guarded_positions(chunk.header)
        for i in rows_to_guard(chunk.columns.first_bytes, len(lines)).tolist():
            lines[i] = ",".join(guard_cells(lines[i].split(","), positions))
    flags = (scores >= cutoff).tolist()
    if reason_tails is None:
        tails = [f",{s!r},{f}\n" for s, f in zip(scores.tolist(), flags, strict=True)]
    else:
        tails = [f",{s!r},{f}{r}\n" for s, f, r in zip(scores.tolist(), flags, reason_tails, strict=True)]
    return "".join(map(operator.add, lines, tails)).encode("utf-8")


def _render_strict(
    chunk: Chunk, scores: np.ndarray, cutoff: float, guard: bool, reason_tails: list[str] | None
) -> bytes:
    """Line by line, as the strict validator read them (blank lines skipped)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    positions = guarded_positions(chunk.header) if guard else []
    rows = (line for line in io.BytesIO(chunk.body) if line.decode("utf-8").strip())
    for i, (line, score) in enumerate(zip(rows, scores.tolist(), strict=True)):
        cells = guard_cells(next(csv.reader([line.decode("utf-8")])), positions)
        writer.writerow([*cells, repr(score), score >= cutoff])
        if reason_tails is not None:
            append_before_line_end(out, reason_tails[i])
    return out.getvalue().encode("utf-8")


def append_before_line_end(out: io.StringIO, tail: str) -> None:
    """``tail`` (pre-rendered cells) into the row ``csv.writer`` just wrote to ``out``, before its "\\n"."""
    out.seek(out.tell() - 1)
    out.write(tail + "\n")


def header_line(header: list[str], explain: bool = False) -> bytes:
    """The output's header: the input's columns, the score columns, then the reason columns if explained."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [*header, *OUTPUT_COLUMNS, *(reasons.csv_columns() if explain else ())]
    )
    return out.getvalue().encode("utf-8")


class _Scorer:
    """Validate, encode, predict and render one block; keeps the running totals."""

    def __init__(self, bundle: Bundle, origin: str, guard: bool, explain: bool = False):
        self.schema = bundle.schema()
        self.booster = bundle.booster()
        # Explained: the inference script's own explanations (pred_contribs) of each block, as reason
        # cells. One thread per XGBoost call: the calls run on worker threads, one a core (``rendered``).
        if explain:
            self.booster.set_param("nthread", "1")
        self.explained = (Scorer(self.booster), ReasonCells(self.schema, guard)) if explain else None
        self.cutoff = float(self.schema["decision"]["cutoff"])
        self.origin, self.guard = origin, guard
        self.rows = self.flagged = 0
        self.scores: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.vocabulary = {n: rs.categories(n) for n in rs.CATEGORICAL}

    def validate(self, header: bytes, body: bytes, first: int) -> tuple[Chunk, np.ndarray]:
        """A block validated and encoded: float32 as the model reads it, or, explained, float64 as
        the container parses its CSV (the values a reason shows are the customer's, not float32's)."""
        chunk = validate_chunk(header + body, self.origin, OPTIONAL_FOR_SCORING, first)
        cols = chunk.columns
        dtype = np.float32 if self.explained is None else np.float64
        return chunk, encode_columns(cols.rows, cols.numbers, cols.codes, self.vocabulary, self.schema, dtype)

    def render(self, chunk: Chunk, x: np.ndarray, pieces: Sequence[Explanations] = ()) -> bytes:
        """Score (or take the scores of the block's explained ``pieces``), count, and write back one
        validated block."""
        tails = None
        if self.explained is None:
            # As ml.model.train.predict (the container's float32 scores), without its scikit-learn import.
            scores = self.booster.inplace_predict(x, validate_features=False).astype(np.float64) if len(x) else x[:, 0]
        else:
            scores = np.array([s for piece in pieces for s in piece.scores], dtype=np.float64)
            tails = []
            for start, piece in zip(range(0, len(x), EXPLAIN_ROWS), pieces, strict=True):
                tails += self.explained[1].tails(x[start : start + len(piece)], piece.scores, piece.contributions)
        cols = chunk.columns
        self.rows += cols.rows
        self.flagged += int((scores >= self.cutoff).sum())
        labels = cols.labels()
        if labels is not None:  # the label metrics need every score: 5 bytes a row, only with labels
            self.labels.append(labels)
            self.scores.append(scores.astype(np.float32))
        render = _render_plain if chunk.plain else _render_strict
        return render(chunk, scores, self.cutoff, self.guard, tails)

    def rendered(
        self, first: tuple[Chunk, np.ndarray], blocks: Iterator[tuple[bytes, bytes, int]]
    ) -> Generator[bytes, None, None]:
        """Each block's output, in order. Explained, the SHAP values (most of the work: TreeSHAP
        costs 10-20 us a row, the rest of a row ~10 us) are computed in pieces on one worker
        thread per core while this thread validates the next block and renders the previous one;
        XGBoost releases the GIL, and its predictions, SHAP values included, are thread-safe
        (https://xgboost.readthedocs.io/en/stable/prediction.html, "Thread Safety")."""
        if self.explained is None:
            yield self.render(*first)
            for block in blocks:
                yield self.render(*self.validate(*block))
            return
        explainer = self.explained[0]
        pool = ThreadPoolExecutor(_cores(), thread_name_prefix="explain")

        def explain(x: np.ndarray) -> list[Future[Explanations]]:
            return [pool.submit(explainer.explain, x[i : i + EXPLAIN_ROWS]) for i in range(0, len(x), EXPLAIN_ROWS)]

        try:
            pending = (*first, explain(first[1]))
            for block in blocks:
                chunk, x = self.validate(*block)  # while the workers explain the previous block
                following = (chunk, x, explain(x))
                yield self.render(pending[0], pending[1], [piece.result() for piece in pending[2]])
                pending = following
            yield self.render(pending[0], pending[1], [piece.result() for piece in pending[2]])
        finally:  # an error or a signal: no new piece is started, the running ones are waited for
            pool.shutdown(wait=True, cancel_futures=True)


def score_file(
    bundle: Bundle, source: Path, target: Path, formula_guard: bool = True, explain: bool = False
) -> dict[str, Any]:
    """Write the input rows plus the two score columns (and the reason columns when ``explain``);
    returns rows, flagged, cutoff, and labels/scores if labelled."""
    source, target = Path(source), Path(target)
    scorer = _Scorer(bundle, str(source), formula_guard, explain)
    blocks = read_blocks(source, str(source))
    # The first block is validated before anything is created: a bad small file leaves no trace.
    first = scorer.validate(*next(blocks))
    created = _make_parents(target)
    try:
        with atomic_file(target, "wb") as out, contextlib.closing(scorer.rendered(first, blocks)) as rendered:
            out.write(header_line(first[0].header, explain))
            for data in rendered:
                out.write(data)
    except BaseException:
        for folder in created:
            folder.rmdir()
        raise
    labelled = bool(scorer.labels)
    return {
        "rows": scorer.rows,
        "flagged": scorer.flagged,
        "cutoff": scorer.cutoff,
        "scores": np.concatenate(scorer.scores).astype(np.float64) if labelled else None,
        "labels": np.concatenate(scorer.labels).astype(np.float64) if labelled else None,
    }


def print_label_metrics(result: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """With labels in the input: AUC and cost at the bundle's cutoff."""
    if result["labels"] is None:
        return
    costs = CostMatrix(**schema["decision"]["costs"])
    m = ev.split_metrics(result["labels"], result["scores"], result["cutoff"], costs)
    auc = "n/a" if m["auc"] is None else f"{m['auc']:.4f}"
    print(
        f"labels present: AUC {auc}, cost ${m['cost']:,.0f} (${m['cost_per_1000']:,.0f} per 1,000; "
        f"doing nothing ${m['do_nothing_cost_per_1000']:,.0f})"
    )


def _bundle(path: Path) -> Bundle:
    bundle = Bundle(Path(path))
    if not bundle.schema_path.is_file() or not bundle.model_archive.is_file():
        raise ScoringError(f"--model {path}: no model bundle there (make train writes one)")
    return bundle


def main(args: argparse.Namespace) -> int:
    try:
        with signals_interrupt():
            check_paths(args.input, args.output)
            bundle = _bundle(args.model)
            result = score_file(bundle, args.input, args.output, args.formula_guard, args.explain)
    except Interrupted as stop:
        print(f"error: stopped by {stop}; {args.output} not written", file=sys.stderr, flush=True)
        reraise(stop.signum)
        return 128 + stop.signum
    except (ScoringError, DataValidationError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the disk or the file system refused (read-only, full, /proc …)
        print(f"error: {err.filename or args.output}: {err.strerror}", file=sys.stderr)
        return 2
    print(
        f"{args.output}: {result['rows']} rows scored, {result['flagged']} flagged to churn "
        f"at cutoff {result['cutoff']:.2f}"
    )
    print_label_metrics(result, bundle.schema())
    return 0
