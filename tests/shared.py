"""Helpers of every test group: artifacts made once per session (however many pytest-xdist
workers ask for them), a free loopback port, a copy of the work tree."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The path ``make(path)`` wrote, made by the first worker to ask; the others wait for it.

    Each worker has its own base temp directory; their parent is the session's
    (``PYTEST_XDIST_WORKER`` is set in workers only). ``make`` must not leave a half-made
    ``path`` behind on failure: a later caller would make it again over the remains.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            make(path)
            done.touch()
    return path


def free_port() -> int:
    """A loopback port free at this moment (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def copy_work_tree(root: Path, dest: Path, untracked: bool = False) -> Path:
    """The repository's files as they are in the work tree, copied to dest: the tracked ones
    (what a checkout of the commit would hold), and with untracked=True the new ones git does
    not ignore. A tracked file deleted in the work tree is not copied."""
    extra = ["--others", "--exclude-standard"] if untracked else []
    files = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", *extra], capture_output=True, check=True
    ).stdout
    for name in filter(None, files.decode().split("\0")):
        source = root / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest
