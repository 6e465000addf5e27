"""The encoding of ``feature_schema.json`` over validated columns (numbers, category codes).

Batch scoring's encoder: the same arithmetic as ``ml.features.schema.encode_frame`` and the
stdlib ``FeatureEncoder`` (parity tests tie all three row for row), without a Python
string per cell: a one-hot column is a comparison of small integer codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def encode_columns(
    rows: int,
    numbers: Mapping[str, np.ndarray],
    codes: Mapping[str, np.ndarray],
    vocabulary: Mapping[str, Sequence[str]],
    schema: Mapping[str, Any],
    dtype: type[np.floating[Any]] = np.float64,
) -> np.ndarray:
    """The model matrix; ``codes[name]`` index into ``vocabulary[name]``."""
    values: dict[str, np.ndarray] = {}
    for name, spec in schema["fields"].items():
        if spec["kind"] in ("int", "float") and name in numbers:
            values[name] = numbers[name].astype(np.float64, copy=False)
    for feature in schema["derived"]:
        total = np.zeros(rows)
        for source, weight in feature["weights"].items():
            total = total + weight * values[source]  # same float ops, same order as the stdlib path
        values[feature["name"]] = total
    out = np.empty((rows, len(schema["columns"])), dtype=dtype)
    for j, column in enumerate(schema["columns"]):
        source = column["source"]
        if "equals" in column:
            words = list(vocabulary[source])
            index = words.index(column["equals"]) if column["equals"] in words else -1
            out[:, j] = codes[source] == index
        else:
            out[:, j] = values[source]
    return out
