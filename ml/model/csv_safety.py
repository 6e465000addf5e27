"""Spreadsheet formula guard for scored CSVs (OWASP "CSV Injection").

A spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR as a formula
(``=cmd|' /C calc'!A0``). Such a cell in a text or category column is written with a
leading single quote, which spreadsheets show as text. Cells of numeric columns are left
as they are: validation accepted them as numbers (``-0`` or ``+5`` at worst), and a
spreadsheet reads a number as a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ml.data import raw_schema as rs

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_DANGEROUS_BYTES = np.frombuffer("".join(DANGEROUS).encode(), dtype=np.uint8)


def guarded_positions(header: Sequence[str]) -> list[int]:
    """Indexes of the columns whose cells may hold text (every non-numeric raw column)."""
    return [j for j, name in enumerate(header) if rs.RAW_FIELDS[name][0] not in ("int", "float")]


def guard_cell(cell: str) -> str:
    return "'" + cell if cell[:1] in DANGEROUS else cell


def guard_cells(cells: list[str], positions: Sequence[int]) -> list[str]:
    out = list(cells)
    for j in positions:
        out[j] = guard_cell(out[j])
    return out


def rows_to_guard(first_bytes: Mapping[str, np.ndarray], rows: int) -> np.ndarray:
    """Indexes of the rows with at least one cell that starts like a formula."""
    hit = np.zeros(rows, dtype=bool)
    for first in first_bytes.values():
        hit |= np.isin(first, _DANGEROUS_BYTES)
    return np.flatnonzero(hit)
