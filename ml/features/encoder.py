"""Raw customer record -> model vector, driven by ``feature_schema.json``.

Standard library only: the invoker Lambda ships this module, and training checks
(in a parity test) that its vectorised path encodes every row exactly like this.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


class EncodingError(ValueError):
    """A record cannot be encoded; names the record (0-based) and the field.

    ``reason`` may quote the value (the API answers its own caller with it); ``problem`` never
    does: it is what a message about a file's content may say (``ml score`` on any readable file).
    """

    def __init__(self, reason: str, field: str | None = None, record: int | None = None, problem: str | None = None):
        self.reason, self.field, self.record = reason, field, record
        self.problem = problem or reason
        where = []
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason)


def parse_number(value: Any, kind: str, bounds: Sequence[float] | None, field: str) -> float:
    """Parse one numeric raw value (JSON number or CSV text); finite, in bounds, ints integral."""
    if isinstance(value, bool) or value is None:
        raise EncodingError(f"expected a number, got {json.dumps(value)}", field, problem="expected a number")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise EncodingError(f"not a number: {value[:40]!r}", field, problem="not a number") from None
    else:
        raise EncodingError(f"expected a number, got {type(value).__name__}", field)
    if not math.isfinite(number):
        raise EncodingError(f"not a finite number: {value!r}", field, problem="not a finite number")
    if kind == "int" and not number.is_integer():
        raise EncodingError(f"expected a whole number, got {value!r}", field, problem="expected a whole number")
    if bounds is not None and not bounds[0] <= number <= bounds[1]:
        span = f"[{bounds[0]:g}, {bounds[1]:g}]"
        raise EncodingError(f"{value!r} is outside {span}", field, problem=f"outside {span}")
    return number


def parse_category(value: Any, allowed: Sequence[str], field: str) -> str:
    """Match a categorical value case-insensitively; 415 and "415" are the same area code."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise EncodingError(f"expected one of {_show(allowed)}, got {json.dumps(value)}", field, problem="not a value")
    text = str(value).strip()
    for candidate in allowed:
        if candidate.lower() == text.lower():
            return candidate
    expected = f"expected one of {_show(allowed)}"
    raise EncodingError(f"unknown value {text[:40]!r}; {expected}", field, problem=f"unknown value; {expected}")


def _show(allowed: Sequence[str]) -> str:
    return ", ".join(allowed) if len(allowed) <= 6 else f"{', '.join(allowed[:6])}, … ({len(allowed)} values)"


class FeatureEncoder:
    """Encodes raw records as the model's ordered columns; see ``ml.features.schema.build_schema``."""

    def __init__(self, schema: Mapping[str, Any]):
        if schema.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"feature schema version {schema.get('schema_version')!r}; expected {SCHEMA_VERSION}")
        self.schema = schema
        self.fields: dict[str, Mapping[str, Any]] = schema["fields"]
        self.required: tuple[str, ...] = tuple(schema["required"])
        self.ignored: frozenset[str] = frozenset(schema.get("ignored", ()))
        self.derived: list[Mapping[str, Any]] = list(schema.get("derived", ()))
        self.columns: list[str] = [c["name"] for c in schema["columns"]]
        # Each column becomes a small closure over the parsed record: no per-call lookups.
        self._getters = [self._getter(c) for c in schema["columns"]]

    @classmethod
    def from_file(cls, path: str | Path) -> FeatureEncoder:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @property
    def width(self) -> int:
        return len(self.columns)

    @staticmethod
    def _getter(column: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Any]:
        source, equals = column["source"], column.get("equals")
        if equals is None:
            return lambda parsed: parsed[source]
        return lambda parsed: 1.0 if parsed[source] == equals else 0.0

    def parse(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Validate one raw record; returns canonical values (numbers as float) plus derived ones."""
        if not isinstance(record, Mapping):
            raise EncodingError(f"expected an object of named fields, got {type(record).__name__}")
        for name in record:
            if name not in self.fields and name not in self.ignored:
                raise EncodingError("unknown field", str(name)[:60])
        parsed: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name not in record:
                if name in self.required:
                    raise EncodingError("missing", name)
                continue
            value = record[name]
            if spec["kind"] == "category":
                parsed[name] = parse_category(value, spec["values"], name)
            elif spec["kind"] == "text":
                if not isinstance(value, (str, int)) or isinstance(value, bool):
                    raise EncodingError("expected text", name)
            else:
                parsed[name] = parse_number(value, spec["kind"], (spec["min"], spec["max"]), name)
        for feature in self.derived:
            total = 0.0
            for source, weight in feature["weights"].items():
                total += weight * parsed[source]
            parsed[feature["name"]] = total
        return parsed

    def encode(self, record: Mapping[str, Any], index: int | None = None) -> list[float]:
        try:
            parsed = self.parse(record)
        except EncodingError as err:
            raise EncodingError(err.reason, err.field, index, err.problem) from None
        return [get(parsed) for get in self._getters]

    def encode_many(self, records: Iterable[Mapping[str, Any]]) -> list[list[float]]:
        return [self.encode(r, i) for i, r in enumerate(records)]

    def check_vector(self, values: Sequence[Any], index: int | None = None) -> list[float]:
        """An already-encoded row (the lab page's mode): exact width, finite numbers."""
        if len(values) != self.width:
            raise EncodingError(f"expected {self.width} encoded values, got {len(values)}", None, index)
        out = []
        for name, value in zip(self.columns, values, strict=True):
            try:
                out.append(parse_number(value, "float", None, name))
            except EncodingError as err:
                raise EncodingError(err.reason, err.field, index, err.problem) from None
        return out


def format_csv(rows: Iterable[Sequence[float]]) -> str:
    """Rows as the container's ``text/csv`` (no header): whole numbers short, others exact."""
    return "".join(",".join(_fmt(v) for v in row) + "\n" for row in rows)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
