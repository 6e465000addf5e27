"""``ml score``: same bytes and errors on the vectorised and strict paths, formula guard, bad paths,
signals, file modes, absurd lines, and no scikit-learn without labels."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ml.cli import main
from ml.data import dataset, reader
from ml.data import raw_schema as rs
from ml.data.dataset import DataValidationError, to_csv_bytes
from ml.features import reasons
from ml.features.schema import encode_frame
from ml.model import batch_score
from ml.model.batch_score import score_file
from ml.model.bundle import Bundle
from ml.serving.inference import Scorer
from tests.model.test_reason_cells import explanation, reference
from tests.peak import run_ml_with_peak

ROOT = Path(__file__).resolve().parents[2]


def _strict_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: every block through the line-by-line csv path."""
    monkeypatch.setattr(dataset, "parse_lines", lambda *a, **k: None)


def _variants(raw: bytes) -> dict[str, bytes]:
    header, *lines = raw.split(b"\n")
    lines = [line for line in lines if line]
    odd = [
        line.replace(b",no,", b",No,", 1).replace(b",415,", b", 415,", 1) if i % 3 == 0 else line
        for i, line in enumerate(lines)
    ]
    quoted = [
        b",".join(b'"' + c + b'"' for c in line.split(b",")) if i % 4 == 0 else line for i, line in enumerate(lines)
    ]
    return {
        "plain": raw,
        "crlf": raw.replace(b"\n", b"\r\n"),
        "blank-lines-no-final-newline": header + b"\n\n" + b"\n\n".join(lines),
        "odd-cells": b"\n".join([header, *odd]) + b"\n",
        "quoted": b"\n".join([header, *quoted]) + b"\n",
        "bom": b"\xef\xbb\xbf" + raw,
    }


@pytest.mark.parametrize("variant", ["plain", "crlf", "blank-lines-no-final-newline", "odd-cells", "quoted", "bom"])
@pytest.mark.parametrize("guard", [True, False], ids=["guard", "no-guard"])
@pytest.mark.parametrize("explain", [False, True], ids=["scores", "explained"])
def test_vectorised_path_writes_the_strict_paths_bytes(
    bundle_dir, synthetic_frame, tmp_path, monkeypatch, variant, guard, explain
):
    frame = synthetic_frame.head(400).copy()
    frame["Phone"] = frame["Phone"].where(frame.index % 5 != 0, "=1+2")  # the guard has work to do
    source = tmp_path / "in.csv"
    source.write_bytes(_variants(to_csv_bytes(frame))[variant])
    monkeypatch.setattr(reader, "BLOCK_BYTES", 4096)  # several blocks, some plain, some not
    fast = score_file(Bundle(bundle_dir), source, tmp_path / "fast.csv", formula_guard=guard, explain=explain)
    _strict_only(monkeypatch)
    strict = score_file(Bundle(bundle_dir), source, tmp_path / "strict.csv", formula_guard=guard, explain=explain)
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "strict.csv").read_bytes()
    assert fast["rows"] == strict["rows"] == 400 and fast["flagged"] == strict["flagged"]


BAD_CELLS = [
    ("Eve Calls", "many", "not a number"),
    ("Day Mins", "1e999", "not a finite number"),
    ("Night Calls", "2.5", "whole number"),
    ("Intl Mins", "-1", "outside [0, "),
    ("State", "ZZ", "unknown value; expected one of AK"),
    ("Area Code", "999", "unknown value; expected one of 408, 415, 510"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_CELLS, ids=[c for c, _, _ in BAD_CELLS])
@pytest.mark.parametrize("explain", [False, True], ids=["scores", "explained"])
def test_errors_name_the_same_line_and_column_as_the_strict_path(
    bundle_dir, synthetic_frame, tmp_path, monkeypatch, column, value, reason, explain
):
    frame = synthetic_frame.head(300).drop(columns=[rs.LABEL]).astype(object)
    frame.loc[frame.index[250], column] = value  # file line 252, in the last of several blocks
    source = tmp_path / "bad.csv"
    source.write_bytes(to_csv_bytes(frame))
    monkeypatch.setattr(reader, "BLOCK_BYTES", 8192)
    messages = []
    for strict in (False, True):
        if strict:
            _strict_only(monkeypatch)
        with pytest.raises(DataValidationError) as err:  # explained: while the worker explains the block before
            score_file(Bundle(bundle_dir), source, tmp_path / "out" / "scored.csv", explain=explain)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert f"line 252, column '{column}'" in messages[0] and reason in messages[0]
    assert f"{value}" not in messages[0].split(f"'{column}'", 1)[1]  # the cell itself is not quoted
    assert not (tmp_path / "out").exists()  # the folder made for the output is gone again


def test_formula_guard_prefixes_text_cells_only(bundle_dir, synthetic_frame, tmp_path):
    frame = synthetic_frame.head(6).drop(columns=[rs.LABEL]).astype(object)
    formulas = ["=cmd|' /C calc'!A0", "+1 555 0100", "-2+3", "@SUM(A1)", "\tx", "555-0100"]
    frame["Phone"] = formulas
    frame.loc[frame.index[0], "VMail Message"] = "-0"  # a number: stays a number
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv_bytes(frame))
    phone = list(frame.columns).index("Phone")
    for guard in (True, False):
        target = tmp_path / f"out-{guard}.csv"
        score_file(Bundle(bundle_dir), source, target, formula_guard=guard)
        rows = [line.split(",") for line in target.read_text().splitlines()[1:]]
        written = [row[phone] for row in rows]
        expected = [("'" + f if guard and f[0] in "=+-@\t" else f) for f in formulas]
        assert written == expected
        assert rows[0][list(frame.columns).index("VMail Message")] == "-0"


def test_explained_output_is_the_scored_output_plus_each_rows_reasons(
    bundle_dir, synthetic_frame, tmp_path, monkeypatch
):
    """``ml score --explain`` over several blocks, each explained in pieces on worker threads: every
    line is the plain run's line, then the reason cells reasons.reasons gives for that row's
    explanation (a piece or block out of order would pair a row with another's reasons)."""
    frame = synthetic_frame.head(500).drop(columns=[rs.LABEL])
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv_bytes(frame))
    monkeypatch.setattr(reader, "BLOCK_BYTES", 8192)  # ~90 rows a block
    monkeypatch.setattr(batch_score, "EXPLAIN_ROWS", 16)  # ~6 pieces a block, the last one shorter
    args = ["score", "--model", str(bundle_dir), "--input", str(source)]
    assert main([*args, "--output", str(tmp_path / "plain.csv")]) == 0
    assert main([*args, "--output", str(tmp_path / "explained.csv"), "--explain"]) == 0
    plain = (tmp_path / "plain.csv").read_text().splitlines()
    explained = (tmp_path / "explained.csv").read_text().splitlines()
    assert explained[0] == plain[0] + "," + ",".join(reasons.csv_columns())
    bundle = Bundle(bundle_dir)
    x = encode_frame(frame, bundle.schema()).astype(np.float64)
    found = Scorer(bundle.booster()).explain(x)
    assert len(explained) == len(plain) == len(x) + 1
    for i, (ours, scored) in enumerate(zip(explained[1:], plain[1:], strict=True)):
        ex = explanation(found.scores[i], found.log_odds[i], found.contributions[i])
        assert ours == scored + reference(bundle.schema(), x[i], ex), i


def _command(model: Path, source: Path, target: Path) -> list[str]:
    return [sys.executable, "-m", "ml", "score", "--model", str(model), "--input", str(source), "--output", str(target)]


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ml", "score", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, **kwargs
    )


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`ml score` through the CLI's own main() in this process: its exit code and stderr.

    The refusals happen before any scoring starts, so a new interpreter per case (~1 s of
    imports each) would test nothing more; test_output_mode_* runs the real process.
    """
    try:
        rc = main(["score", *args])
    except SystemExit as exit_:  # argparse's own refusals
        rc = int(exit_.code or 0)
    return rc, capsys.readouterr().err


@pytest.fixture
def customers(synthetic_frame, tmp_path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_bytes(to_csv_bytes(synthetic_frame.head(200).drop(columns=[rs.LABEL])))
    return path


def test_bad_paths_exit_2_with_a_message(bundle_dir, customers, tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = {
        "no such file": ("--input", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "o.csv")),
        "--input": ("--input", str(tmp_path), "--output", str(tmp_path / "o.csv")),
        "is a directory": ("--input", str(customers), "--output", str(tmp_path)),
        "is not a directory": ("--input", str(customers), "--output", str(a_file / "o.csv")),
        "is the input file": ("--input", str(customers), "--output", str(customers)),
        "/proc": ("--input", str(customers), "--output", "/proc/scored.csv"),
    }
    for expected, args in cases.items():
        rc, err = _main(capsys, "--model", str(bundle_dir), *args)
        assert rc == 2 and expected in err, (expected, err)
    rc, err = _main(
        capsys, "--model", str(tmp_path / "nowhere"), "--input", str(customers), "--output", str(tmp_path / "o.csv")
    )
    assert rc == 2 and "no model bundle" in err
    assert not (tmp_path / "o.csv").exists() and customers.read_bytes().startswith(b"State,")


def test_invalid_input_creates_no_output_folder(bundle_dir, customers, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(customers.read_bytes().replace(b",no,", b",nope,", 1))
    rc, err = _main(
        capsys, "--model", str(bundle_dir), "--input", str(bad), "--output", str(tmp_path / "new" / "sub" / "o.csv")
    )
    assert rc == 2 and "unknown value; expected one of no, yes" in err and "nope" not in err
    assert not (tmp_path / "new").exists()


def test_unwritable_output_folder_exits_2(bundle_dir, customers, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    command = [sys.executable, "-m", "ml", "score", "--model", str(bundle_dir), "--input", str(customers)]
    command += ["--output", str(locked / "o.csv")]
    if os.geteuid() == 0:
        # Root writes anywhere through CAP_DAC_OVERRIDE: drop it (util-linux setpriv) so the mode counts.
        if shutil.which("setpriv") is None:
            pytest.skip("running as root and util-linux's setpriv is missing: permissions cannot refuse root")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "permission denied" in result.stderr, result.stderr
    assert list(locked.iterdir()) == []


def test_unlabelled_scoring_never_imports_scikit_learn(bundle_dir, customers, tmp_path):
    code = (
        "import sys\nfrom ml.cli import main\n"
        f"rc = main(['score', '--model', {str(bundle_dir)!r}, '--input', {str(customers)!r}, "
        f"'--output', {str(tmp_path / 'o.csv')!r}])\n"
        "print(rc, sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'xgboost'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "0 ['xgboost']", result.stdout + result.stderr


def _big_input(synthetic_frame, path: Path, rows: int) -> Path:
    body = to_csv_bytes(synthetic_frame.drop(columns=[rs.LABEL])).split(b"\n", 1)
    with open(path, "wb") as out:
        out.write(body[0] + b"\n")
        for _ in range(rows // len(synthetic_frame)):
            out.write(body[1])
    return path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("explain", [False, True], ids=["scores", "explained"])
def test_a_signal_leaves_no_temp_file(bundle_dir, synthetic_frame, tmp_path, signum, explain):
    """Explained, the signal arrives while a worker thread explains a block: the run still ends
    by the signal, with nothing left behind."""
    source = _big_input(synthetic_frame, tmp_path / "big.csv", 600_000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen(
        _command(bundle_dir, source, out_dir / "scored.csv") + (["--explain"] if explain else []),
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(out_dir.glob(".scored.csv.*.partial")):
        assert proc.poll() is None and time.monotonic() < deadline, "the temp file never appeared"
        time.sleep(0.01)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signum, err
    assert f"stopped by {signal.Signals(signum).name}" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("umask", "existing", "expected"), [(0o022, None, 0o644), (0o077, None, 0o600), (0o022, 0o640, 0o640)]
)
def test_output_mode_follows_umask_or_keeps_the_old_files(bundle_dir, customers, tmp_path, umask, existing, expected):
    target = tmp_path / "scored.csv"
    if existing is not None:
        target.write_text("old\n")
        target.chmod(existing)
    result = _cli(
        "--model", str(bundle_dir), "--input", str(customers), "--output", str(target),
        preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == expected
    assert target.read_text().startswith("State,")


@pytest.mark.parametrize("header", [False, True], ids=["no-newline-at-all", "header-then-no-newline"])
def test_a_file_without_newlines_fails_fast_in_bounded_memory(bundle_dir, tmp_path, header):
    source = tmp_path / "x.csv"
    with open(source, "wb") as out:
        if header:
            out.write(",".join(rs.FEATURE_FIELDS).encode() + b"\n")
        out.truncate(2 << 30)  # sparse: 2 GB with no newline, as `truncate -s 2G x.csv`
    started = time.monotonic()
    args = ["score", "--model", str(bundle_dir), "--input", str(source), "--output", str(tmp_path / "o.csv")]
    run, peak_kb = run_ml_with_peak(args, tmp_path)
    assert run.returncode == 2, run.stderr
    assert f"line {2 if header else 1} is longer than 64 KiB" in run.stderr
    assert time.monotonic() - started < 30
    assert 0 < peak_kb < 600 * 1024, f"peak RSS {peak_kb // 1024} MB"  # imports ~250 MB; the file 2 GB
