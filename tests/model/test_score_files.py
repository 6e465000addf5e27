"""``ml score`` and the files it is given: special outputs refused and left as they were, the temp
file of a killed run removed by the next run, and no input content in any error message."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ml.atomic import NotARegularFile, atomic_dir, atomic_file
from ml.cli import main
from ml.data import raw_schema as rs
from ml.data.dataset import to_csv_bytes

ROOT = Path(__file__).resolve().parents[2]
MARK = "Zq7SECRETmark"  # stands for a customer's data or a password hash in an input file


@pytest.fixture
def customers(synthetic_frame, tmp_path) -> Path:
    path = tmp_path / "customers.csv"
    path.write_bytes(to_csv_bytes(synthetic_frame.head(200).drop(columns=[rs.LABEL])))
    return path


def _score(capsys: pytest.CaptureFixture[str], model: Path, source: Path, target: Path) -> tuple[int, str]:
    """`ml score` through the CLI's main() in this process: its exit code and everything it printed."""
    rc = main(["score", "--model", str(model), "--input", str(source), "--output", str(target)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _snapshot(path: Path) -> tuple[int, str | None, bytes | None]:
    """What is at ``path`` (not followed): its type, where a link points, a regular file's bytes."""
    info = os.lstat(path)
    link = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
    data = path.read_bytes() if path.is_file() else None
    return stat.S_IFMT(info.st_mode), link, data


def _make(kind: str, path: Path, tmp_path: Path) -> object:
    """Put a ``kind`` of file at ``path``; returns what must be closed afterwards (a socket)."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink to /dev/null":
        path.symlink_to("/dev/null")  # the link is made in tmp_path; /dev/null itself is never written
    elif kind == "symlink to a regular file":
        (tmp_path / "real.csv").write_text("earlier scores\n")
        path.symlink_to(tmp_path / "real.csv")
    elif kind == "dangling symlink":
        path.symlink_to(tmp_path / "nowhere.csv")
    elif kind == "directory":
        path.mkdir()
        (path / "kept.txt").write_text("x")
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        return server
    elif kind == "character device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of its own, in tmp_path
    return None


KINDS = {
    "fifo": "a FIFO",
    "symlink to /dev/null": "a symbolic link (to /dev/null)",
    "symlink to a regular file": "a symbolic link (to ",
    "dangling symlink": "a symbolic link (to ",
    "directory": "is a directory",
    "socket": "a socket",
    "character device": "a character device",
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_output_that_is_not_a_regular_file_is_refused_and_left_alone(bundle_dir, customers, tmp_path, capsys, kind):
    """A symbolic link is refused too, even to a regular file: replacing it would replace the link
    (not the file it names), and following it lets whoever made the link choose what is overwritten."""
    target = tmp_path / "out.csv"
    opened = _make(kind, target, tmp_path)
    try:
        before = _snapshot(target)
        rc, printed = _score(capsys, bundle_dir, customers, target)
        assert rc == 2 and "--output" in printed and KINDS[kind] in printed, printed
        assert _snapshot(target) == before
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file either
        if kind == "symlink to a regular file":
            assert (tmp_path / "real.csv").read_text() == "earlier scores\n"
    finally:
        if isinstance(opened, socket.socket):
            opened.close()


def _write_while_a_fifo_appears(target: Path) -> None:
    with atomic_file(target) as out:
        out.write("x\n")
        os.mkfifo(target)  # appears between the first check and the rename


def test_a_special_file_put_there_while_writing_is_not_replaced(tmp_path):
    target = tmp_path / "scores.csv"
    with pytest.raises(NotARegularFile):
        _write_while_a_fifo_appears(target)
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


def killed_while_writing(target: Path, writer: str, write: str) -> int:
    """A child that opens ``writer`` (atomic_file or atomic_dir) on ``target``, runs ``write``, then
    waits: kill -9 there (nothing runs after SIGKILL). Its pid, which names its temp entry."""
    code = "\n".join(
        [
            "import sys, time",
            "from pathlib import Path",
            f"from ml.atomic import {writer}",
            f"with {writer}(Path(sys.argv[1])) as it:",
            f"    {write}",
            "    print('writing', flush=True)",
            "    time.sleep(60)",
        ]
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return proc.pid


def test_the_temp_file_of_a_killed_run_is_removed_by_the_next_run(bundle_dir, customers, tmp_path, capsys):
    """kill -9 mid-write leaves the temp file; the next ``ml score`` to the same output removes it.
    The killed writer is the atomic_file write that ``ml score`` makes (test_batch_score's signal
    test waits for its temp file), without scoring's 2 s of imports."""
    target = tmp_path / "scored.csv"
    pid = killed_while_writing(target, "atomic_file", "it.write('State,Account Length\\nKS,1'); it.flush()")
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert len(left) == 1 and re.fullmatch(rf"\.scored\.csv\.{pid}\.\w+\.partial", left[0]), left

    rc, printed = _score(capsys, bundle_dir, customers, target)
    assert rc == 0, printed
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert target.read_text().startswith("State,")


def test_the_temp_directory_of_a_killed_bundle_write_is_removed_by_the_next_write(tmp_path):
    """atomic_dir (bundles, reports): kill -9 mid-write leaves its temp tree; the next write to the
    same path removes it, and the path holds the new tree."""
    target = tmp_path / "model"
    pid = killed_while_writing(target, "atomic_dir", "(it / 'model.tar.gz').write_bytes(b'x' * 100_000)")
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and re.fullmatch(rf"\.model\.{pid}\.\w+\.partial", left[0]), left

    with atomic_dir(target) as tmp:
        (tmp / "model.tar.gz").write_bytes(b"new")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (target / "model.tar.gz").read_bytes() == b"new"


def test_only_stale_temp_files_of_the_same_output_are_removed(bundle_dir, customers, tmp_path, capsys):
    finished = subprocess.Popen(["true"])
    finished.wait()  # reaped: its pid names no process now
    running = subprocess.Popen(["sleep", "60"])
    try:
        stale = tmp_path / f".scored.csv.{finished.pid}.k2j4h5.partial"
        kept = [
            tmp_path / f".scored.csv.{running.pid}.a1b2c3.partial",  # a run still writing
            tmp_path / f".other.csv.{finished.pid}.a1b2c3.partial",  # another output's
            tmp_path / f".scored.csv.7.{finished.pid}.a1b2c3.partial",  # the output "scored.csv.7"'s
            tmp_path / f".scored.csv.{finished.pid}.notes.txt",  # not a temp file's name
        ]
        for path in [stale, *kept]:
            path.write_text("half a file\n")
        rc, printed = _score(capsys, bundle_dir, customers, tmp_path / "scored.csv")
        assert rc == 0, printed
        assert not stale.exists()
        assert all(path.exists() for path in kept)
    finally:
        running.kill()
        running.wait()


def _header() -> str:
    return ",".join(c for c in rs.RAW_COLUMNS if c != rs.LABEL)


def _row(customers: Path, column: str, value: str) -> str:
    header, first = customers.read_text().splitlines()[:2]
    cells = first.split(",")
    cells[header.split(",").index(column)] = value
    return ",".join(cells)


INPUTS: dict[str, Callable[[Path], str | bytes]] = {
    "a password file": lambda c: f"root:$6${MARK}$hash:19000:0:99999:7:::\nuser:x:1000\n",
    "one line, no newline": lambda c: f"{MARK} {MARK}",
    "an unknown header column": lambda c: f"{_header()},{MARK}\n" + _row(c, "State", "KS") + ",1\n",
    "a repeated unknown column": lambda c: f"{MARK},{_header()},{MARK}\n",
    "a category": lambda c: f"{_header()}\n" + _row(c, "State", MARK) + "\n",
    "a yes/no field": lambda c: f"{_header()}\n" + _row(c, "Int'l Plan", MARK) + "\n",
    "a number": lambda c: f"{_header()}\n" + _row(c, "Day Mins", MARK) + "\n",
    "a number out of range": lambda c: f"{_header()}\n" + _row(c, "Day Mins", "91234567") + "\n",
    "a fractional count": lambda c: f"{_header()}\n" + _row(c, "Day Calls", "12.34567") + "\n",
    "a quoted field over two lines": lambda c: f'{_header()}\n"{MARK}\r{MARK}",' + _row(c, "State", "KS") + "\n",
    "a line not UTF-8": lambda c: f"{_header()}\n".encode() + MARK.encode() + b"\xff\xfe\n",
}


@pytest.mark.parametrize("name", list(INPUTS))
def test_error_messages_never_quote_the_input(bundle_dir, customers, tmp_path, capsys, name):
    """Any readable file may be given as --input (as root: /etc/shadow); the message says which
    line and column is wrong and why, never what the file holds there."""
    source = tmp_path / "input.csv"
    made = INPUTS[name](customers)
    source.write_bytes(made if isinstance(made, bytes) else made.encode())
    rc, printed = _score(capsys, bundle_dir, source, tmp_path / "scored.csv")
    assert rc == 2 and "line " in printed, printed
    for secret in (MARK, "$6$", "91234567", "12.34567"):
        assert secret not in printed, printed
    assert not (tmp_path / "scored.csv").exists()
