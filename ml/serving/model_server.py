"""Model server with the SageMaker built-in XGBoost container's HTTP contract.

``GET /ping``, ``POST /invocations`` (``text/csv`` without header or label, ``text/libsvm``)
and the SageMaker runtime API path ``POST /endpoints/{name}/invocations``, so that an
unmodified ``boto3.client("sagemaker-runtime", endpoint_url=...)`` (or one with
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` set) reaches it.

Parsing, prediction and the request limits are in ``ml.serving.invocations``; the HTTP/1.1
server (header deadline, connection bounds) in ``ml.serving.http1``. This module is the app:
routing, reading the body within its limits and deadline, and where the work runs.

Nothing heavy runs on the event loop. Small bodies (one to a few rows, the common case) go
to one predictor thread that parses them and scores everything queued in one
``Booster.inplace_predict`` call: its Python wrapper costs ~0.3 ms a call whatever the rows,
so under load many requests share one call. Large bodies (over ``SMALL_BODY_BYTES``) are
read and scored on a lane of their own, at most ``LARGE_AT_ONCE`` at a time, so a big
request never holds up the small ones and memory stays bounded. Errors answer JSON
``{"error": message}`` and log one line; only a bug (a 500) logs a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import json
import logging
import os
import queue
import re
import signal
import tarfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from ml.serving.http1 import Message, ServerLimits, serve
from ml.serving.invocations import (
    BodyGuard,
    RequestError,
    Scorer,
    accept_type,
    encode,
    load_booster,
    request_type,
)

__all__ = ["ModelApp", "RequestError", "Scorer", "create_app", "load_booster", "main"]

LOG = logging.getLogger("ml.serving.model_server")
SMALL_BODY_BYTES = 16 * 1024  # ~80 rows: parsed and scored on the shared predictor thread
LARGE_AT_ONCE = 2  # large bodies read and scored at once; the others wait, unread (flow control)
BATCH_REQUESTS = 64  # small requests scored in one predict call, at most
_RUNTIME_PATH = re.compile(r"^/endpoints/([A-Za-z0-9](?:-*[A-Za-z0-9])*)/invocations$")
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _ClientGone(Exception):
    pass


class _Batcher:
    """One thread: parse the queued small bodies, score them all in one call, answer each on its loop."""

    def __init__(self, scorer: Scorer):
        self.scorer = scorer
        self._queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], bytes, str | None]]
        self._queue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, body: bytes, content_type: str | None) -> asyncio.Future[list[float]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[float]] = loop.create_future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="predictor", daemon=True)
                self._thread.start()
        self._queue.put((loop, future, body, content_type))
        return future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH_REQUESTS:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            outcomes: list[Any] = []  # per request: its matrix, then its scores; or its error
            for _, _, body, content_type in batch:
                try:
                    outcomes.append(self.scorer.parse(body, content_type))
                except Exception as err:
                    outcomes.append(err)
            matrices = [o for o in outcomes if isinstance(o, np.ndarray)]
            try:
                scores = self.scorer.predict(np.vstack(matrices)) if matrices else []
                start = 0
                for i, outcome in enumerate(outcomes):
                    if isinstance(outcome, np.ndarray):
                        outcomes[i], start = scores[start : start + len(outcome)], start + len(outcome)
            except Exception as err:  # a bug, not the clients': every request of the batch gets it
                outcomes = [o if isinstance(o, Exception) else err for o in outcomes]
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
            for (loop, future, _, _), result in zip(batch, outcomes, strict=True):
                by_loop.setdefault(loop, []).append((future, result))
            for loop, answers in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these answers
                    loop.call_soon_threadsafe(_deliver, answers)  # one wake-up per loop and batch


def _deliver(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in answers:
        if not future.done():
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


class ModelApp:
    """Raw ASGI application around a :class:`Scorer`."""

    def __init__(self, scorer: Scorer, body_timeout: float = 30.0):
        self.scorer, self.limits, self.body_timeout = scorer, scorer.limits, body_timeout
        self._batcher = _Batcher(scorer)
        self._large = concurrent.futures.ThreadPoolExecutor(LARGE_AT_ONCE, thread_name_prefix="large-request")
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None  # one loop in a server

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan or websocket events: nothing to do
            return
        path, method = scope["path"], scope["method"]
        runtime = path != "/invocations" and path != "/ping" and _RUNTIME_PATH.match(path) is not None
        try:
            if path == "/ping":
                if method not in ("GET", "HEAD"):
                    raise RequestError(405, "method not allowed: GET /ping")
                return await _respond(send, 200, b"", "text/plain")
            if path != "/invocations" and not runtime:
                raise RequestError(404, "not found: POST /invocations or /endpoints/{name}/invocations")
            if method != "POST":
                raise RequestError(405, "method not allowed: POST")
            payload, out_type = await self._invoke(scope, receive)
        except RequestError as err:
            LOG.info("%d %s %s: %s", err.status, method, path[:200], err.message)
            return await _error(send, err.status, err.message, runtime)
        except _ClientGone:
            LOG.info("client closed the connection during %s %s", method, path[:200])
            return None
        except Exception as err:
            LOG.exception("500 %s %s: prediction failed", method, path[:200])
            return await _error(send, 500, f"prediction failed: {type(err).__name__}", runtime)
        extra = [(b"x-amzn-invoked-production-variant", b"AllTraffic")] if runtime else []
        await _respond(send, 200, payload, out_type, extra)

    async def _invoke(self, scope: dict[str, Any], receive: Receive) -> tuple[bytes, str]:
        content_type = accept = length = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        out_type = accept_type(accept)  # 406, 415 and 413 before a byte of the body is read
        request_type(content_type)
        if length is not None and length.isdigit() and int(length) > self.limits.max_body_bytes:
            raise RequestError(413, f"request body over {self.limits.max_body_bytes} bytes")
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(LARGE_AT_ONCE))
        gate, holding, state = self._gate[1], False, {"waiting": False}
        try:
            async with asyncio.timeout(self.body_timeout):
                body, holding = await self._read_body(receive, gate, state)
            if len(body) <= SMALL_BODY_BYTES:
                scores = await self._batcher.submit(body, content_type)
            else:
                scores = await loop.run_in_executor(self._large, self._score, body, content_type)
        except TimeoutError:
            if state["waiting"]:
                raise RequestError(503, "busy with other large requests: retry, or send fewer rows") from None
            raise RequestError(408, f"request body not received within {self.body_timeout:g} s") from None
        finally:
            if holding:
                gate.release()
        return encode(scores, out_type), out_type

    async def _read_body(self, receive: Receive, gate: asyncio.Semaphore, state: dict[str, bool]) -> tuple[bytes, bool]:
        """The body, checked chunk by chunk; past ``SMALL_BODY_BYTES`` only with a large-lane slot."""
        guard, chunks, holding = BodyGuard(self.limits), [], False
        more = True
        try:
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone
                chunk = message.get("body", b"")
                more = bool(message.get("more_body"))
                guard.feed(chunk)
                chunks.append(chunk)
                if not holding and guard.size > SMALL_BODY_BYTES:
                    state["waiting"] = True
                    await gate.acquire()  # meanwhile nothing is read: the server pauses this socket
                    holding, state["waiting"] = True, False
        except BaseException:
            if holding:
                gate.release()
            raise
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), holding

    def _score(self, body: bytes, content_type: str | None) -> list[float]:
        return self.scorer.predict(self.scorer.parse(body, content_type))


async def _respond(send: Send, status: int, body: bytes, content_type: str, extra: Any = ()) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, status: int, message: str, runtime: bool) -> None:
    """``{"error": message}``; on the runtime API path, what SageMaker answers when a container fails."""
    if not runtime:
        return await _respond(send, status, json.dumps({"error": message}).encode(), "application/json")
    kind = "client" if status < 500 else "server"
    body = json.dumps(
        {
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "Message": f'Received {kind} error ({status}) from primary with message "{message}". ',
            "OriginalMessage": message,
            "OriginalStatusCode": status,
        }
    ).encode()
    await _respond(send, 424, body, "application/json", [(b"x-amzn-errortype", b"ModelError:")])


def create_app(model_dir: str | Path, body_timeout: float = 30.0) -> ModelApp:
    """The ASGI app for a model bundle directory (tests and benchmarks use this)."""
    return ModelApp(Scorer.from_dir(model_dir), body_timeout)


def _seconds(name: str, default: float) -> float:
    """A timeout from the environment (tests shorten them), else ``default``."""
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: expected a number of seconds") from None
    if not value > 0:
        raise SystemExit(f"{name}={raw!r}: expected a number of seconds above 0")
    return value


def main(args: Any) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    limits = ServerLimits(header_timeout=_seconds("MODEL_SERVER_HEADER_TIMEOUT", ServerLimits.header_timeout))
    body_timeout = _seconds("MODEL_SERVER_BODY_TIMEOUT", 30.0)
    try:
        app = create_app(args.model, body_timeout)
    except (OSError, ValueError, tarfile.TarError, xgb.core.XGBoostError) as err:
        LOG.error("cannot load the model from %s: %s", args.model, err)
        return 1
    gc.collect()
    gc.freeze()  # the loaded libraries and model are permanent: keep them out of GC passes
    LOG.info(
        "model server: %s (%d features) on http://%s:%d (/ping, /invocations, /endpoints/{name}/invocations); "
        "limits: body %d bytes, %d rows, lines of %d bytes; headers within %g s, body within %g s",
        Path(args.model) / "model.tar.gz",
        app.scorer.width,
        args.host,
        args.port,
        app.limits.max_body_bytes,
        app.limits.max_rows,
        app.limits.max_line_bytes,
        limits.header_timeout,
        body_timeout,
    )

    async def run() -> None:
        stopped = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stopped.set)
        await serve(app, args.host, args.port, limits, stopped)

    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())
    return 0
