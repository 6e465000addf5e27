"""The reason columns of an explained CSV for a whole chunk of customers at once (numpy).

``ml.features.reasons`` explains one customer (the Lambda, per record); ``ml score --explain``
and the Batch Transform join explain millions, so the same arithmetic runs here over matrices:
each field's log-odds effect is the contributions times ``reasons.fold_matrix``, the
probability-points scale is ``reasons.points_scale`` with ``np.where`` for its limit, the top
reasons of both sides come from one sort per row, and the values are what
``reasons.value_of`` gives, formatted once per distinct value. A parity test holds the cells
to ``reasons.csv_cells`` of ``reasons.reasons``, row for row, byte for byte.

Exact, not close: numpy adds in another order than ``math.fsum``, so a field's points may
differ from the per-record ones in the last bits (more where the log-odds are within ~1e-5 of
the base, as the scale divides by that span), and numpy rounds halves otherwise than Python's
``round`` (0.15 is 0.1 there, 0.2 in ``np.rint(0.15 * 10) / 10``). Either can only matter for
points within that error of a rounding boundary (x.x5) or of another field's points (the order),
or for a span within it of ``points_scale``'s limit; such a row (none in a million customers
here) is explained by ``reasons.reasons`` itself.

Text cells (field names, category values) get the formula guard of the score output
(``ml.model.csv_safety``); numbers (values and points) are left as numbers, as the guard
leaves numeric columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ml.features import reasons
from ml.model.csv_safety import guard_cell

# Closer than this (in points, beyond the sums' own error) to a rounding boundary or to another
# reason's points, a row is explained per record.
NEAR = 1e-9
# numpy's float64 sums vs math.fsum: at most n x eps (2**-53) x the sum of magnitudes, n <= 73 here;
# 1e-12 is a hundred times that.
SLACK = 1e-12
# reasons.points_scale uses its limit below this |log-odds - base| (the parity test has rows either side).
LIMIT_SPAN = 1e-6
_NUMBER = reasons.Field("", (0,), "number")  # value_of of a bare number
# Rows per numpy pass: its temporaries stay a few MB and are reused; a whole block's (~100 MB)
# were fresh pages each time, and the page faults took a third of the reasons' time.
SLICE = 8192


def csv_text(cell: Any) -> str:
    """One cell as ``csv.writer`` writes it inside a row ("" for an empty cell, quoted where needed)."""
    if cell == "":
        return ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([cell])
    return out.getvalue()[:-1]


def _number_text(value: float | None) -> str:
    """A number cell as ``csv.writer`` writes it (``str``, never quoted; the guard leaves numbers alone)."""
    return "" if value is None else str(value)


class ReasonCells:
    """``reasons.csv_columns()``'s cells for chunks of rows of one model (its feature schema)."""

    def __init__(self, schema: Mapping[str, Any], formula_guard: bool = True, top: int = reasons.TOP):
        self.spans = reasons.fields(schema)
        self.top, self.guard = top, formula_guard
        self.columns = reasons.csv_columns(top)
        # Model columns x fields, and a zero row for the base value: the contributions are folded as
        # they come, with no copy of them without their last column.
        fold = reasons.fold_matrix(schema)
        self.fold = np.array([*fold, [0.0] * len(self.spans)], dtype=np.float64)
        width = len(schema["columns"])
        # Index -1 (no reason at that rank) reads the last entry, an empty cell.
        self._names = np.array([*(self._text(f.name) for f in self.spans), ""], dtype=object)
        self._is_category = np.array([f.kind == "category" for f in self.spans] + [False])
        self._number_column = np.array([f.columns[0] for f in self.spans] + [0])
        # Category values: one table for all category fields; 0 is a missing value (no column set).
        category_texts = [""]
        self._category_offset: dict[int, int] = {}
        for j, field in enumerate(self.spans):
            if field.kind != "category":
                continue
            self._category_offset[j] = len(category_texts)
            for column in field.columns:
                vector = [0.0] * width
                vector[column] = 1.0
                category_texts.append(self._text(reasons.value_of(field, vector)))
        self._category_texts = np.array(category_texts, dtype=object)

    def _text(self, cell: Any) -> str:
        """A cell of ``reasons.csv_cells`` as the output holds it: text guarded, then CSV-quoted."""
        if cell is None:
            cell = ""
        return csv_text(guard_cell(cell) if self.guard and isinstance(cell, str) else cell)

    def tails(self, vectors: np.ndarray, scores: Sequence[float] | np.ndarray, contributions: np.ndarray) -> list[str]:
        """Per row, ``","`` and the reason cells joined by commas: what follows the row's other cells.

        ``vectors``: the model's rows (float64, NaN missing); ``scores`` and ``contributions`` (one
        column per model column, then the base value): the inference script's explanations of them."""
        score = np.asarray(scores, dtype=np.float64)
        tails: list[str] = []
        for start in range(0, len(vectors), SLICE):
            end = start + SLICE
            tails += self._slice(vectors[start:end], score[start:end], contributions[start:end])
        return tails

    def _slice(self, vectors: np.ndarray, score: np.ndarray, contributions: np.ndarray) -> list[str]:
        n, top = len(vectors), self.top
        contrib = np.asarray(contributions, dtype=np.float64)
        scale, slack, relative, unsure = _scale(score, contrib)
        points = scale[:, None] * np.einsum("ij,jk->ik", contrib, self.fold)  # einsum: no BLAS threads
        # How far a point may be from the per-record one: NEAR, the fold's and the scale's error.
        tolerance = (NEAR + np.abs(scale) * slack + np.abs(points).max(axis=1, initial=0.0) * relative)[:, None]
        tenths = points * 10
        rounded = np.rint(tenths)  # round(points, 1) * 10 wherever it is not within tolerance of a half
        unsure |= (np.abs(tenths - rounded) > 0.5 - tolerance * 10).any(axis=1)
        # One sort per row, ascending: the reasons against churn lead, those for it close the row.
        order = np.argsort(points, axis=1)
        ranked = np.take_along_axis(points, order, axis=1)
        sign = np.sign(np.take_along_axis(rounded, order, axis=1))
        # Two reasons on one side within tolerance of each other: a last bit could swap their order
        # (an exact tie: field order, a stable sort's); such rows go through reasons.reasons.
        same_side = (sign[:, 1:] == sign[:, :-1]) & (sign[:, 1:] != 0)
        unsure |= ((np.diff(ranked, axis=1) < tolerance) & same_side).any(axis=1)
        rank = np.arange(top)
        last = ranked.shape[1] - 1
        picks = [
            np.where(rank < (sign > 0).sum(axis=1, keepdims=True), order[:, np.maximum(last - rank, 0)], -1),
            np.where(rank < (sign < 0).sum(axis=1, keepdims=True), order[:, np.minimum(rank, last)], -1),
        ]
        chosen = np.concatenate(picks, axis=1)  # n x 2*top field indexes (for, then against), -1: none
        rows = np.arange(n)[:, None]
        values = self._value_texts(vectors, chosen)
        tenth_texts = self._tenth_texts(np.where(chosen >= 0, rounded[rows, np.maximum(chosen, 0)], 0))
        cells: list[list[str]] = []
        for slot in range(chosen.shape[1]):
            cells += [self._names[chosen[:, slot]].tolist(), values[:, slot].tolist(), tenth_texts[:, slot].tolist()]
        tails = ["," + ",".join(row) for row in zip(*cells, strict=True)]
        for i in np.flatnonzero(unsure).tolist():
            tails[i] = self._one(vectors[i], float(score[i]), contrib[i])
        return tails

    def _value_texts(self, vectors: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """The value cell of each chosen field; numbers formatted once per distinct number."""
        rows = np.arange(len(vectors))[:, None]
        out = np.full(chosen.shape, "", dtype=object)
        for j, offset in self._category_offset.items():
            where = chosen == j
            if not where.any():
                continue
            columns = self.spans[j].columns
            hits = vectors[:, columns[0] : columns[-1] + 1] == 1.0 if _adjacent(columns) else vectors[:, columns] == 1.0
            first = hits.argmax(axis=1)  # value_of's value: the first column set; none set is missing
            code = np.where(hits[np.arange(len(vectors)), first], offset + first, 0)
            out[where] = self._category_texts[code[np.nonzero(where)[0]]]
        number = (chosen >= 0) & ~self._is_category[chosen]
        numbers = vectors[rows, self._number_column[chosen]][number]
        distinct, inverse = np.unique(numbers, return_inverse=True)  # NaNs are one value (missing)
        texts = [_number_text(reasons.value_of(_NUMBER, [v])) for v in distinct.tolist()]
        out[number] = np.array(texts, dtype=object)[inverse.reshape(-1)] if texts else []
        return out

    def _tenth_texts(self, tenths: np.ndarray) -> np.ndarray:
        """Points in whole tenths as ``round(points, 1)`` prints: k / 10 is that very float."""
        distinct, inverse = np.unique(tenths, return_inverse=True)
        texts = [_number_text(k / 10) if k else "" for k in distinct.tolist()]
        return np.array(texts, dtype=object)[inverse.reshape(tenths.shape)]

    def _one(self, vector: np.ndarray, score: float, contributions: np.ndarray) -> str:
        """One row through ``reasons.reasons`` itself (the rows the vectorised path cannot vouch for)."""
        explanation = {"score": score, "base": float(contributions[-1]), "contributions": contributions[:-1].tolist()}
        found = reasons.reasons(self.spans, vector.tolist(), explanation, self.top)
        return "," + ",".join(self._text(cell) for cell in reasons.csv_cells(found, self.top))


def _scale(score: np.ndarray, contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``reasons.field_points``' scale per row (``points_scale`` over the contributions' own
    log-odds span), the same float operations in the same order; with each row's ``slack`` (how far
    numpy's sums may be from ``math.fsum``'s: SLACK x the contributions' magnitude), the scale's
    resulting error per point (slack / |span| on the secant), and the rows whose span is within
    slack of the limit's threshold, where the two could take different branches."""
    base = contrib[:, -1]
    slack = SLACK * (1.0 + np.abs(contrib).sum(axis=1))
    span = (base + contrib[:, :-1].sum(axis=1)) - base
    distinct, inverse = np.unique(base, return_inverse=True)  # one base value per model in practice
    base_probability = np.array([reasons.sigmoid(b) for b in distinct.tolist()])[inverse.reshape(-1)]
    limit = np.abs(span) < LIMIT_SPAN
    with np.errstate(divide="ignore", invalid="ignore"):  # the limit's rows: their secant is unused
        secant = 100.0 * (score - base_probability) / span
        relative = np.where(limit, 0.0, slack / np.abs(span))
    scale = np.where(limit, 100.0 * score * (1.0 - score), secant)
    return scale, slack, relative, np.abs(np.abs(span) - LIMIT_SPAN) <= slack


def _adjacent(columns: Sequence[int]) -> bool:
    """Columns in a run (a one-hot field as the schema lays it out): a view, not a copy."""
    return list(columns) == list(range(columns[0], columns[0] + len(columns)))
