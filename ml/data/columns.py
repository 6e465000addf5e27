"""Vectorised validation of raw CSV lines: numpy over the bytes, no Python object per cell.

It only accepts what it can prove the per-line validator (``ml.data.dataset``) would
accept with the same values: lines without quotes, NUL or stray CR, each with exactly the
header's number of fields. Numbers are plain decimals (``123``, ``45.07``) read exactly;
categories are exact canonical values. Any other cell (``Yes``, `` 415``, ``1e2``) goes
to the per-cell parser of the strict path, and anything that fails there makes the whole
chunk fall back to the strict path, which names the first bad line and column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.data import raw_schema as rs

QUOTE, NUL, CR, LF, COMMA, DOT, ZERO = 34, 0, 13, 10, 44, 46, 48
MAX_DIGITS = 15  # below 2**53: integer mantissa and 10**decimals are exact doubles

# A cell the fast path cannot prove valid: the strict parser's value (raises ValueError on bad input).
CellParser = Callable[[str, str], float | str]


@dataclass
class Columns:
    """Validated raw columns of one chunk: numbers as float64, categories as codes into the raw vocabulary."""

    rows: int
    numbers: dict[str, np.ndarray] = field(default_factory=dict)
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    text: dict[str, list[str]] = field(default_factory=dict)
    # First byte of every non-numeric cell (0 when empty): the formula guard reads it.
    first_bytes: dict[str, np.ndarray] = field(default_factory=dict)

    def vocabulary(self, name: str) -> tuple[str, ...]:
        return rs.categories(name)

    def labels(self) -> np.ndarray | None:
        if rs.LABEL not in self.codes:
            return None
        values = np.array([rs.LABEL_VALUES[v] for v in rs.categories(rs.LABEL)], dtype=np.int8)
        labels: np.ndarray = values[self.codes[rs.LABEL]]
        return labels

    def to_frame(self, header: Sequence[str]) -> pd.DataFrame:
        """The frame the strict parser builds: ints int64, floats float64, categories and text as str."""
        data: dict[str, object] = {}
        for name in header:
            kind = rs.RAW_FIELDS[name][0]
            if kind == "category":
                data[name] = np.array(rs.categories(name), dtype=object)[self.codes[name]]
            elif kind == "text":
                data[name] = self.text[name]
            elif kind == "int":
                data[name] = self.numbers[name].astype(np.int64)
            else:
                data[name] = self.numbers[name]
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Columns:
        """From the strict parser's frame (chunks the fast path declined)."""
        out = cls(len(frame))
        for name in frame.columns:
            kind = rs.RAW_FIELDS[str(name)][0]
            if kind == "category":
                codes = pd.Categorical(frame[name], categories=rs.categories(str(name))).codes
                out.codes[str(name)] = np.asarray(codes, dtype=np.int16)
            elif kind in ("int", "float"):
                out.numbers[str(name)] = frame[name].to_numpy(dtype=np.float64)
        return out


def _lines(buf: np.ndarray, max_line: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(start, end) of each non-blank line's content; None when a line is too long or a CR is stray."""
    size = len(buf)
    newlines = np.flatnonzero(buf == LF)
    ends = newlines if size == 0 or buf[-1] == LF else np.append(newlines, size)
    starts = np.concatenate(([0], newlines[: len(ends) - 1] + 1)) if len(ends) else ends
    if len(ends) and int((ends - starts).max()) + 1 > max_line:
        return None
    returns = np.flatnonzero(buf == CR)
    if len(returns):
        if returns[-1] + 1 >= size or not (buf[returns + 1] == LF).all():
            return None  # only CRLF line ends are plain
        ends = ends - np.isin(ends - 1, returns)
    keep = ends > starts
    return starts[keep], ends[keep]


def _gather(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """(rows, width) bytes from each start; the buffer is padded, so no index runs off its end."""
    return buf[starts[:, None] + np.arange(width)]


def _numbers(buf: np.ndarray, s: np.ndarray, e: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, plain): plain cells are digits with at most one inner dot (floats only)."""
    length = e - s
    width = int(min(length.max(initial=1), MAX_DIGITS + 1))
    cells = _gather(buf, s, width)
    inside = np.arange(width) < length[:, None]
    digits = cells - np.uint8(ZERO)
    is_digit = (digits < 10) & inside
    is_dot = (cells == DOT) & inside
    dots = is_dot.sum(1)
    plain = (length >= 1) & (is_digit.sum(1) + dots == length) & (is_digit.sum(1) <= MAX_DIGITS)
    if kind == "int":
        plain &= dots == 0
    else:
        dot_at = np.argmax(is_dot, 1)
        plain &= (dots == 0) | ((dots == 1) & (dot_at > 0) & (dot_at < length - 1))
    mantissa = np.zeros(len(s), dtype=np.int64)
    for p in range(width):
        mantissa = np.where(is_digit[:, p], mantissa * 10 + digits[:, p], mantissa)
    decimals = np.where(dots == 1, length - 1 - np.argmax(is_dot, 1), 0)
    # Exact operands, one correctly rounded division: the double float() returns for the text.
    values = mantissa.astype(np.float64) / np.power(10.0, decimals)
    return values, plain


def _codes(buf: np.ndarray, s: np.ndarray, e: np.ndarray, vocabulary: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(codes, exact): a cell equal byte for byte to a canonical value gets its index."""
    encoded = [v.encode() for v in vocabulary]
    width = max(len(v) for v in encoded)
    length = e - s
    cells = _gather(buf, s, width).astype(np.int64)
    inside = np.arange(width) < length[:, None]
    keys = (np.where(inside, cells, 0) << (8 * np.arange(width))).sum(1) + (np.minimum(length, 255) << 56)
    wanted = np.array([int.from_bytes(v, "little") + (len(v) << 56) for v in encoded], dtype=np.int64)
    order = np.argsort(wanted)
    at = np.clip(np.searchsorted(wanted[order], keys), 0, len(wanted) - 1)
    exact = (wanted[order][at] == keys) & (length <= width)
    return order[at].astype(np.int16), exact


def parse_lines(
    body: bytes, header: Sequence[str], cell: CellParser, max_line: int, want_text: bool = False
) -> Columns | None:
    """Validate the data lines in ``body``; None when the strict path must decide."""
    buf = np.frombuffer(body, dtype=np.uint8)
    if (buf == QUOTE).any() or (buf == NUL).any():
        return None
    if (buf >= 0x80).any():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    found = _lines(buf, max_line)
    if found is None:
        return None
    starts, ends = found
    width = len(header)
    commas = np.flatnonzero(buf == COMMA)
    per_line = np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
    if (per_line != width - 1).any() or len(commas) != len(starts) * (width - 1):
        return None
    inner = commas.reshape(len(starts), width - 1)
    field_starts = np.column_stack([starts, inner + 1])
    field_ends = np.column_stack([inner, ends])
    padded = np.concatenate([buf, np.zeros(MAX_DIGITS + 8, dtype=np.uint8)])
    out = Columns(len(starts))
    for j, name in enumerate(header):
        kind = rs.RAW_FIELDS[name][0]
        s, e = field_starts[:, j], field_ends[:, j]
        if kind in ("int", "float"):
            values, plain = _numbers(padded, s, e, kind)
            low, high = rs.bounds(name)
            good = plain & (values >= low) & (values <= high)
            for i in np.flatnonzero(~good):
                try:
                    values[i] = float(cell(name, body[s[i] : e[i]].decode("utf-8")))
                except ValueError:
                    return None
            out.numbers[name] = values
            continue
        out.first_bytes[name] = np.where(e > s, padded[s], 0).astype(np.uint8)
        if kind == "text":
            if want_text:
                out.text[name] = [body[a:b].decode("utf-8") for a, b in zip(s.tolist(), e.tolist(), strict=True)]
            continue
        vocabulary = rs.categories(name)
        codes, exact = _codes(padded, s, e, vocabulary)
        for i in np.flatnonzero(~exact):
            try:
                codes[i] = vocabulary.index(str(cell(name, body[s[i] : e[i]].decode("utf-8"))))
            except ValueError:
                return None
        out.codes[name] = codes
    return out
