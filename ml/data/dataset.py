"""The raw dataset: fetch (URL, file or synthetic), validate against the 21-column contract.

Validation is strict and names the line and column of the first problem; nothing is
written unless the whole file is valid.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ml.atomic import atomic_file
from ml.config import DATASET_MEMBER, DATASET_URL
from ml.data import raw_schema as rs
from ml.data.columns import Columns, parse_lines
from ml.features.encoder import EncodingError, parse_category, parse_number

MAX_LINE_BYTES = 64 * 1024  # a raw record is ~150 bytes; longer is not a churn CSV
CACHE_DIR = Path("build/cache")


class DataValidationError(ValueError):
    """The raw data breaks the contract; the message names line and column."""


@dataclass(frozen=True)
class Provenance:
    source: str
    sha256: str
    rows: int
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "sha256": self.sha256, "rows": self.rows, "note": self.note}


def load(source: str = "url", rows: int = 3333, seed: int = 42, quiet: bool = False) -> tuple[pd.DataFrame, Provenance]:
    """Raw frame + where it came from. 'url' falls back to synthetic data when offline."""
    if source == "synthetic":
        return _synthetic(rows, seed, note="")
    if source == "url" or source.startswith(("http://", "https://")):
        url = DATASET_URL if source == "url" else source
        try:
            payload = download(url, quiet=quiet)
        except OSError as err:
            reason = getattr(err, "reason", None) or err
            print(
                f"could not reach {url} ({reason}); using synthetic data instead ({rows} rows, seed {seed})",
                file=sys.stderr,
            )
            return _synthetic(rows, seed, note=f"fallback: {url} unreachable")
        raw = _unzip(payload, url) if payload[:2] == b"PK" else payload
        return _parsed(raw, url)
    path = Path(source)
    if not path.is_file():
        raise DataValidationError(f"{source}: no such file (expected a path, a URL, 'url' or 'synthetic')")
    return _parsed_file(path)


def _synthetic(rows: int, seed: int, note: str) -> tuple[pd.DataFrame, Provenance]:
    from ml.data.synthetic import generate

    frame = generate(rows, seed)
    raw = to_csv_bytes(frame)
    return frame, Provenance(f"synthetic:rows={rows},seed={seed}", _sha256(raw), rows, note)


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _parsed(raw: bytes, origin: str) -> tuple[pd.DataFrame, Provenance]:
    frame = parse_raw(raw, origin=origin)
    return frame, Provenance(origin, _sha256(raw), len(frame))


def _parsed_file(path: Path) -> tuple[pd.DataFrame, Provenance]:
    """Block by block (bounded memory, even for a file without newlines), hashing as it reads."""
    from ml.data.reader import read_blocks  # the reader builds on this module

    digest, frames = hashlib.sha256(), list[pd.DataFrame]()
    for header, body, first in read_blocks(path, str(path)):
        digest.update(body if frames else header + body)
        frames.append(parse_raw(header + body, origin=str(path), first_line=first))
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return frame, Provenance(str(path), digest.hexdigest(), len(frame))


def download(url: str, quiet: bool = False, timeout: float = 15.0) -> bytes:
    """GET with a progress bar on stderr; cached under build/cache by URL."""
    cached = CACHE_DIR / hashlib.sha256(url.encode()).hexdigest()[:16]
    if cached.is_file():
        return cached.read_bytes()
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (user-chosen URL)
        total = int(response.headers.get("Content-Length") or 0)
        chunks, done = [], 0
        while chunk := response.read(64 * 1024):
            chunks.append(chunk)
            done += len(chunk)
            if not quiet:
                _progress(done, total)
        if not quiet:
            print(file=sys.stderr)
    payload = b"".join(chunks)
    with atomic_file(cached, "wb") as handle:
        handle.write(payload)
    return payload


def _progress(done: int, total: int) -> None:
    if total:
        filled = int(30 * done / total)
        bar = "#" * filled + "-" * (30 - filled)
        print(f"\rdownloading [{bar}] {done / 1e6:5.1f}/{total / 1e6:.1f} MB", end="", file=sys.stderr)
    else:
        print(f"\rdownloading {done / 1e6:5.1f} MB", end="", file=sys.stderr)


def _unzip(payload: bytes, url: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            return archive.read(DATASET_MEMBER)
    except KeyError:
        raise DataValidationError(f"{url}: the zip has no '{DATASET_MEMBER}'") from None
    except zipfile.BadZipFile as err:
        raise DataValidationError(f"{url}: not a valid zip ({err})") from None


def parse_raw(
    raw: bytes,
    origin: str = "data",
    optional: tuple[str, ...] = (),
    first_line: int = 2,
) -> pd.DataFrame:
    """Validate raw CSV bytes into a frame of canonical values.

    ``optional`` columns may be absent (scoring accepts files without the label or
    Phone); every other raw column must be present, and no unknown column may be.
    ``first_line`` is the file line of the first data row, for chunked reads.
    """
    header, body = _header(raw, origin, optional)
    columns = parse_lines(body, header, _strict_cell, MAX_LINE_BYTES, want_text=True) if body else None
    if columns is not None and columns.rows:
        return columns.to_frame(header)
    return _parse_strict(raw, origin, optional, first_line)


@dataclass(frozen=True)
class Chunk:
    """A validated chunk: header names, columns, and whether its lines are plain (see ml.data.columns)."""

    header: list[str]
    columns: Columns
    body: bytes
    plain: bool


def validate_chunk(raw: bytes, origin: str, optional: tuple[str, ...], first_line: int) -> Chunk:
    """``parse_raw`` without building a frame: vectorised when the lines are plain, strict otherwise."""
    header, body = _header(raw, origin, optional)
    columns = parse_lines(body, header, _strict_cell, MAX_LINE_BYTES) if body else None
    if columns is not None and columns.rows:
        return Chunk(header, columns, body, plain=True)
    frame = _parse_strict(raw, origin, optional, first_line)
    return Chunk(header, Columns.from_frame(frame), body, plain=False)


def _header(raw: bytes, origin: str, optional: tuple[str, ...]) -> tuple[list[str], bytes]:
    stream = io.BytesIO(raw)
    header_line = _read_line(stream, 1, origin)
    if not header_line.strip():
        raise DataValidationError(
            f"{origin}: empty file (expected a header with the {len(rs.RAW_COLUMNS)} raw columns)"
        )
    header = _csv_cells(header_line, origin, 1)
    _check_header(header, origin, optional)
    return header, raw[stream.tell() :]


def _parse_strict(raw: bytes, origin: str, optional: tuple[str, ...], first_line: int) -> pd.DataFrame:
    """Line by line with the csv module: the reference behaviour, and the one that names errors."""
    stream = io.BytesIO(raw)
    header = _csv_cells(_read_line(stream, 1, origin), origin, 1)
    _check_header(header, origin, optional)
    kinds = [rs.RAW_FIELDS[name][0] for name in header]
    columns: list[list[object]] = [[] for _ in header]
    line_no = first_line - 1
    while True:
        line_no += 1
        line = _read_line(stream, line_no, origin)
        if not line:
            break
        if not line.strip():
            continue
        cells = _csv_cells(line, origin, line_no)
        if len(cells) != len(header):
            raise DataValidationError(
                f"{origin}: line {line_no}: {len(cells)} fields, expected {len(header)} "
                "(truncated line or wrong delimiter?)"
            )
        for j, (name, kind, cell) in enumerate(zip(header, kinds, cells, strict=True)):
            columns[j].append(_cell(name, kind, cell, origin, line_no))
    if not columns[0] and first_line == 2:
        raise DataValidationError(f"{origin}: no data rows after the header")
    return pd.DataFrame(dict(zip(header, columns, strict=True)))


def _csv_cells(line: str, origin: str, line_no: int) -> list[str]:
    try:
        return next(csv.reader([line]))
    except csv.Error as err:  # e.g. a lone CR inside a line
        raise DataValidationError(f"{origin}: line {line_no}: not a CSV line ({err})") from None


def line_too_long(origin: str, line_no: int) -> DataValidationError:
    return DataValidationError(f"{origin}: line {line_no} is longer than {MAX_LINE_BYTES // 1024} KiB; not a churn CSV")


def _read_line(stream: io.BytesIO, line_no: int, origin: str) -> str:
    line = stream.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise line_too_long(origin, line_no)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataValidationError(f"{origin}: line {line_no} is not UTF-8 ({err.reason} at byte {err.start})") from None
    return text.lstrip("\ufeff") if line_no == 1 else text


def _check_header(header: list[str], origin: str, optional: tuple[str, ...]) -> None:
    """Names the expected columns, never the file's own text: any readable file may be given
    (its first line may be a password hash), so unknown columns are told by position."""
    unknown = [i for i, h in enumerate(header, start=1) if h not in rs.RAW_FIELDS]
    missing = [c for c in rs.RAW_COLUMNS if c not in header and c not in optional]
    duplicated = sorted({h for h in header if h in rs.RAW_FIELDS and header.count(h) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(repr(m) for m in missing)}")
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (", …" if len(unknown) > 10 else "")
        problems.append(f"{len(unknown)} unknown column(s), at position(s) {shown}")
    if duplicated:
        problems.append(f"duplicated column(s) {', '.join(repr(d) for d in duplicated)}")
    if problems:
        hint = " — is the delimiter ','?" if len(header) == 1 and len(rs.RAW_COLUMNS) > 1 else ""
        raise DataValidationError(f"{origin}: line 1 (header): {'; '.join(problems)}{hint}")


def _strict_cell(name: str, cell: str) -> float | str:
    """One cell by the strict rules (the vectorised path asks about cells it cannot prove)."""
    value = _cell(name, rs.RAW_FIELDS[name][0], cell, "", 0)
    return value if isinstance(value, str) else float(value)


def _cell(name: str, kind: str, cell: str, origin: str, line_no: int) -> str | float | int:
    try:
        if kind == "category":
            return parse_category(cell, rs.categories(name), name)
        if kind == "text":
            return cell
        number = parse_number(cell, kind, rs.bounds(name), name)
        return int(number) if kind == "int" else number
    except EncodingError as err:  # the problem, not the cell: a file's content stays out of messages
        hint = " (a repeated header row?)" if cell == name else ""
        raise DataValidationError(f"{origin}: line {line_no}, column '{name}': {err.problem}{hint}") from None


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    text: str = frame.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def main(args: argparse.Namespace) -> int:
    try:
        frame, provenance = load(args.data, args.rows, args.seed)
    except DataValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        with atomic_file(args.output, "wb") as handle:
            handle.write(to_csv_bytes(frame))
    except OSError as err:  # a FIFO or /dev/null given as --output (ml.atomic refuses it), a full disk …
        print(f"error: {err.filename or args.output}: {err.strerror}", file=sys.stderr)
        return 2
    churn = (frame[rs.LABEL] == "True.").mean()
    print(
        f"{args.output}: {len(frame)} rows, churn {churn:.2%}, source {provenance.source} "
        f"(sha256 {provenance.sha256[:12]}…)"
    )
    return 0
