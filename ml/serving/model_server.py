"""Model server with the SageMaker built-in XGBoost container's HTTP contract.

``GET /ping``, ``POST /invocations`` (``text/csv`` without header or label, ``text/libsvm``)
and the SageMaker runtime API path ``POST /endpoints/{name}/invocations``, so that an
unmodified ``boto3.client("sagemaker-runtime", endpoint_url=...)`` (or one with
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` set) reaches it.

Parsing, prediction and the request limits are in ``ml.serving.inference``. The HTTP/1.1
server is Granian (hyper's HTTP/1 in Rust), as for the local stack; its configuration, in
``main``, holds the bounds that belong to a connection: a deadline for a request's headers
that also closes idle keep-alive connections, the size of headers and of each connection's
read buffer (pipelined requests wait there, unread). This module is the app: routing, reading
the body within its limits, and where the work runs.

Small bodies (one to a few rows, the common case) that arrive in the same turn of the event
loop are parsed and scored there in one ``Booster.inplace_predict`` call: its Python wrapper
costs ~0.3 ms a call whatever the rows, so under load many requests share one call; a turn
takes at most ``BATCH_BYTES`` of them. Large bodies (over ``SMALL_BODY_BYTES``) are
scored on a lane of their own, at most ``LARGE_AT_ONCE`` at a time, so a big request never
holds up the small ones. A body is read whole before it waits for that lane, so a slow sender
holds no scoring slot; bodies being read or waiting share one byte budget
(``BODY_BUDGET_BYTES``, a 503 past it), and a large body must keep arriving (``STALL_SECONDS``
between chunks, ``MIN_BYTES_PER_SECOND`` on average): a client that trickles one holds at most
what it sent, for seconds. Errors answer JSON ``{"error": message}`` and log one line without
any value from the request; only a bug (a 500) logs a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import gc
import json
import logging
import os
import re
import signal
import tarfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from ml.model.bundle import MODEL_ARCHIVE, load_archive
from ml.serving.asgi_body import DRAIN_BYTES, DRAIN_SECONDS, drain
from ml.serving.inference import (
    EXPLAIN_TYPE,
    BodyGuard,
    Explanations,
    RequestError,
    Scorer,
    accept_type,
    encode,
    request_type,
)

__all__ = ["ModelApp", "RequestError", "Scorer", "app_from_environment", "create_app", "load_booster", "main"]

LOG = logging.getLogger("ml.serving.model_server")
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
SMALL_BODY_BYTES = 16 * 1024  # ~80 rows: parsed and scored on the shared predictor thread
LARGE_AT_ONCE = 2  # large bodies read and scored at once; the others wait, unread (flow control)
BATCH_REQUESTS = 64  # small requests scored in one predict call, at most
BATCH_BYTES = 256 * 1024  # of small bodies parsed in one turn of the event loop (a few ms)
BODY_BUDGET_BYTES = 64 * 1024 * 1024  # bodies being read or waiting to be scored, all requests together
STALL_SECONDS = 5.0  # a large body's next chunk must come within this
MIN_BYTES_PER_SECOND = 64 * 1024  # a large body's average rate once GRACE_SECONDS have passed
GRACE_SECONDS = 2.0
HEADER_TIMEOUT_SECONDS = 10.0  # headers of a request, and the idle time between requests
MAX_HEADER_BYTES = 16 * 1024  # hyper's read buffer per connection: request line + headers must fit
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
MODEL_DIR_ENV = "CHURN_MODEL_SERVER_DIR"  # how main hands the bundle to the Granian worker
_RUNTIME_PATH = re.compile(r"^/endpoints/([A-Za-z0-9](?:-*[A-Za-z0-9])*)/invocations$")
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def load_booster(model_dir: str | Path) -> xgb.Booster:
    """The bundle's booster (``ml.model.bundle.load_archive`` refuses what the container would)."""
    booster = load_archive(Path(model_dir) / MODEL_ARCHIVE)
    booster.set_param("nthread", "1")  # one core per prediction, as the container sets
    return booster


class _BodyBudget:
    """Bytes of request bodies held in memory (read so far, or waiting to be scored), all requests.

    One event loop per server, so no lock: every change happens on it."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0

    def take(self, n: int) -> None:
        if self.used + n > self.limit:
            raise RequestError(503, "busy with other large requests: retry, or send fewer rows")
        self.used += n

    def give_back(self, n: int) -> None:
        self.used -= n


Result = list[float] | Explanations


class _Batcher:
    """Small bodies that arrive within one turn of the event loop, parsed and scored together.

    On the loop itself: Granian hands each request to the loop from its Rust thread, and a hop to
    a predictor thread and back cost more than the work (4,850 vs 6,900 req/s at 16 connections
    on one core, docs/performance.md). A turn scores at most ``BATCH_BYTES`` of bodies (a few ms);
    the rest waits for the next turn, so /ping and new requests get in between. Requests that
    ask for explanations share one ``pred_contribs`` call, the others one ``inplace_predict``."""

    def __init__(self, scorer: Scorer):
        self.scorer = scorer
        self._pending: list[tuple[asyncio.Future[Result], bytes, str | None, bool]] = []

    def submit(self, body: bytes, content_type: str | None, explain: bool = False) -> asyncio.Future[Result]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._score_pending)
        self._pending.append((future, body, content_type, explain))
        return future

    def _score_pending(self) -> None:
        size, taken = 0, 0
        while taken < len(self._pending) and taken < BATCH_REQUESTS and (not taken or size < BATCH_BYTES):
            size += len(self._pending[taken][1])
            taken += 1
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        if self._pending:
            asyncio.get_running_loop().call_soon(self._score_pending)
        outcomes: list[Any] = []  # per request: its matrix, then its result; or its error
        for _, body, content_type, _ in batch:
            try:
                outcomes.append(self.scorer.parse(body, content_type))
            except Exception as err:
                outcomes.append(err)
        for explain in (False, True):
            lane = [i for i, (_, _, _, e) in enumerate(batch) if e is explain and isinstance(outcomes[i], np.ndarray)]
            if not lane:
                continue
            try:
                rows = np.vstack([outcomes[i] for i in lane])
                results: Any = self.scorer.explain(rows) if explain else self.scorer.predict(rows)
                start = 0
                for i in lane:
                    n = len(outcomes[i])
                    outcomes[i] = results.rows(start, start + n) if explain else results[start : start + n]
                    start += n
            except Exception as err:  # a bug, not the clients': every request of the lane gets it
                for i in lane:
                    outcomes[i] = err
        _deliver([(future, result) for (future, *_), result in zip(batch, outcomes, strict=True)])


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
        # The large lane's queue is this pool's: every body in it is already counted in the budget.
        self._large = concurrent.futures.ThreadPoolExecutor(LARGE_AT_ONCE, thread_name_prefix="large-request")
        self._budget = _BodyBudget(BODY_BUDGET_BYTES)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no lifespan or websocket events: nothing to do
            return
        path, method = scope["path"], scope["method"]
        runtime = path != "/invocations" and path != "/ping" and _RUNTIME_PATH.match(path) is not None
        read = [False]  # whether the whole body has been received
        try:
            if path == "/ping":
                if method not in ("GET", "HEAD"):
                    raise RequestError(405, "method not allowed: GET /ping")
                return await _respond(send, 200, b"", "text/plain")
            if path != "/invocations" and not runtime:
                raise RequestError(404, "not found: POST /invocations or /endpoints/{name}/invocations")
            if method != "POST":
                raise RequestError(405, "method not allowed: POST")
            payload, out_type = await self._invoke(scope, receive, read)
        except RequestError as err:
            # The route, never the request's path: a path, like a field, may hold what a client typed.
            LOG.info("%d %s %s: %s", err.status, method, _route(path, runtime), err.reason)
            await _error(send, err.status, err.message, runtime)
            if not read[0] and err.status != 408:  # a sender of a refused body reads the answer, not a reset
                await drain(receive, time.monotonic() + DRAIN_SECONDS, DRAIN_BYTES)
            return None
        except Exception as err:
            LOG.exception("500 %s %s: prediction failed", method, _route(path, runtime))
            return await _error(send, 500, f"prediction failed: {type(err).__name__}", runtime)
        extra = [(b"x-amzn-invoked-production-variant", b"AllTraffic")] if runtime else []
        await _respond(send, 200, payload, out_type, extra)

    async def _invoke(self, scope: dict[str, Any], receive: Receive, read: list[bool]) -> tuple[bytes, str]:
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
        if _length(length) > self.limits.max_body_bytes:
            raise RequestError(413, f"request body over {self.limits.max_body_bytes} bytes")
        held = 0
        try:
            try:
                async with asyncio.timeout(self.body_timeout):
                    body, held = await self._read_body(receive, read, large=_length(length) > SMALL_BODY_BYTES)
            except TimeoutError:
                raise RequestError(408, f"request body not received within {self.body_timeout:g} s") from None
            explain = out_type == EXPLAIN_TYPE
            if len(body) <= SMALL_BODY_BYTES:
                result = await self._batcher.submit(body, content_type, explain)
            else:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self._large, self._score, body, content_type, explain)
        finally:
            self._budget.give_back(held)
        return encode(result, out_type), out_type

    async def _read_body(self, receive: Receive, read: list[bool], large: bool) -> tuple[bytes, int]:
        """The body, checked chunk by chunk, and the budget it holds (returned or given back here).

        A large body (announced, or grown past ``SMALL_BODY_BYTES``) must keep arriving, and
        its chunks count in the shared budget; nothing here waits for a scoring slot."""
        guard, chunks, held, more = BodyGuard(self.limits), [], 0, True
        started = time.monotonic()
        try:
            while more:
                if large:  # stalls and trickles end it
                    try:
                        async with asyncio.timeout(STALL_SECONDS):
                            message = await receive()
                    except TimeoutError:
                        raise RequestError(408, f"request body stalled for {STALL_SECONDS:g} s") from None
                else:
                    message = await receive()
                if message["type"] == "http.disconnect":
                    # Granian reports a body it cannot read (a bad chunk, a cut) as a disconnect:
                    # the answer still reaches a client that is there.
                    raise RequestError(400, "request body malformed or cut short")
                chunk, more = message.get("body", b""), bool(message.get("more_body"))
                read[0] = not more
                guard.feed(chunk)
                chunks.append(chunk)
                large = large or guard.size > SMALL_BODY_BYTES
                if large:
                    grow = guard.size - held
                    self._budget.take(grow)
                    held += grow
                    elapsed = time.monotonic() - started
                    if elapsed > GRACE_SECONDS and guard.size < MIN_BYTES_PER_SECOND * elapsed:
                        raise RequestError(408, f"request body arriving at under {MIN_BYTES_PER_SECOND} bytes/s")
        except BaseException:
            self._budget.give_back(held)
            raise
        return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), held

    def _score(self, body: bytes, content_type: str | None, explain: bool) -> Result:
        rows = self.scorer.parse(body, content_type)
        return self.scorer.explain(rows) if explain else self.scorer.predict(rows)


def _length(header: bytes | None) -> int:
    """A ``Content-Length`` header's value; 0 when absent (chunked) or not digits (hyper refuses those)."""
    return int(header) if header is not None and header.isdigit() else 0


def _route(path: str, runtime: bool) -> str:
    return "/endpoints/{name}/invocations" if runtime else path if path in ("/ping", "/invocations") else "(other)"


async def _respond(send: Send, status: int, body: bytes, content_type: str, extra: Any = ()) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    except OSError:  # the client is gone (Granian's ClientDisconnected is one): nobody to answer
        LOG.info("client gone before its %d answer", status)


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
    return ModelApp(Scorer(load_booster(model_dir)), body_timeout)


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


def _die_with_parent() -> None:
    """Linux: this worker is killed when Granian's main process dies, even by SIGKILL, rather than
    serving on as an orphan that holds the port (a supervisor, or a test, kills the pid it started)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):  # not Linux: an orphan stays until stopped by hand
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def app_from_environment() -> ModelApp:
    """Granian's factory, run in its worker process: the bundle ``main`` named, loaded once."""
    _die_with_parent()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, force=True)  # Granian configured its own
    model_dir = Path(os.environ[MODEL_DIR_ENV])
    body_timeout = _seconds("MODEL_SERVER_BODY_TIMEOUT", 30.0)
    try:
        app = create_app(model_dir, body_timeout)
    except (OSError, ValueError, tarfile.TarError, xgb.core.XGBoostError) as err:
        LOG.error("cannot load the model from %s: %s", model_dir, err)
        raise SystemExit(1) from None  # the worker exits; Granian then stops with code 1
    gc.collect()
    gc.freeze()  # the loaded libraries and model are permanent: keep them out of GC passes
    LOG.info(
        "model server: %s (%d features) on http://%s (/ping, /invocations, /endpoints/{name}/invocations); "
        "limits: body %d bytes, %d rows, lines of %d bytes, body within %g s; bodies held %d bytes in all",
        model_dir / "model.tar.gz",
        app.scorer.width,
        os.environ.get("CHURN_MODEL_SERVER_ADDRESS", "?"),
        app.limits.max_body_bytes,
        app.limits.max_rows,
        app.limits.max_line_bytes,
        body_timeout,
        BODY_BUDGET_BYTES,
    )
    return app


def main(args: Any) -> int:
    """Granian with one worker process, public options of ``granian.Granian`` only."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    header_timeout = _seconds("MODEL_SERVER_HEADER_TIMEOUT", HEADER_TIMEOUT_SECONDS)
    _seconds("MODEL_SERVER_BODY_TIMEOUT", 30.0)  # a bad value stops here, not in the worker
    model_dir = Path(args.model).resolve()
    if not (model_dir / "model.tar.gz").is_file():
        LOG.error("cannot load the model from %s: no model.tar.gz there (python -m ml train makes one)", model_dir)
        return 1
    os.environ[MODEL_DIR_ENV] = str(model_dir)
    os.environ["CHURN_MODEL_SERVER_ADDRESS"] = f"{args.host}:{args.port}"
    Granian(
        "ml.serving.model_server:app_from_environment",
        factory=True,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,  # SageMaker speaks HTTP/1.1 to a container
        loop=Loops.uvloop,
        workers=1,  # one model in memory; the predictor and large-lane threads use the cores
        backlog=2048,
        # hyper closes a connection whose headers are not all in within the deadline, counted
        # from the connection's start or its previous answer: slowloris and idle keep-alive alike.
        http1_settings=HTTP1Settings(header_read_timeout=int(header_timeout * 1000), max_buffer_size=MAX_HEADER_BYTES),
        log_level=LogLevels.warning,
        log_access=False,  # an access log line would carry paths and queries clients typed
        websockets=False,
        workers_kill_timeout=5,
    ).serve()
    return 0
