"""Write-then-rename helpers: a failure halfway never leaves a half-written artifact.

``atomic_file`` replaces regular files only: a FIFO, a device (``/dev/null``), a socket, a
directory or a symbolic link at the path is refused (``NotARegularFile``), not replaced by a
regular file. Its temp file is ``.<name>.<pid>.<random>.partial`` beside the target, and so
is ``atomic_dir``'s temp directory; one left by a run that was killed outright (SIGKILL, power
loss) is removed by the next write to the same path once its pid is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived: unwinds like KeyboardInterrupt, so every temp file is removed."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise ``Interrupted`` inside the block (main thread only)."""

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def reraise(signum: int) -> None:
    """End the process by ``signum`` itself, as if no handler had been installed (the parent sees it)."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _umask() -> int:
    # os.umask both reads and sets; put it straight back (there is no os.getumask before 3.13).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: Path) -> int:
    """An existing file keeps its mode; a new one gets what open() would give it under the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


class NotARegularFile(OSError):
    """The path holds something a rename must not replace (see ``check_replaceable``)."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_replaceable(path: Path) -> None:
    """Nothing at ``path``, or a regular file; else ``NotARegularFile`` saying what is there.

    A rename over ``/dev/null`` or a FIFO would put a regular file in its place (world-writable,
    as /dev/null's mode is kept); over a symbolic link, it would replace the link, not the file
    it names. The link itself is looked at (lstat), never followed.
    """
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    if stat.S_ISLNK(mode):
        kind += f" (to {os.readlink(path)})"
    raise NotARegularFile(errno.EEXIST, f"is {kind}: only a regular file or a new path is replaced", str(path))


def _partial_prefix(path: Path) -> str:
    return f".{path.name}."


# <pid>.<mkstemp's random letters, digits and _>.partial, after the prefix: no dot inside, so
# the partial files of "a.csv" and of "a.csv.1" never match each other's pattern.
_PARTIAL_TAIL = re.compile(r"(\d+)\.\w+\.partial")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def remove_stale_partials(path: Path) -> list[Path]:
    """Remove the temp files (or directories) of writes to ``path`` whose process is gone; returns them.

    A pid reused since by another process keeps its file until that one ends too (the file is
    only left, never wrongly taken). This process's own pid is never stale.
    """
    removed = []
    prefix = _partial_prefix(path)
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(path.parent) as entries:
        for entry in entries:
            found = entry.name.startswith(prefix) and _PARTIAL_TAIL.fullmatch(entry.name[len(prefix) :])
            if not found or int(found[1]) == os.getpid() or _alive(int(found[1])):
                continue
            if entry.is_dir(follow_symlinks=False):  # atomic_dir's
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success fsync and rename it over ``path``.

    Refuses (``NotARegularFile``) a ``path`` that is anything but a regular file or nothing,
    before writing and again just before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_replaceable(path)
    remove_stale_partials(path)
    final_mode = new_file_mode(path)
    # Signals wait while the temp file exists but its name is not yet known to the cleanup below;
    # a signal that came meanwhile is handled as the mask is restored, so that is inside it too.
    tmp: str | None = None
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        try:
            fd, tmp = tempfile.mkstemp(
                prefix=f"{_partial_prefix(path)}{os.getpid()}.", suffix=".partial", dir=path.parent
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), final_mode)  # mkstemp makes 0600
            os.fsync(handle.fileno())
        check_replaceable(path)  # a FIFO or a link put there while we wrote stays as it is
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temp dir beside ``path``; on success swap it in place of ``path``.

    The old directory is moved aside, the new one renamed in, then the old one removed,
    so at every instant ``path`` is either the complete old or the complete new tree.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.with_name(f".{path.name}.old")
    if not path.exists() and old.exists():  # a run killed between the two renames below
        os.replace(old, path)
    remove_stale_partials(path)  # a killed run's whole temp tree (a bundle: megabytes)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_partial_prefix(path)}{os.getpid()}.", suffix=".partial", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
