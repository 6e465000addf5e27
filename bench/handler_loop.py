"""The Lambda handler called in a loop in one fresh process: ``POST /predict`` without the HTTP front.

    .venv/bin/python bench/handler_loop.py MODEL_DIR MODEL_URL BODY_FILE [SECONDS]

Prints JSON: calls per second on one thread (boto3 -> the model server at MODEL_URL, which
runs elsewhere) and the CPU ms one call costs in this process: what the adapter cannot go
below per request.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.serving import local_stack as stack
from ml.serving.stack_adapter import api_gateway_event, load_handler


def main() -> int:
    model_dir, model_url, body_file = (
        Path(sys.argv[1]).resolve(),
        sys.argv[2],
        Path(sys.argv[3]),
    )
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    os.environ.update(stack.handler_environment(model_dir, model_url, "http://127.0.0.1"))
    handler = load_handler()
    body = body_file.read_bytes()
    scope = {
        "method": "POST",
        "path": "/predict",
        "headers": [(b"content-type", b"application/json")],
    }
    context = types.SimpleNamespace(aws_request_id="bench", get_remaining_time_in_millis=lambda: 29_000)

    def call() -> None:
        result = handler(api_gateway_event(scope, body), context)
        if result["statusCode"] != 200:
            raise RuntimeError(result)

    for _ in range(100):
        call()
    gc.collect()
    gc.freeze()  # as the adapter does after its warm-up
    n, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        call()
        n += 1
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"rps": n / wall, "cpu_ms": used * 1000 / n, "calls": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
