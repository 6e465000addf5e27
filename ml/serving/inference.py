"""The inference script: request parsing, prediction and explanations, one file run in two places.

On SageMaker it is packed into ``model.tar.gz`` as ``code/inference.py`` (``ml.model.bundle``),
and the XGBoost 3.0-5 image runs it in script mode (``SAGEMAKER_PROGRAM=inference.py``): the
image's serving code calls ``model_fn`` once and ``transform_fn`` for each request. Locally the
model server (``ml.serving.model_server``) imports this very file. So it imports only what the
image has: the standard library, numpy and xgboost.

``Scorer`` turns a request body plus its ``Content-Type``/``Accept`` headers into response
bytes, or raises ``RequestError`` carrying the HTTP status. It has no HTTP of its own, so tests
and benchmarks use it in-process. ``BodyGuard`` checks the request limits (``Limits``) chunk by
chunk while the body arrives, so a hostile body is refused before it is buffered or parsed.

Explanations, only for ``Accept: application/vnd.churn.explain+json`` (``EXPLAIN_TYPE``): per
row, the score, its log-odds, and XGBoost's own SHAP values (``pred_contribs``: exact TreeSHAP
on the trees) for each of the model's columns plus the base value, which sum to the log-odds.
Every other answer is byte for byte what the built-in algorithm mode answers.

Same bytes as the container: the CSV is read as float64 and handed to XGBoost, which
stores float32 (as the container's ``DMatrix`` does); each score is a float32 printed as
``repr(float(score))``. Differences, on purpose: a row with FEWER columns than the model
is a 400 here (the container scores it silently, wrongly); non-numbers, ragged rows and an
empty body are a 400 with a message naming row and column (the container answers 415 for
any CSV it cannot read, 204 for an empty body); bodies over the limits are a 413. A header
row stays a 415, as there.

Numbers are read as the container reads them (v3.0-5's ``serve_utils.parse_content_data``,
run on each case: Python's ``float`` rules through numpy). It refuses what its ``DMatrix``
refuses, and so do we, with a 400: ``inf`` in any spelling and any value beyond float32
(``1e39``, ``1e309``), in CSV and libsvm. It accepts, and so do we: ``nan`` as a missing
value, ``1_0`` as 10, digits of any script (``٣``, ``３``), Unicode spaces around a number.
libsvm items are separated by spaces only (a tab inside a line is refused there too), and
an index given twice is summed, as its sparse matrix does.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb

EXPLAIN_TYPE = "application/vnd.churn.explain+json"
MODEL_FILE = "xgboost-model"  # what the training job writes into model.tar.gz

_CSV_TYPES = frozenset({"text/csv"})
_SVM_TYPES = frozenset({"text/libsvm", "text/x-libsvm"})  # libsvm's sparse text format
_NEWLINE = ord("\n")
_BLOCK_BYTES = 256 * 1024  # CSV parsed per numpy call: a few ms of holding the GIL
# Bytes numpy's reader may see: it also takes "nan(1)" and skips blank fields, which Python's
# float (the container's reader) refuses; any other byte goes to the exact path.
_FAST_BYTES = b"0123456789.eE+-,\nnaNAiIfFtTyY"


class RequestError(Exception):
    """A request the model cannot score; ``status`` is the HTTP answer.

    ``message`` answers the client and may quote what it sent; ``reason``, for logs, never does
    (a cell of a churn row is customer data): pass it whenever ``message`` quotes the request."""

    def __init__(self, status: int, message: str, reason: str | None = None):
        super().__init__(message)
        self.status, self.message, self.reason = status, message, message if reason is None else reason


@dataclass(frozen=True)
class Limits:
    """What one request may cost. Each bound keeps the parsed matrix and its temporaries small.

    ``max_body_bytes`` is SageMaker's real-time payload limit; rows and line length are far
    above any real request (a row of this model is ~0.2 KB) and far below what made the
    server allocate gigabytes (a few MB of newlines is millions of rows).
    """

    max_body_bytes: int = 6 * 1024 * 1024
    max_rows: int = 100_000
    max_line_bytes: int = 64 * 1024


class BodyGuard:
    """Checks a body against ``Limits`` as its chunks arrive (counting in C, never splitting)."""

    __slots__ = ("_line", "_rows", "limits", "size")

    def __init__(self, limits: Limits):
        self.limits, self.size, self._rows, self._line = limits, 0, 0, 0

    def feed(self, chunk: bytes) -> None:
        limits = self.limits
        self.size += len(chunk)
        if self.size > limits.max_body_bytes:
            raise RequestError(413, f"request body over {limits.max_body_bytes} bytes")
        newlines = chunk.count(b"\n")
        self._rows += newlines
        if self._rows > limits.max_rows:
            raise RequestError(413, f"more than {limits.max_rows} rows in one request: split it")
        if newlines == 0:
            self._line += len(chunk)
            longest = self._line
        else:
            first, last = chunk.index(b"\n"), chunk.rindex(b"\n")
            longest = self._line + first
            if last - first > limits.max_line_bytes:  # only then can a line inside the chunk be too long
                ends = np.flatnonzero(np.frombuffer(chunk, np.uint8, last - first + 1, first) == _NEWLINE)
                longest = max(longest, int(np.diff(ends).max()) - 1)
            self._line = len(chunk) - last - 1
            longest = max(longest, self._line)
        if longest > limits.max_line_bytes:
            raise RequestError(413, f"a line longer than {limits.max_line_bytes} bytes: one row per line")


class Scorer:
    """Parse request bodies and predict; usable in-process (tests, benchmarks) and by the app."""

    def __init__(self, booster: xgb.Booster, limits: Limits | None = None):
        self.booster = booster
        self.width = booster.num_features()
        self.limits = limits or Limits()

    # -- parsing -------------------------------------------------------------------------
    def parse(self, body: bytes, content_type: str | None) -> np.ndarray:
        """The body as a float64 matrix of the model's width (NaN = missing), by content type."""
        media = request_type(content_type)
        BodyGuard(self.limits).feed(body)  # in-process callers get the same bounds as the server
        rows = self.parse_csv(body) if media in _CSV_TYPES else self.parse_libsvm(body)
        _check_float32(rows, "column" if media in _CSV_TYPES else "feature index", 1 if media in _CSV_TYPES else 0)
        return rows

    def parse_csv(self, body: bytes) -> np.ndarray:
        """``text/csv`` rows (no header, no label); empty fields are missing values, as in the container."""
        text = body.strip()
        if not text:
            raise RequestError(400, "empty request body: send one CSV row per record")
        rows = None
        if b"\n" not in text:  # one row, the common case: Python's float() is the fastest here
            try:
                rows = np.array([list(map(float, text.split(b",")))], dtype=np.float64)
            except ValueError:
                rows = None  # an empty field (missing value) or a bad one: the exact path decides
        elif b",\r" not in text:  # an empty last field before CRLF is '\r' to the container: the exact path refuses it
            rows = self._parse_csv_fast(text.replace(b"\r\n", b"\n"))
        if rows is None:
            rows = self._parse_csv_exact(text)
        self._check_width(rows.shape[1])
        return rows

    @staticmethod
    def _parse_csv_fast(text: bytes) -> np.ndarray | None:
        """Rows of numbers, a block of lines per numpy call; ``None`` when the exact reader must decide.

        Empty fields are missing (NaN), as in the exact reader. Blocks, not one call: numpy holds
        the GIL for a whole call, and the event loop needs it between blocks.
        """
        out: np.ndarray | None = None
        row = start = 0
        while start < len(text):
            end = text.find(b"\n", start + _BLOCK_BYTES) if start + _BLOCK_BYTES < len(text) else -1
            end = len(text) if end < 0 else end
            block = _csv_block(text[start:end])
            if block is None:
                return None
            if out is None:
                if end == len(text):
                    return block
                out = np.empty((text.count(b"\n") + 1, block.shape[1]), dtype=np.float64)  # no second copy
            if block.shape[1] != out.shape[1]:
                return None
            out[row : row + len(block)] = block
            row, start = row + len(block), end + 1
        return out

    def _parse_csv_exact(self, text: bytes) -> np.ndarray:
        """Row by row into one preallocated matrix, with the message the fast path cannot give."""
        try:
            lines = text.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise RequestError(400, "request body is not UTF-8 text") from None
        out: np.ndarray | None = None
        for r, line in enumerate(lines, start=1):
            fields = line.split(",")
            if out is not None and len(fields) != out.shape[1]:
                raise RequestError(400, f"row {r} has {len(fields)} columns; row 1 has {out.shape[1]}")
            values: list[float] = []
            for c, field in enumerate(fields, start=1):
                try:  # float() as the container: only an EMPTY field is missing, a blank one is refused
                    values.append(float(field) if field else float("nan"))
                except ValueError:
                    if r == 1 and _is_header(fields):
                        raise RequestError(
                            415, "CSV header rows are not supported: send rows of numbers only (no header, no label)"
                        ) from None
                    raise RequestError(
                        400, f"row {r}, column {c}: {_not_a_number(field)}", f"row {r}, column {c}: not a number"
                    ) from None
            if out is None:
                self._check_width(len(values))
                out = np.empty((len(lines), len(values)), dtype=np.float64)
            out[r - 1] = values
        assert out is not None  # text is not empty, so there is a row 1
        return out

    def parse_libsvm(self, body: bytes) -> np.ndarray:
        """``text/libsvm`` (``[label] index:value ...``, 0-based indices); absent = missing."""
        try:
            lines = body.strip().decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise RequestError(400, "request body is not UTF-8 text") from None
        if lines == [""]:
            raise RequestError(400, "empty request body: send one libsvm row per record")
        rows = np.full((len(lines), self.width), np.nan, dtype=np.float64)
        items = 0
        for r, line in enumerate(lines):
            seen: set[int] = set()
            for item in line.split(" "):  # the container splits on spaces only: "0:1\t2:3" is one bad item
                if ":" not in item:
                    continue  # the label, ignored as the container does
                index, _, value = item.partition(":")
                try:
                    j, v = int(index), float(value)
                except ValueError:
                    raise RequestError(
                        400, f"row {r + 1}: bad libsvm item {item[:40]!r}", f"row {r + 1}: bad libsvm item"
                    ) from None
                if not 0 <= j < self.width:
                    raise RequestError(400, f"row {r + 1}: feature index {j} outside the model's {self.width} features")
                if j in seen:
                    rows[r, j] += v  # the container's sparse matrix sums duplicates (NaN stays NaN)
                else:
                    rows[r, j] = v
                    seen.add(j)
                items += 1
        if not items:  # the container cannot build a matrix of no entries (a 415 there)
            raise RequestError(400, "no index:value item in the body: send libsvm rows such as '0:1.5 3:2'")
        return rows

    def _check_width(self, ncols: int) -> None:
        if ncols > self.width:
            raise RequestError(400, f"{ncols} columns is more than the model's {self.width} features")
        if ncols < self.width:
            raise RequestError(
                400, f"{ncols} columns is fewer than the model's {self.width} features (a label column is not expected)"
            )

    # -- scoring ---------------------------------------------------------------------
    def predict(self, rows: np.ndarray) -> list[float]:
        """Scores (float32 values as Python floats) with every tree, as the container does.

        ``Booster.inplace_predict`` is thread-safe on its own (XGBoost's documentation), and
        the C call releases the GIL.
        """
        scores = self.booster.inplace_predict(rows, iteration_range=(0, 0), validate_features=False)
        flat: list[float] = np.asarray(scores, dtype=np.float32).reshape(len(rows), -1)[:, 0].tolist()
        return flat

    def explain(self, rows: np.ndarray) -> Explanations:
        """Scores (the same floats as ``predict``), log-odds and SHAP values: XGBoost's exact
        TreeSHAP (``pred_contribs``), which needs a ``DMatrix`` (``inplace_predict`` has none)."""
        matrix = xgb.DMatrix(rows, nthread=1)
        options: dict[str, Any] = {"iteration_range": (0, 0), "validate_features": False}
        contributions = self.booster.predict(matrix, pred_contribs=True, **options)
        log_odds = self.booster.predict(matrix, output_margin=True, **options)
        # ``predict``'s very floats (the same predictor and transform; tests compare them), from the
        # matrix built above, whose margins XGBoost has cached: inplace_predict's wrapper cost more.
        scores = np.asarray(self.booster.predict(matrix, **options), dtype=np.float32).reshape(len(rows), -1)[:, 0]
        return Explanations(scores.tolist(), log_odds.reshape(len(rows), -1)[:, 0], contributions)

    def score(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """One request: body + headers -> (response bytes, response content type)."""
        out_type = accept_type(accept)
        rows = self.parse(body, content_type)
        result = self.explain(rows) if out_type == EXPLAIN_TYPE else self.predict(rows)
        return encode(result, out_type), out_type


@dataclass(frozen=True)
class Explanations:
    """Per row: ``scores``; ``log_odds`` (float32); ``contributions``, one column per model
    feature and a last one, the base value (float32): the row's columns sum to its log-odds."""

    scores: list[float]
    log_odds: np.ndarray
    contributions: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def rows(self, start: int, stop: int) -> Explanations:
        return Explanations(self.scores[start:stop], self.log_odds[start:stop], self.contributions[start:stop])

    def to_json(self) -> bytes:
        """One line of JSON (a Batch Transform output is these lines, one per mini-batch)."""
        contributions, log_odds = self.contributions.tolist(), self.log_odds.tolist()
        rows = [
            {"score": s, "log_odds": m, "base": c[-1], "contributions": c[:-1]}
            for s, m, c in zip(self.scores, log_odds, contributions, strict=True)
        ]
        return json.dumps({"explanations": rows}, separators=(",", ":")).encode() + b"\n"


def encode(result: list[float] | Explanations, out_type: str) -> bytes:
    """The response bytes for ``result`` in ``out_type`` (from ``accept_type``): scores as the
    container writes them, explanations as ``Explanations.to_json``."""
    if isinstance(result, Explanations):
        if out_type != EXPLAIN_TYPE:
            raise ValueError(f"explanations cannot be written as {out_type}")
        return result.to_json()
    scores = result
    if out_type == "application/json":
        return json.dumps({"predictions": [{"score": s} for s in scores]}).encode()
    if out_type == "application/jsonlines":
        return "".join(json.dumps({"score": s}) + "\n" for s in scores).encode()
    return ("\n".join(map(repr, scores)) + "\n").encode()


def request_type(header: str | None) -> str:
    """The media type of a ``Content-Type`` header (text/csv when absent, as the container), or a 415."""
    media = _media_type(header) or "text/csv"
    if media not in _CSV_TYPES and media not in _SVM_TYPES:
        raise RequestError(
            415, f"content type {media!r} is not supported: use text/csv or text/libsvm", "content type not supported"
        )
    return media


def accept_type(header: str | None) -> str:
    """The response type for an ``Accept`` header (text/csv when absent), or a 406."""
    if not header:
        return "text/csv"
    for part in header.split(","):
        media = _media_type(part)
        if media in ("text/csv", "*/*", "text/*"):
            return "text/csv"
        if media in ("application/json", "application/jsonlines", EXPLAIN_TYPE):
            return media
    raise RequestError(
        406,
        f"cannot answer in {header[:80]!r}: accept text/csv, application/json or {EXPLAIN_TYPE}",
        "Accept type not supported",
    )


def _check_float32(rows: np.ndarray, what: str, base: int) -> None:
    """400 for a value XGBoost's ``DMatrix`` refuses: infinite once stored as float32.

    The container builds a ``DMatrix``, which fails on ``inf`` and on anything that rounds to
    it as float32 (``1e39``); ``inplace_predict`` does not check, so without this it would score.
    The cast is the one XGBoost makes (round to nearest); NaN is a missing value, not an error.
    """
    with np.errstate(over="ignore"):
        bad = np.isinf(rows.astype(np.float32))
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise RequestError(
            400,
            f"row {r + 1}, {what} {c + base}: {float(rows[r, c])!r} is infinite or beyond float32's "
            "±3.4e38, which XGBoost refuses: send finite numbers (an empty field is a missing value)",
        )


def _media_type(header: str | None) -> str:
    return header.split(";", 1)[0].strip().lower() if header else ""


def _missing_as_nan(text: bytes) -> bytes:
    """Every empty CSV field written as ``nan`` (bytes.replace: C speed; twice for runs of commas)."""
    text = text.replace(b",,", b",nan,").replace(b",,", b",nan,")
    text = text.replace(b"\n,", b"\nnan,").replace(b",\n", b",nan\n")
    return (b"nan" if text.startswith(b",") else b"") + text + (b"nan" if text.endswith(b",") else b"")


def _csv_block(text: bytes) -> np.ndarray | None:
    """Lines of numbers or empty fields (NaN), all of one width, as a matrix; ``None`` if any is not."""
    if text.translate(None, _FAST_BYTES):  # C speed: whitespace, '(' or other text
        return None
    if b",," in text or b"\n," in text or b",\n" in text or text.startswith(b",") or text.endswith(b","):
        text = _missing_as_nan(text)
    flat_text = text.replace(b"\n", b",")
    if b",," in flat_text or flat_text.startswith(b",") or flat_text.endswith(b","):
        return None  # missing values: numpy would not keep their places
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (not fails) on unreadable data
        try:
            flat = np.fromstring(flat_text, dtype=np.float64, sep=",")
        except (ValueError, DeprecationWarning):
            return None
    buf = np.frombuffer(text, dtype=np.uint8)
    commas = np.flatnonzero(buf == ord(","))
    per_row = np.diff(np.searchsorted(commas, np.flatnonzero(buf == _NEWLINE)), prepend=0, append=len(commas))
    if not (per_row == per_row[0]).all() or flat.size != len(per_row) * (per_row[0] + 1):
        return None  # ragged rows: the exact reader names the row
    return flat.reshape(len(per_row), int(per_row[0]) + 1)


def _not_a_number(field: str) -> str:
    if field == "\r":
        return "empty last field before a CRLF line end: the container reads it as '\\r', not as missing"
    if not field.strip():
        return f"a blank field ({field[:10]!r}) is not a number: leave it empty for a missing value"
    return f"not a number: {field.strip()[:40]!r}"


def _is_header(fields: list[str]) -> bool:
    """Every non-empty field is a word (an empty field is a missing value either way)."""
    words = [f.strip() for f in fields if f.strip()]
    for word in words:
        try:
            float(word)
        except ValueError:
            continue
        return False
    return bool(words)


# -- SageMaker script mode: the image's serving code calls these two ---------------------
def model_fn(model_dir: str) -> Scorer:
    """Once per worker: the booster the training job wrote, ``<model_dir>/xgboost-model``."""
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, MODEL_FILE))
    booster.set_param("nthread", "1")  # one core per prediction, as the image's algorithm mode sets
    return Scorer(booster)


def transform_fn(model: Scorer, body: bytes | str, content_type: str | None, accept: str | None) -> Any:
    """Per request: ``(bytes, content type)``, or a refused request's status and message.

    The image's worker has already turned a missing ``Content-Type`` into application/json and a
    missing or ``*/*`` ``Accept`` into its default: the headers as they came, read again from the
    worker's Flask request, get the local server's answer. The body is the worker's (it has read
    the stream), text/csv decoded as UTF-8, so it is encoded back; an invalid byte has become
    U+FFFD there, which the parser refuses as not a number."""
    headers = _raw_headers()
    if headers is not None:
        content_type, accept = headers
    raw = body.encode("utf-8") if isinstance(body, str) else body
    try:
        return model.score(raw, content_type, accept)
    except RequestError as err:
        return _error_response(err)


def _raw_headers() -> tuple[str | None, str | None] | None:
    try:
        import flask  # the image's serving stack (sagemaker-containers) is Flask
    except ImportError:
        return None
    if not flask.has_request_context():
        return None
    headers = flask.request.headers
    content_type = headers.get("ContentType") or headers.get("Content-Type")  # the worker's order
    return content_type, headers.get("Accept")


def _error_response(err: RequestError) -> Any:
    """A Flask response with the status: a plain return value would be a 200, an exception a 500."""
    import flask

    return flask.Response(json.dumps({"error": err.message}), status=err.status, mimetype="application/json")
