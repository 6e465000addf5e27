"""Raw CSV files read in blocks of whole lines: memory stays bounded whatever the line lengths.

A "line" longer than ``MAX_LINE_BYTES`` (a file with no newline at all, say) stops the read
after that many bytes with the line named, instead of being read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ml.data.dataset import MAX_LINE_BYTES, line_too_long

BLOCK_BYTES = 8 << 20  # about 90,000 churn rows: numpy amortises, memory stays small


def read_blocks(path: Path, origin: str, block: int | None = None) -> Iterator[tuple[bytes, bytes, int]]:
    """(header line, whole data lines, file line number of the first) per block, in file order."""
    block = block or BLOCK_BYTES
    with open(path, "rb") as handle:
        header = handle.readline(MAX_LINE_BYTES + 1)
        if len(header) > MAX_LINE_BYTES:
            raise line_too_long(origin, 1)
        line_no, carry, yielded = 2, b"", False
        while data := handle.read(block):
            data = carry + data if carry else data
            cut = data.rfind(b"\n") + 1
            body, carry = data[:cut], data[cut:]
            if body:
                yield header, body, line_no
                yielded = True
                line_no += body.count(b"\n")
            if len(carry) > MAX_LINE_BYTES:
                raise line_too_long(origin, line_no)
        if carry or not yielded:
            yield header, carry, line_no


def chunks(path: Path, rows: int = 50_000) -> Iterator[tuple[bytes, list[bytes], int]]:
    """(header, up to ``rows`` data lines, file line of the first): the line-list form of ``read_blocks``."""
    for header, body, first in read_blocks(path, str(path)):
        lines = body.splitlines(keepends=True) if b"\r" not in body else _split_lf(body)
        for start in range(0, max(len(lines), 1), rows):
            yield header, lines[start : start + rows], first + start


def _split_lf(body: bytes) -> list[bytes]:
    """Split after each LF only, as iterating a binary file does (a lone CR is not a line end)."""
    parts = body.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines
