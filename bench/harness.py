"""Helpers of the ``make bench`` sections: processes on loopback, wrk runs, CPU accounting, medians.

Nothing here knows what is measured; ``bench/run.py`` and its section modules decide that.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
LUA_POST = ROOT / "bench" / "lua" / "post.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OUT = ROOT / "build" / "bench"  # every section's scratch: bodies, bundles, logs, the zip
MODEL = OUT / "model"  # the bundle the serving sections load; the pipeline section builds it


def load() -> float:
    """The 1-minute load average: other jobs on the machine make every figure noisier."""
    return round(os.getloadavg()[0], 2)


def log(message: str) -> None:
    print(
        f"[bench {time.strftime('%H:%M:%S')} load {load():.2f}] {message}",
        file=sys.stderr,
        flush=True,
    )


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """``command`` run on one core (``taskset``) when the machine has more than one."""
    if cpu is None or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        return command
    return ["taskset", "-c", str(cpu), *command]


def start(command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.Popen:
    """A child in its own session (so ``stop`` can end it and everything it started)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,
        )


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM to the child's process group (only what ``start`` started), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):  # grandchildren (a model server) go too
        os.killpg(proc.pid, signal.SIGKILL)


def wait_200(
    url: str,
    proc: subprocess.Popen | None = None,
    timeout: float = 120.0,
    poll: float = 0.05,
) -> float:
    """Seconds until ``url`` answers 200 (raises if the process dies or time runs out)."""
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  (loopback URLs of our own servers)
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(poll)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


# -- CPU time of processes ---------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores, ``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS  # minus idle and iowait


def children_seconds() -> float:
    """CPU seconds of this process's finished children (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# -- wrk -----------------------------------------------------------------------------------------
def wrk(
    url: str,
    body: Path,
    content_type: str,
    connections: int,
    seconds: float,
    cpu: int | None = None,
    accept: str | None = None,
) -> dict:
    """One closed-loop wrk run (``connections`` keep-alive connections, one thread): requests/s,
    latency percentiles in ms and error counts, from the JSON line ``bench/lua/post.lua`` prints.
    ``accept``: the requests' Accept header (none by default)."""
    command = pinned(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_POST),
            url,
        ],
        cpu,
    )
    env = {
        **os.environ,
        "BENCH_BODY_FILE": str(body),
        "BENCH_CONTENT_TYPE": content_type,
        **({"BENCH_ACCEPT": accept} if accept else {}),
    }
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + 60,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.split(" ", 1)[1])
    seconds_run = data["duration_us"] / 1e6
    return {
        "rps": data["requests"] / seconds_run,
        "requests": data["requests"],
        "p50_ms": data["latency_us"]["p50"] / 1000,
        "p90_ms": data["latency_us"]["p90"] / 1000,
        "p99_ms": data["latency_us"]["p99"] / 1000,
        "max_ms": data["latency_us"]["max"] / 1000,
        "errors": sum(data["errors"].values()),
    }


def wrk_repeated(url, body, content_type, connections, seconds, repeats, cpu=None, pids=()) -> dict:
    """``repeats`` wrk runs; medians of each figure, CPU ms per request of ``pids`` (a mapping
    name -> list of pids) and of wrk, over all runs, and the CPU that OTHER processes used
    meanwhile (machine busy time minus ours, in % of one core: the noise of the figures)."""
    wrk(url, body, content_type, connections, 1, cpu)  # warm-up: connections, lazy imports
    runs, loads = [], []
    before = {name: sum(cpu_seconds(p) for p in group) for name, group in dict(pids).items()}
    busy0, wrk0, self0, wall0 = (
        busy_seconds(),
        children_seconds(),
        time.process_time(),
        time.perf_counter(),
    )
    for _ in range(repeats):
        loads.append(load())
        runs.append(wrk(url, body, content_type, connections, seconds, cpu))
    wall = time.perf_counter() - wall0
    total = sum(r["requests"] for r in runs)
    used = {name: sum(cpu_seconds(p) for p in group) - before[name] for name, group in dict(pids).items()}
    used["wrk"] = children_seconds() - wrk0
    cpu_ms = {name: round(seconds_used * 1000 / max(total, 1), 3) for name, seconds_used in used.items()}
    ours = sum(used.values()) + time.process_time() - self0
    other_pct = round(max(busy_seconds() - busy0 - ours, 0.0) / wall * 100, 1)
    summary = {key: median([r[key] for r in runs]) for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")}
    return {
        **summary,
        "connections": connections,
        "seconds_per_run": seconds,
        "runs": runs,
        "errors": sum(r["errors"] for r in runs),
        "cpu_ms_per_request": cpu_ms,
        "other_cpu_pct": other_pct,
        "load": loads,
    }


# -- an earlier commit, for a side-by-side run ----------------------------------------------------
def before_tree(rev: str) -> Path:
    """A work tree of ``rev`` under build/bench (made once per commit), and in build/bench/before-site
    the distributions its pyproject asks for that this virtualenv lacks (installed by uv, no deps:
    everything else is shared), so that its ``python -m ml serve`` runs with our interpreter."""
    import tomllib
    from importlib import metadata

    commit = subprocess.run(["git", "rev-parse", "--verify", rev + "^{commit}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    tree = OUT / f"before-{commit[:12]}"
    if not (tree / "ml").is_dir():
        subprocess.run(["git", "worktree", "add", "--force", "--detach", str(tree), commit], cwd=ROOT, check=True)
    wanted = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["dependencies"]
    missing = []
    for requirement in wanted:
        name = requirement.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip()
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(requirement.split(";")[0].strip())
    site = OUT / "before-site"
    if missing:
        uv = shutil.which("uv") or str(ROOT / ".venv-uv" / "bin" / "uv")  # make's, unless CI put one on PATH
        install = [uv, "pip", "install", "--quiet", "--no-deps", "--python", PY, "--target", str(site)]
        subprocess.run([*install, *missing], check=True)
    log(f"before: {commit[:12]} in {tree}; installed for it: {missing or 'nothing'}")
    return tree
