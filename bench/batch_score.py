"""Batch scoring of 1,000,000 raw rows: ``python -m ml score`` against a plain pandas script, and
``ml score --explain`` against plain ``ml score``, same run.

    .venv/bin/python bench/run.py --only score          # the section, as make bench runs it
    .venv/bin/python bench/batch_score.py --pandas IN OUT MODEL   # the baseline alone

The input is the real churn.txt (``../shared/data/churn.txt``; synthetic rows when it is
absent) repeated to 1,000,000 rows, without the label column (what a team scores). The
baseline is what one would write by hand: ``read_csv``, one-hot with pandas, the same
derived features, ``inplace_predict``, ``to_csv``; it validates nothing. Each run is a fresh
process (imports included) and its peak RSS comes from ``wait4``; the three alternate, so
load on the machine hits them alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ROWS = 1_000_000
REAL = ROOT.parent / "shared" / "data" / "churn.txt"


def make_input(path: Path, rows: int = ROWS) -> Path:
    """churn.txt (or synthetic rows) repeated to ``rows`` rows, label dropped; built once."""
    if path.is_file():
        return path
    sys.path.insert(0, str(ROOT))
    from ml.data import raw_schema as rs
    from ml.data.dataset import to_csv_bytes
    from ml.data.synthetic import generate

    raw = REAL.read_bytes() if REAL.is_file() else to_csv_bytes(generate(3333, seed=42))
    header, *lines = [line for line in raw.decode().splitlines() if line]
    label_at = header.split(",").index(rs.LABEL)
    drop = lambda line: ",".join(c for i, c in enumerate(line.split(",")) if i != label_at)  # noqa: E731
    body = [drop(line) for line in lines]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(drop(header) + "\n")
        for start in range(0, rows, len(body)):
            out.write("\n".join(body[: min(len(body), rows - start)]) + "\n")
    os.replace(tmp, path)
    return path


def timed(command: list[str]) -> dict[str, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1)}


def bench_score(model: Path, scratch: Path, repeats: int) -> dict[str, Any]:
    source = make_input(scratch / "score_1m.csv")
    ours_out, pandas_out = scratch / "score_ours.csv", scratch / "score_pandas.csv"
    explained_out = scratch / "score_explained.csv"
    ours = [sys.executable, "-m", "ml", "score", "--model", str(model), "--input", str(source)]
    baseline = [sys.executable, str(Path(__file__).resolve()), "--pandas", str(source), str(pandas_out), str(model)]
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "explained": [], "pandas": []}
    for _ in range(repeats):
        runs["ours"].append(timed([*ours, "--output", str(ours_out)]))
        runs["explained"].append(timed([*ours, "--output", str(explained_out), "--explain"]))
        runs["pandas"].append(timed(baseline))
    for out in (ours_out, explained_out):
        with open(out, "rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        if lines != ROWS + 1:
            raise RuntimeError(f"{out}: {lines} lines, expected {ROWS + 1}")
    med = {k: _median(v) for k, v in runs.items()}
    pairs = zip(runs["explained"], runs["ours"], strict=True)
    return {
        "rows": ROWS,
        "input_mb": round(source.stat().st_size / 1e6, 1),
        "ours": med["ours"],
        "pandas": med["pandas"],
        "ratio": round(med["ours"]["seconds"] / med["pandas"]["seconds"], 2),
        "explained": med["explained"],
        # Per pair of runs made one after the other, then the median: load moves both alike.
        "explain_ratio": round(statistics.median(e["seconds"] / o["seconds"] for e, o in pairs), 2),
        "explain_peak_ratio": round(med["explained"]["peak_mb"] / med["ours"]["peak_mb"], 2),
        "runs": runs,
        "load": round(os.getloadavg()[0], 2),
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def pandas_baseline(source: Path, target: Path, model: Path) -> None:
    """The plain script: no validation, pandas one-hot, the same model and cutoff."""
    import tarfile

    import numpy as np
    import pandas as pd
    import xgboost as xgb

    schema = json.loads((model / "feature_schema.json").read_text())
    with tarfile.open(model / "model.tar.gz") as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster()
        booster.load_model(bytearray(member.read()))
    frame = pd.read_csv(source, dtype={"Area Code": str})
    encoded = frame.copy()
    for name, spec in schema["fields"].items():
        if spec["kind"] == "category":
            encoded[name] = encoded[name].astype(pd.CategoricalDtype(spec["values"]))
    for derived in schema["derived"]:
        encoded[derived["name"]] = sum(w * encoded[s] for s, w in derived["weights"].items())
    sources = list(dict.fromkeys(c["source"] for c in schema["columns"]))
    columns = [c["name"] for c in schema["columns"]]
    x = pd.get_dummies(encoded[sources], dtype=np.float32)[columns].to_numpy(np.float32)
    scores = booster.inplace_predict(x, validate_features=False).astype(np.float64)
    frame["churn_probability"] = scores
    frame["will_churn"] = scores >= schema["decision"]["cutoff"]
    frame.to_csv(target, index=False)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--pandas":
        pandas_baseline(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(__doc__)
