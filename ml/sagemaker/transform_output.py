"""What a Batch Transform job wrote (``<input>.out``), read back row by row for the join.

Scores (``Accept: text/csv``): one score per line. Explanations (``EXPLAIN_TYPE``): the inference
script answers each mini-batch with one line of JSON, ``{"explanations": [...]}`` (AssembleWith
Line puts each answer on a line of its own; blank lines are skipped), read lazily, a mini-batch
at a time, and handed out with the encoded rows they explain (the job's own input), so the
reason cells are computed exactly as ``ml score --explain`` computes them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from ml.model.reason_cells import ReasonCells
from ml.sagemaker.aws import JobFailed


def read_scores(path: Path, expected: int) -> np.ndarray:
    text = path.read_text(encoding="utf-8")
    values = [v for line in text.splitlines() for v in line.split(",") if v.strip()]
    if len(values) != expected:
        raise JobFailed(f"transform output has {len(values)} scores for {expected} input rows")
    return np.array([float(v) for v in values])


class JoinRows(Protocol):
    """What the join takes from a transform output: the next n rows' scores (and reason cells)."""

    scores: list[float]

    def take(self, n: int) -> tuple[list[float], list[str] | None]: ...

    def finish(self) -> None: ...


class ScoresInOrder:
    def __init__(self, scores: np.ndarray):
        self.scores: list[float] = scores.tolist()
        self.taken = 0

    def take(self, n: int) -> tuple[list[float], None]:
        self.taken += n
        if self.taken > len(self.scores):
            raise JobFailed(f"joined {self.taken} input rows to {len(self.scores)} scores")
        return self.scores[self.taken - n : self.taken], None

    def finish(self) -> None:
        if self.taken != len(self.scores):
            raise JobFailed(f"joined {self.taken} input rows to {len(self.scores)} scores")


class ExplainedRows:
    """The explained output beside the encoded input: ``take(n)`` gives the next n rows' scores
    and reason cells; ``finish()`` checks that the output had exactly the input's rows."""

    def __init__(self, output: IO[str], encoded: IO[str], expected: int, cells: ReasonCells):
        self._lines, self._encoded, self.expected, self.cells = enumerate(output, start=1), encoded, expected, cells
        self._width = cells.fold.shape[0]  # the model's columns and the base value
        self._buffer = np.empty((0, self._width + 1))  # score, contributions and base per row
        self.taken = 0
        self.scores: list[float] = []  # every score handed out, in order

    def take(self, n: int) -> tuple[list[float], list[str] | None]:
        while len(self._buffer) < n:
            if not self._read_line():
                raise self._mismatch()
        rows, self._buffer = self._buffer[:n], self._buffer[n:]
        lines = [self._encoded.readline() for _ in range(n)]
        vectors = np.loadtxt(io.StringIO("".join(lines)), delimiter=",", ndmin=2) if n else np.empty((0, 0))
        scores = rows[:, 0].tolist()
        self.taken += n
        self.scores += scores
        return scores, self.cells.tails(vectors, scores, rows[:, 1:])

    def finish(self) -> None:
        while self._read_line():
            pass
        if len(self._buffer) or self.taken != self.expected:
            raise self._mismatch()

    def _mismatch(self) -> JobFailed:
        found = self.taken + len(self._buffer)
        while self._read_line():  # count them all for the message
            found = self.taken + len(self._buffer)
        return JobFailed(f"transform output has {found} explanations for {self.expected} input rows")

    def _read_line(self) -> bool:
        """The next mini-batch's explanations into the buffer; False at the end of the output."""
        for number, line in self._lines:
            if line.strip():
                self._buffer = np.concatenate([self._buffer, _explanations(line, number, self._width)])
                return True
        return False


def _explanations(line: str, number: int, width: int) -> np.ndarray:
    """One answer of the inference script as rows of score, contributions and base (the points
    use the contributions' own total, not the answer's ``log_odds``: ml.features.reasons)."""
    try:
        rows = [
            [float(r["score"]), *map(float, r["contributions"]), float(r["base"])]
            for r in json.loads(line)["explanations"]
        ]
        if any(len(row) != width + 1 for row in rows):
            raise ValueError(f"expected {width - 1} contributions a row")
    except (ValueError, KeyError, TypeError) as err:
        raise JobFailed(f"transform output line {number} is not an explanations answer ({err})") from None
    return np.array(rows, dtype=np.float64).reshape(-1, width + 1)
