"""Request parsing and prediction for the model server (``ml.serving.model_server``): the container's bytes.

``Scorer`` turns a request body plus its ``Content-Type``/``Accept`` headers into response
bytes, or raises ``RequestError`` carrying the HTTP status. It has no HTTP of its own, so tests
and benchmarks use it in-process.

Same bytes as the container: the CSV is read as float64 and handed to XGBoost, which
stores float32 (as the container's ``DMatrix`` does); each score is a float32 printed as
``repr(float(score))``. Differences, on purpose: a row with FEWER columns than the model
is a 400 here (the container scores it silently, wrongly); non-numbers, ragged rows and an
empty body are a 400 with a message naming row and column (the container answers 415 for
any CSV it cannot read, 204 for an empty body). A header row stays a 415, as there.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from pathlib import Path

import numpy as np
import xgboost as xgb

from ml.model.bundle import MODEL_ARCHIVE, load_archive

# The server's logger name, not this module's: the server process logs under one name.
LOG = logging.getLogger("ml.serving.model_server")
_CSV_TYPES = frozenset({"text/csv"})
_LIBSVM_TYPES = frozenset({"text/libsvm", "text/x-libsvm"})


class RequestError(Exception):
    """A request the model cannot score; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def load_booster(model_dir: str | Path) -> xgb.Booster:
    """The bundle's booster (``ml.model.bundle.load_archive`` refuses what the container would)."""
    booster = load_archive(Path(model_dir) / MODEL_ARCHIVE)
    booster.set_param("nthread", 1)  # one request, one core: the event loop owns the process
    return booster


class _DensePredictor:
    """``XGBoosterPredictFromDense`` (XGBoost's public C API, what ``inplace_predict`` calls).

    Called directly because the Python wrapper costs several times the prediction itself for
    one row (it builds a class, JSON and a proxy per call). Checked against
    ``inplace_predict`` at load; any doubt and the caller keeps ``inplace_predict``.
    """

    def __init__(self, booster: xgb.Booster):
        import ctypes

        from xgboost.core import _LIB  # the library xgboost itself loaded

        self._ctypes, self._lib, self._booster = ctypes, _LIB, booster
        self._local = threading.local()  # one reusable proxy DMatrix per thread (saves ~40 us a call)
        self._args = json.dumps(
            {
                "type": 0,
                "training": False,
                "iteration_begin": 0,
                "iteration_end": 0,
                "missing": float("nan"),
                "strict_shape": False,
                "cache_id": 0,
            }
        ).encode()

    def __call__(self, rows: np.ndarray) -> list[float]:
        ct = self._ctypes
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        n, m = rows.shape
        interface = b'{"data": [%d, true], "shape": [%d, %d], "typestr": "<f8", "version": 3}' % (
            rows.ctypes.data,
            n,
            m,
        )
        proxy = getattr(self._local, "proxy", None)
        if proxy is None:
            proxy = ct.c_void_p()
            if self._lib.XGProxyDMatrixCreate(ct.byref(proxy)) != 0:
                raise RuntimeError(self._lib.XGBGetLastError().decode(errors="replace"))
            self._local.proxy = proxy
        preds = ct.POINTER(ct.c_float)()
        shape = ct.POINTER(ct.c_uint64)()
        dims = ct.c_uint64()
        code = self._lib.XGBoosterPredictFromDense(
            self._booster.handle, interface, self._args, proxy, ct.byref(shape), ct.byref(dims), ct.byref(preds)
        )
        if code != 0:
            raise RuntimeError(self._lib.XGBGetLastError().decode(errors="replace"))
        total = 1
        for i in range(dims.value):
            total *= shape[i]
        if total != n:
            raise RuntimeError(f"{total} outputs for {n} rows: not a single-output model")
        return np.ctypeslib.as_array(preds, shape=(n,)).tolist()


class Scorer:
    """Parse request bodies and predict; usable in-process (tests, benchmarks) and by the app."""

    def __init__(self, booster: xgb.Booster):
        self.booster = booster
        self.width = booster.num_features()
        self._fast = None
        try:
            fast = _DensePredictor(booster)
            probe = np.random.default_rng(0).random((3, self.width)) * 100
            probe[1, ::3] = np.nan
            if fast(probe) == self._inplace(probe):
                self._fast = fast
        except Exception:
            LOG.warning("direct XGBoost predict unavailable; using Booster.inplace_predict", exc_info=True)

    @classmethod
    def from_dir(cls, model_dir: str | Path) -> Scorer:
        return cls(load_booster(model_dir))

    # -- parsing -------------------------------------------------------------------------
    def parse_csv(self, body: bytes) -> np.ndarray:
        """``text/csv`` rows (no header, no label) as a float64 matrix of the model's width.

        Empty fields are missing values (NaN), as in the container.
        """
        text = body.strip()
        if not text:
            raise RequestError(400, "empty request body: send one CSV row per record")
        rows = None
        if b"\n" not in text:  # one row, the common case: Python's float() is the fastest here
            try:
                rows = np.array([list(map(float, text.split(b",")))], dtype=np.float64)
            except ValueError:
                rows = None  # an empty field (missing value) or a bad one: the exact path decides
        elif b",," not in text and not text.startswith(b",") and not text.endswith(b","):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # numpy warns (not fails) on unreadable data
                try:
                    flat = np.fromstring(text.replace(b"\r", b"").replace(b"\n", b","), dtype=np.float64, sep=",")
                except (ValueError, DeprecationWarning):
                    flat = None
            if flat is not None:
                nrows = text.count(b"\n") + 1
                ncols = text.count(b",") // nrows + 1
                if flat.size == nrows * ncols and self._uniform_commas(text, nrows):
                    rows = flat.reshape(nrows, ncols)
        if rows is None:
            rows = self._parse_csv_slow(text)
        self._check_width(rows.shape[1])
        return rows

    @staticmethod
    def _uniform_commas(text: bytes, nrows: int) -> bool:
        if nrows == 1:
            return True
        buf = np.frombuffer(text, dtype=np.uint8)
        commas = np.cumsum(buf == ord(","))
        ends = np.flatnonzero(buf == ord("\n"))
        per_row = np.diff(np.concatenate(([0], commas[ends], [commas[-1]])))
        return bool((per_row == per_row[0]).all())

    def _parse_csv_slow(self, text: bytes) -> np.ndarray:
        """Exact reading with the error message the fast path cannot give."""
        try:
            lines = text.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise RequestError(400, "request body is not UTF-8 text") from None
        out: list[list[float]] = []
        width = None
        for r, line in enumerate(lines, start=1):
            fields = line.split(",")
            values, bad = [], None
            for c, field in enumerate(fields, start=1):
                token = field.strip()
                if not token:
                    values.append(float("nan"))
                    continue
                try:
                    values.append(float(token))
                except ValueError:
                    bad = bad or (c, token)
                    values.append(None)
            if bad is not None:
                if r == 1 and all(v is None for v, f in zip(values, fields) if f.strip()):
                    raise RequestError(
                        415, "CSV header rows are not supported: send rows of numbers only (no header, no label)"
                    )
                raise RequestError(400, f"row {r}, column {bad[0]}: not a number: {bad[1][:40]!r}")
            if width is None:
                width = len(values)
            elif len(values) != width:
                raise RequestError(400, f"row {r} has {len(values)} columns; row 1 has {width}")
            out.append(values)  # type: ignore[arg-type]
        return np.asarray(out, dtype=np.float64)

    def parse_libsvm(self, body: bytes) -> np.ndarray:
        """``text/libsvm`` (``[label] index:value ...``, 0-based indices); absent = missing."""
        try:
            lines = body.strip().decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise RequestError(400, "request body is not UTF-8 text") from None
        if not lines:
            raise RequestError(400, "empty request body: send one libsvm row per record")
        rows = np.full((len(lines), self.width), np.nan, dtype=np.float64)
        for r, line in enumerate(lines):
            for item in line.split():
                if ":" not in item:
                    continue  # the label, ignored as the container does
                index, _, value = item.partition(":")
                try:
                    j, v = int(index), float(value)
                except ValueError:
                    raise RequestError(400, f"row {r + 1}: bad libsvm item {item[:40]!r}") from None
                if not 0 <= j < self.width:
                    raise RequestError(400, f"row {r + 1}: feature index {j} outside the model's {self.width} features")
                rows[r, j] = v
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
        """Scores (float32 values as Python floats) with every tree, as the container does."""
        if self._fast is not None:
            return self._fast(rows)
        return self._inplace(rows)

    def _inplace(self, rows: np.ndarray) -> list[float]:
        scores = self.booster.inplace_predict(rows, iteration_range=(0, 0), validate_features=False)
        return np.asarray(scores, dtype=np.float32).reshape(len(rows), -1)[:, 0].tolist()

    def score(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """One request: body + headers -> (response bytes, response content type)."""
        media = _media_type(content_type) or "text/csv"  # the container's default
        if media in _CSV_TYPES:
            rows = self.parse_csv(body)
        elif media in _LIBSVM_TYPES:
            rows = self.parse_libsvm(body)
        else:
            raise RequestError(415, f"content type {media!r} is not supported: use text/csv or text/libsvm")
        out_type = _accept_type(accept)
        scores = self.predict(rows)
        if out_type == "application/json":
            return json.dumps({"predictions": [{"score": s} for s in scores]}).encode(), out_type
        if out_type == "application/jsonlines":
            return "".join(json.dumps({"score": s}) + "\n" for s in scores).encode(), out_type
        return ("\n".join(map(repr, scores)) + "\n").encode(), "text/csv"


def _media_type(header: str | None) -> str:
    return header.split(";", 1)[0].strip().lower() if header else ""


def _accept_type(header: str | None) -> str:
    if not header:
        return "text/csv"
    for part in header.split(","):
        media = _media_type(part)
        if media in ("text/csv", "*/*", "text/*"):
            return "text/csv"
        if media in ("application/json", "application/jsonlines"):
            return media
    raise RequestError(406, f"cannot answer in {header[:80]!r}: accept text/csv or application/json")
