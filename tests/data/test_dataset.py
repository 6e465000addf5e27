"""Raw-data validation: each bad case names the line and column, and nothing is written."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.data import raw_schema as rs
from ml.data.dataset import DataValidationError, load, parse_raw, to_csv_bytes
from tests.peak import run_ml_with_peak

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def good_csv(synthetic_frame) -> bytes:
    return to_csv_bytes(synthetic_frame.head(20))


def _lines(raw: bytes) -> list[str]:
    return raw.decode().splitlines()


def _bad(raw: bytes, expected: list[str]) -> str:
    with pytest.raises(DataValidationError) as err:
        parse_raw(raw, origin="x.csv")
    for text in expected:
        assert text in str(err.value), str(err.value)
    return str(err.value)


def test_valid_file_round_trips(good_csv, synthetic_frame):
    frame = parse_raw(good_csv)
    assert list(frame.columns) == list(rs.RAW_COLUMNS)
    assert all(isinstance(v, str) for v in frame["Area Code"])
    assert (frame["Day Mins"] == synthetic_frame.head(20)["Day Mins"].to_numpy()).all()


def test_missing_column_is_named(good_csv):
    lines = _lines(good_csv)
    rows = [",".join(c for i, c in enumerate(line.split(",")) if i != 7) for line in lines]
    _bad("\n".join(rows).encode(), ["line 1", "missing column(s) 'Day Mins'"])


def test_unknown_column_is_told_by_position_not_quoted(good_csv):
    lines = _lines(good_csv)
    rows = [lines[0] + ",Plan Price"] + [line + ",3" for line in lines[1:]]
    message = _bad("\n".join(rows).encode(), ["line 1", "1 unknown column(s), at position(s) 22"])
    assert "Plan Price" not in message  # a file's text never reaches a message


def test_non_numeric_value_names_line_and_column(good_csv):
    lines = _lines(good_csv)
    cells = lines[5].split(",")
    cells[rs.RAW_COLUMNS.index("Eve Calls")] = "many"
    lines[5] = ",".join(cells)
    message = _bad("\n".join(lines).encode(), ["line 6", "column 'Eve Calls'", "not a number"])
    assert "many" not in message


def test_unknown_label_names_line(good_csv):
    lines = _lines(good_csv)
    lines[3] = lines[3].rsplit(",", 1)[0] + ",Maybe."
    message = _bad("\n".join(lines).encode(), ["line 4", "column 'Churn?'", "unknown value; expected one of True."])
    assert "Maybe" not in message


def test_empty_file_and_header_only():
    _bad(b"", ["empty file"])
    _bad(",".join(rs.RAW_COLUMNS).encode() + b"\n", ["no data rows"])


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda ls: [*ls[:3], ls[3][: len(ls[3]) // 2], *ls[4:]], ["line 4", "fields, expected 21"]),
        (lambda ls: [line.replace(",", ";") for line in ls], ["line 1", "delimiter"]),
        (lambda ls: [*ls[:5], ls[0], *ls[5:]], ["line 6", "repeated header"]),
        (lambda ls: [*ls[:2], "x" * 70000, *ls[2:]], ["line 3", "longer than 64 KiB"]),
        (
            lambda ls: (
                [*ls[:2], ls[2].replace(",415,", ",999,").replace(",408,", ",999,").replace(",510,", ",999,"), *ls[3:]]
            ),
            ["line 3", "Area Code", "unknown value; expected one of 408, 415, 510"],
        ),
    ],
    ids=["truncated-line", "wrong-delimiter", "duplicated-header", "huge-line", "unknown-area-code"],
)
def test_malformed_files(good_csv, mutate, expected):
    _bad("\n".join(mutate(_lines(good_csv))).encode(), expected)


def test_bom_is_accepted(good_csv):
    assert len(parse_raw(b"\xef\xbb\xbf" + good_csv)) == 20


def test_gigabyte_line_fails_fast_without_reading_it_all(tmp_path):
    """A 1 GB line is refused after 64 KiB: the reader never holds the line."""
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.write(",".join(rs.RAW_COLUMNS).encode() + b"\n")
        handle.truncate(1 << 30)  # sparse: 1 GB of NULs and no newline
    with pytest.raises(DataValidationError, match="line 2 is longer than 64 KiB"):
        load(str(path))


def test_gigabyte_line_costs_no_gigabyte_of_memory(tmp_path):
    """`ml data` on a header plus 2 GB without a newline: exit 2, line named, peak RSS far below the file."""

    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.write(",".join(rs.RAW_COLUMNS).encode() + b"\n")
        handle.truncate(2 << 30)
    run, peak_kb = run_ml_with_peak(["data", "--data", str(path), "--output", str(tmp_path / "out.csv")], tmp_path)
    assert run.returncode == 2 and "line 2 is longer than 64 KiB" in run.stderr, run.stderr
    assert 0 < peak_kb < 400 * 1024, f"peak RSS {peak_kb // 1024} MB"  # pandas ~100 MB; the file 2 GB
    assert not (tmp_path / "out.csv").exists()


def test_file_read_in_blocks_equals_one_read(tmp_path, synthetic_frame, monkeypatch):
    """Small blocks (many chunks) give the same frame and the whole file's sha256."""
    import hashlib

    import pandas as pd

    from ml.data import reader

    path = tmp_path / "c.csv"
    path.write_bytes(to_csv_bytes(synthetic_frame))
    whole, provenance = load(str(path))
    monkeypatch.setattr(reader, "BLOCK_BYTES", 3000)
    blocks, provenance_blocks = load(str(path))
    pd.testing.assert_frame_equal(whole, blocks, check_exact=True)
    assert provenance.sha256 == provenance_blocks.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_data_bad_file_exits_nonzero_and_writes_nothing(tmp_path, good_csv):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good_csv.replace(b"False.", b"Nope.", 1))
    out = tmp_path / "out" / "churn.csv"
    result = subprocess.run(
        [sys.executable, "-m", "ml", "data", "--data", str(bad), "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "column 'Churn?'" in result.stderr and "line" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_unreachable_url_falls_back_to_synthetic(capsys):
    frame, provenance = load("http://127.0.0.1:9/DKD2e_data_sets.zip", rows=50, seed=3, quiet=True)
    assert len(frame) == 50 and provenance.source.startswith("synthetic")
    assert "fallback" in provenance.note
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not reach" in err[0] and "synthetic" in err[0]


def test_zip_member_is_read(tmp_path, good_csv, monkeypatch):
    """The lab's zip: 'Data sets/churn.txt' inside, served over a real socket."""
    import http.server
    import io
    import threading
    import zipfile

    import ml.data.dataset as ds

    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("Data sets/churn.txt", good_csv)
    body = payload.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(ds, "CACHE_DIR", tmp_path / "cache")
    try:
        frame, provenance = load(f"http://127.0.0.1:{server.server_port}/DKD2e_data_sets.zip", quiet=True)
    finally:
        server.shutdown()
    assert len(frame) == 20
    import hashlib

    assert provenance.sha256 == hashlib.sha256(good_csv).hexdigest()


CELL_TEXT = st.text(alphabet="0123456789.-+e_ \t,\"'=@xYesNoTrue١\r\n\x00\u00a0", max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_vectorised_and_strict_validation_agree_on_mangled_cells(good_csv, data):
    """Random cells replaced by tricky text: the same frame or the same error, vectorised or strict."""
    from unittest import mock

    from ml.data import dataset

    lines = _lines(good_csv)
    for _ in range(data.draw(st.integers(1, 3))):
        row = data.draw(st.integers(1, len(lines) - 1))
        cells = lines[row].split(",")
        cells[data.draw(st.integers(0, len(cells) - 1))] = data.draw(CELL_TEXT)
        lines[row] = ",".join(cells)
    raw = "\n".join(lines).encode()
    outcomes: list[pd.DataFrame | str] = []
    for strict in (False, True):
        with mock.patch.object(dataset, "parse_lines", return_value=None) if strict else contextlib.nullcontext():
            try:
                outcomes.append(parse_raw(raw, origin="x.csv"))
            except DataValidationError as err:
                outcomes.append(str(err))
    fast, strict_outcome = outcomes
    if isinstance(fast, pd.DataFrame) and isinstance(strict_outcome, pd.DataFrame):
        pd.testing.assert_frame_equal(fast, strict_outcome, check_exact=True)
    else:
        assert fast == strict_outcome
