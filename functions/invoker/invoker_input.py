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
"""

from __future__ import annotations

import csv
import io
import json
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
    return InputError(413, f"{count} records is more than the limit of {max_records} per request")


def vectors_from_json(body: bytes, encoder: FeatureEncoder, max_records: int) -> list[list[float]]:
    try:
        data: Any = json.loads(body)
    except UnicodeDecodeError:
        raise InputError(400, "request body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise InputError(400, f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
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
    try:
        return [encoder.encode(record, i) for i, record in enumerate(records)]
    except EncodingError as err:
        raise InputError.from_encoding(err) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def vectors_from_csv(body: bytes, encoder: FeatureEncoder, max_records: int) -> list[list[float]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(400, "request body is not UTF-8 text") from None
    try:
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as err:
        raise InputError(400, f"invalid CSV: {err}") from None
    rows = [row for row in rows if any(row)]  # blank lines
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


def _with_header(header: list[str], rows: list[list[str]], encoder: FeatureEncoder, max_records: int):
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
    out = []
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise InputError(400, f"record {i}: {len(row)} CSV columns, expected {len(names)}", None, i)
        record = {n: v for n, v in zip(names, row) if v or n in required}
        try:
            out.append(encoder.encode(record, i))
        except EncodingError as err:
            raise InputError.from_encoding(err) from None
    return out
