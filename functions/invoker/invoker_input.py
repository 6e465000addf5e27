"""Request bodies of ``POST /predict`` -> the model's encoded rows (standard library only).

Three inputs, one output (a list of encoded vectors):

* ``application/json``: one record (an object of raw field names) or a list of them.
* ``text/csv`` of raw fields. Header optional:
  - WITH a header: the first row is a header when any of its cells is a known raw field name
    (``State``, ``Account Length``, …, or the label ``Churn?``, which is ignored). The columns
    may then be any subset in any order; the 15 fields the model needs are required, the
    others (``Phone`` and the four charges) are optional and an empty cell there is absent.
  - WITHOUT a header: 20 columns = the 20 raw feature fields in the dataset's order
    (``State`` … ``CustServ Calls``, including ``Phone`` and the charges); 21 columns = a whole
    dataset row, the label ``Churn?`` last and ignored.
* ``text/csv`` of the model's own encoded vector (what the original lab's page sent): rows
  without a header whose width equals the model's width and whose cells are all numbers.

Errors name the record (0-based, not counting a header) and the field.

Numbers must be plain ASCII decimals (``12``, ``-3.5``, ``1e3``): no ``1_0`` (Python's ``float`` reads
it as 10), no other script's digits (``٣``, ``３``: ``float`` reads them too), no ``NaN``/``Infinity``,
nothing that overflows a float, no integer of more than ``MAX_DIGITS`` digits. A JSON object may not
repeat a key. JSON nested deeper than the C parser allows is a 400, not a ``RecursionError``. A CSV
body stops being read at the first row past the record limit (a body of newlines yields no rows and
costs no list of them).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ml.features.encoder import EncodingError, FeatureEncoder


class InputError(Exception):
    """A request body we refuse; ``status`` is 400 (bad input) or 413 (too many records)."""

    def __init__(self, status: int, message: str, field: str | None = None, record: int | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.record = status, message, field, record

    @classmethod
    def from_encoding(cls, err: EncodingError) -> InputError:
        return cls(400, str(err), err.field, err.record)


def _too_many(count: int, max_records: int) -> InputError:
    """``count`` may be a lower bound: a CSV body is not read past the first record too many."""
    return InputError(413, f"more than {max_records} records: the limit of {max_records} per request")


MAX_DIGITS = 30  # digits of a JSON number; far beyond any field's range, far below int()'s 4300
# ASCII: without it \d matches every script's digits, and float() reads "٣٠٥" as 305.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
NUMBER_KINDS = ("int", "float")
LINES_PER_RECORD = 10  # room for blank lines and quoted multi-line cells; a newline bomb is refused


class NotPlain:
    """A JSON number we refuse, kept as a marker so that the error can name its field."""

    def __init__(self, text: str):
        self.text = text[:40] + ("…" if len(text) > 40 else "")


def _parse_float(text: str) -> float | NotPlain:
    if len(text) > 2 * MAX_DIGITS:
        return NotPlain(text)
    value = float(text)
    return value if math.isfinite(value) else NotPlain(text)


def _parse_int(text: str) -> int | NotPlain:
    return NotPlain(text) if len(text.lstrip("-")) > MAX_DIGITS else int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(400, f"field '{key[:60]}' appears twice in one JSON object", key[:60])
        out[key] = value
    return out


def _check_plain(record: Any, index: int, encoder: FeatureEncoder) -> None:
    """Refuse numbers that are not plain decimals, naming the record and the field."""
    if not isinstance(record, dict):
        return  # the encoder names what is wrong with it
    for name, value in record.items():
        if isinstance(value, NotPlain):
            reason = f"{value.text} is not a number we accept (finite, at most {MAX_DIGITS} digits)"
        elif isinstance(value, str) and _is_numeric(name, encoder) and not PLAIN_NUMBER.fullmatch(value.strip()):
            reason = f"{value[:40]!r} is not a number (plain decimals only)"
        else:
            continue
        raise InputError(400, f"record {index}: {name[:60]}: {reason}", name[:60], index)


def _is_numeric(name: str, encoder: FeatureEncoder) -> bool:
    spec = encoder.fields.get(name)
    return spec is not None and spec.get("kind") in NUMBER_KINDS


def vectors_from_json(body: bytes, encoder: FeatureEncoder, max_records: int) -> list[list[float]]:
    try:
        data: Any = json.loads(
            body,
            object_pairs_hook=_no_duplicates,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=NotPlain,  # NaN, Infinity, -Infinity
        )
    except UnicodeDecodeError:
        raise InputError(400, "request body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise InputError(400, f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:  # the C parser's own depth guard: a record is never more than 2 deep
        raise InputError(400, "invalid JSON: nested too deeply (send an object or a list of objects)") from None
    if isinstance(data, dict):
        records = [data]
    elif isinstance(data, list):
        records = data
    else:
        raise InputError(400, "expected a JSON object (one record) or a list of objects")
    if not records:
        raise InputError(400, "no records: send one object or a non-empty list of objects")
    if len(records) > max_records:
        raise _too_many(len(records), max_records)
    for i, record in enumerate(records):
        _check_plain(record, i, encoder)
    try:
        return [encoder.encode(record, i) for i, record in enumerate(records)]
    except EncodingError as err:
        raise InputError.from_encoding(err) from None


def _is_number(text: str) -> bool:
    return PLAIN_NUMBER.fullmatch(text) is not None and math.isfinite(float(text))


def _rows(text: str, limit: int) -> Iterator[list[str]]:
    """Non-blank CSV rows, stripped; stops after ``limit`` of them (the caller refuses one more)."""
    count = 0
    for row in csv.reader(io.StringIO(text)):
        if any(cell.strip() for cell in row):
            yield [cell.strip() for cell in row]
            count += 1
            if count >= limit:
                return


def _check_cells(names: Iterable[str], rows: list[list[str]], encoder: FeatureEncoder) -> None:
    numeric = [(j, name) for j, name in enumerate(names) if _is_numeric(name, encoder)]
    for i, row in enumerate(rows):
        for j, name in numeric:
            if j < len(row) and row[j] and not PLAIN_NUMBER.fullmatch(row[j]):
                raise InputError(
                    400, f"record {i}: {name}: {row[j][:40]!r} is not a number (plain decimals only)", name, i
                )


def vectors_from_csv(body: bytes, encoder: FeatureEncoder, max_records: int) -> list[list[float]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(400, "request body is not UTF-8 text") from None
    lines = text.count("\n")  # C speed: a body of newlines must not cost a Python loop per line
    if lines > LINES_PER_RECORD * max_records:
        raise InputError(413, f"{lines} CSV lines: more than {LINES_PER_RECORD} per record of the limit {max_records}")
    try:  # a header, max_records rows, and one more to tell that there are too many
        rows = list(_rows(text, max_records + 2))
    except csv.Error as err:
        raise InputError(400, f"invalid CSV: {err}") from None
    if not rows:
        raise InputError(400, "no records: the CSV body is empty")
    raw_names = list(encoder.fields)  # the schema keeps the dataset's order
    label = encoder.schema.get("label", {}).get("name")
    known = set(raw_names) | set(encoder.ignored)
    first = rows[0]
    if any(cell in known for cell in first):
        return _with_header(first, rows[1:], encoder, max_records)
    if len(rows) > max_records:
        raise _too_many(len(rows), max_records)
    if len(first) == encoder.width and all(_is_number(cell) for cell in first):
        out = []
        for i, row in enumerate(rows):
            bad = next((cell for cell in row if not PLAIN_NUMBER.fullmatch(cell)), None)
            if bad is not None:
                raise InputError(400, f"record {i}: {bad[:40]!r} is not a number (plain decimals only)", None, i)
            try:
                out.append(encoder.check_vector(row, i))
            except EncodingError as err:
                raise InputError.from_encoding(err) from None
        return out
    if len(first) == len(raw_names):
        names = raw_names
    elif label and len(first) == len(raw_names) + 1:
        names = [*raw_names, label]
    else:
        raise InputError(
            400,
            f"record 0: {len(first)} CSV columns; expected a header row, {len(raw_names)} raw fields in the "
            f"dataset's order ({', '.join(raw_names[:3])}, …), {len(raw_names) + 1} with the label "
            f"last, or the model's {encoder.width} encoded values",
        )
    return _encode_rows(names, rows, encoder)


def _with_header(
    header: list[str], rows: list[list[str]], encoder: FeatureEncoder, max_records: int
) -> list[list[float]]:
    seen = set()
    for name in header:
        if name in seen:
            raise InputError(400, f"header: column '{name[:60]}' appears twice", name[:60])
        seen.add(name)
    if not rows:
        raise InputError(400, "no records: the CSV body has a header and no rows")
    if len(rows) > max_records:
        raise _too_many(len(rows), max_records)
    return _encode_rows(header, rows, encoder)


def _encode_rows(names: list[str], rows: list[list[str]], encoder: FeatureEncoder) -> list[list[float]]:
    required = set(encoder.required)
    _check_cells(names, rows, encoder)
    out = []
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise InputError(400, f"record {i}: {len(row)} CSV columns, expected {len(names)}", None, i)
        record = {n: v for n, v in zip(names, row, strict=True) if v or n in required}
        try:
            out.append(encoder.encode(record, i))
        except EncodingError as err:
            raise InputError.from_encoding(err) from None
    return out
