"""Run ``python -m ml …`` in a child and read its own peak memory.

``ru_maxrss`` from ``wait4`` is no good here: at exec Linux carries the forking parent's
high-water mark into the child's figure, so a busy pytest worker's memory would count.
The child reads its ``VmHWM`` (this process image only) as it exits, even through
``SystemExit``, and leaves it in a file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_ml_with_peak(
    args: list[str], scratch: Path, timeout: float = 300
) -> tuple[subprocess.CompletedProcess[str], int]:
    """``python -m ml *args`` from the repository root; returns the run and its peak RSS in KiB."""
    report = scratch / "vmhwm"
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['ml', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('ml', run_name='__main__')\n"
        "finally:\n"
        "    peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
        f"    open({str(report)!r}, 'w').write(peak.split()[1])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return run, int(report.read_text())
