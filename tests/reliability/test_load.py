"""50 concurrent clients against the local stack: no error, no drop, every answer right.

``make test`` runs it for 4 s, ``make bench`` for 30 s (``CHURN_LOAD_SECONDS``): the same clients
and checks, so the short run catches what the long one would, short of slow leaks.

Each client is a thread with its own keep-alive connection; it sends one of a few customers
and checks the answer against the model scored in this process (same probability to 1e-6,
``will_churn`` at the cutoff). A request that fails to get an answer (reset, timeout) is a
drop. The throughput and latency seen are printed (``-s``), not asserted: the machine's other
work moves them; ``make bench`` measures them.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from urllib.parse import urlsplit

import numpy as np
import pytest

from ml.features.encoder import FeatureEncoder
from ml.serving.model_server import Scorer, load_booster

from .conftest import CHURNER, LOYAL

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CLIENTS = 50
SECONDS = float(os.environ.get("CHURN_LOAD_SECONDS", "4"))


def customers():
    return [
        CHURNER,
        LOYAL,
        {**CHURNER, "Int'l Plan": "no", "CustServ Calls": 0},
        {**LOYAL, "Day Mins": 340.5, "CustServ Calls": 5},
        [CHURNER, LOYAL],
    ]


def test_fifty_clients_sustained(live_stack, bundle_dir, cutoff):
    schema = json.loads((bundle_dir / "feature_schema.json").read_text())
    encoder, scorer = FeatureEncoder(schema), Scorer(load_booster(bundle_dir))
    payloads = []
    for item in customers():
        records = item if isinstance(item, list) else [item]
        expected = scorer.predict(np.array([encoder.encode(r) for r in records], dtype=np.float64))
        payloads.append((json.dumps(item).encode(), expected))

    target = urlsplit(live_stack["base"])
    lock = threading.Lock()
    totals = {"sent": 0, "ok": 0}
    wrong: list[str] = []
    dropped: list[str] = []
    latencies: list[float] = []
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        mine, ok, times = 0, 0, []
        start.wait()
        i = index
        while time.monotonic() < stop_at[0]:
            body, expected = payloads[i % len(payloads)]
            i += 1
            mine += 1
            t = time.perf_counter()
            try:
                conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as err:
                with lock:
                    dropped.append(f"{type(err).__name__}: {err}")
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                continue
            times.append(time.perf_counter() - t)
            problem = check(response.status, raw, expected, cutoff)
            if problem:
                with lock:
                    wrong.append(problem)
            else:
                ok += 1
        conn.close()
        with lock:
            totals["sent"] += mine
            totals["ok"] += ok
            latencies.extend(times)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + SECONDS
    start.wait()
    for t in threads:
        t.join(SECONDS + 60)
    assert not any(t.is_alive() for t in threads), "a client is stuck"

    latencies.sort()
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    print(
        f"\n{CLIENTS} clients, {SECONDS:.0f} s: {totals['sent']} requests ({totals['sent'] / SECONDS:.0f}/s), "
        f"{totals['ok']} right, {len(wrong)} wrong, {len(dropped)} dropped; p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )
    assert not dropped, dropped[:5]
    assert not wrong, wrong[:5]
    assert totals["ok"] == totals["sent"] > CLIENTS * 10
    assert live_stack["proc"].poll() is None


def check(status: int, raw: bytes, expected: list[float], cutoff: float) -> str | None:
    if status != 200:
        return f"status {status}: {raw[:200]!r}"
    try:
        answer = json.loads(raw)
        predictions = answer["predictions"]
        if answer["cutoff"] != cutoff or len(predictions) != len(expected):
            return f"wrong shape: {raw[:200]!r}"
        for got, want in zip(predictions, expected, strict=True):
            p = got["churn_probability"]
            if abs(p - want) > 1e-6 or got["will_churn"] is not (p >= cutoff):
                return f"wrong prediction {got} (expected {want})"
    except (ValueError, KeyError, TypeError):
        return f"not a prediction: {raw[:200]!r}"
    return None
