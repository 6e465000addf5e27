"""Fixtures for the web page tests: Debian's Chromium driven by Playwright, and the real local stack.

The stack is ``python -m ml stack`` (model server + local API + web/), started as a process in a
process group of its own, so that teardown ends exactly the processes this test started.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.shared import free_port

REPO = Path(__file__).resolve().parents[2]
# Debian's Chromium here; CI runners point CHROMIUM_PATH at their preinstalled Chrome.
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO / "build" / "screenshots"
STARTUP_TIMEOUT_S = 90.0


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI=true requires the browser tests to run")
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# Reports each CSP violation to Python; injected by CDP, so the page's own CSP does not block it.
_CSP_LISTENER = """document.addEventListener('securitypolicyviolation',
    e => window.reportCspViolation(e.violatedDirective + ' blocked ' + e.blockedURI));"""


def watch_csp(context) -> list[str]:
    """CSP violations in ``context``: ``securitypolicyviolation`` events and console reports."""
    violations: list[str] = []
    context.expose_function("reportCspViolation", lambda text: violations.append(str(text)))
    context.add_init_script(_CSP_LISTENER)
    context.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return violations


@dataclass
class ConsoleErrors:
    """The console's error messages of a page; a test that provokes some (an API error, a dead
    server: Chromium logs the failed request) names them with ``allow``."""

    seen: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [text for text in self.seen if not any(p.search(text) for p in self.allowed)]


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(browser, console_errors):
    """A fresh desktop page; fails the test on any uncaught page error, console error or CSP violation."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    violations = watch_csp(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda message: console_errors.seen.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations on the page: {violations}"
    assert not console_errors.unexpected(), f"Errors in the console: {console_errors.unexpected()}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class Stack:
    url: str
    port: int
    model_port: int
    proc: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def pids_listening_on(self, port: int) -> list[int]:
        """Processes of this stack's process group that listen on ``port`` (Linux /proc)."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                        inodes.add(cols[9])
        pgid = self.proc.pid  # start_new_session: the stack leads its own group
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                if os.getpgid(pid) != pgid:
                    continue
                links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
            except OSError:
                continue
            if any(f"socket:[{inode}]" in links for inode in inodes):
                pids.append(pid)
        return pids

    def kill_model_server(self) -> list[int]:
        pids = self.pids_listening_on(self.model_port)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _accepts(self.model_port):
            time.sleep(0.1)
        return pids

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        # Whatever the stack started and left behind (the model server) is in the same group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _get(url: str) -> int:
    """Status of a GET on loopback; 0 when nothing answers."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=2)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


@contextlib.contextmanager
def run_stack(bundle: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """``env`` is added to the stack's environment (which it hands on to the handler)."""
    port, model_port = free_port(), free_port()
    while model_port == port:
        model_port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "ml",
        "stack",
        "--model",
        str(bundle),
        "--port",
        str(port),
        "--model-port",
        str(model_port),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
    stack = Stack(f"http://127.0.0.1:{port}", port, model_port, proc, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`{' '.join(cmd)}` exited with {proc.returncode}:\n{stack.log_tail()}")
            if _get(stack.url + "/config.js") == 200 and _get(f"http://127.0.0.1:{model_port}/ping") == 200:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the stack did not answer within {STARTUP_TIMEOUT_S:.0f}s:\n{stack.log_tail()}")
            time.sleep(0.2)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def stack(bundle_dir, tmp_path_factory) -> Iterator[Stack]:
    """One stack shared by the tests that leave it running."""
    with run_stack(Path(bundle_dir), tmp_path_factory.mktemp("stack") / "stack.log") as s:
        yield s


@pytest.fixture
def own_stack(bundle_dir, tmp_path) -> Iterator[Stack]:
    """A stack of the test's own, for tests that break it."""
    with run_stack(Path(bundle_dir), tmp_path / "stack.log") as s:
        yield s
