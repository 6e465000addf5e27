"""A small HTTP/1.1 server for one ASGI app: asyncio (uvloop when present) and httptools' parser.

Why not uvicorn: it has no deadline for a request's headers (its issue #157), so a client
trickling header bytes holds a connection for ever, and adding one meant subclassing its
private protocol. Public APIs only here (``asyncio.Protocol``, ``httptools.HttpRequestParser``),
with what the model server needs: a deadline for a request's headers and an idle keep-alive
timeout; bounds on header size and open connections; flow control (reading pauses while a
request's unread body exceeds ``high_water``, so the app, which checks its body limits chunk by
chunk, decides what is buffered); each response in one ``write``; pipelined requests answered
in order. The body deadline and limits are the app's, so they also hold in-process.
"""

from __future__ import annotations

import asyncio
import collections
import http
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

import httptools

LOG = logging.getLogger("ml.serving.model_server")
Message = MutableMapping[str, Any]
App = Callable[
    [dict[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


@dataclass(frozen=True)
class ServerLimits:
    header_timeout: float = 10.0  # s to receive a request's line and headers
    keepalive_timeout: float = 65.0  # s idle between requests (longer than clients' pools keep them)
    max_header_bytes: int = 16 * 1024  # request line + headers
    max_connections: int = 512
    high_water: int = 64 * 1024  # unread body bytes buffered per connection before reading pauses


LINGER_SECONDS = 2.0  # after an early answer, how long the rest of a request body is read and dropped
LINGER_BYTES = 16 * 1024 * 1024


class _HeaderTooLarge(Exception):
    pass


class _Request:
    __slots__ = ("body", "buffered", "complete", "expect_continue", "keep_alive", "scope", "waiter")

    def __init__(self, scope: dict[str, Any], keep_alive: bool):
        self.scope, self.keep_alive = scope, keep_alive
        self.body: collections.deque[bytes] = collections.deque()
        self.buffered, self.complete, self.expect_continue = 0, False, False
        self.waiter: asyncio.Future[None] | None = None


class HttpProtocol(asyncio.Protocol):
    """One connection: parse with httptools, run the app per request, answer in order."""

    def __init__(self, app: App, limits: ServerLimits, connections: set[HttpProtocol]):
        self.app, self.limits, self.connections = app, limits, connections
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport  # set by connection_made, before any other call
        self.timer: asyncio.TimerHandle | None = None
        self.url, self.header_bytes = b"", 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.current: _Request | None = None  # the request the app is answering
        self.pending: collections.deque[_Request] = collections.deque()  # pipelined, waiting
        self.receiving: _Request | None = None  # the request whose body is arriving
        self.closed, self.paused, self.in_headers = False, False, False
        self.discarded = -1  # after an early answer: bytes of the unread body thrown away (-1: not discarding)

    # -- connection ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, only alike
        if len(self.connections) >= self.limits.max_connections:
            LOG.warning("503: %d connections open, refusing another", len(self.connections))
            self._write_error(503, "too many connections: retry later")
            self.transport.close()
            return
        self.connections.add(self)
        self._arm(self.limits.header_timeout, "request headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.connections.discard(self)
        self._disarm()
        for request in (self.current, self.receiving, *self.pending):
            if request is not None and request.waiter is not None and not request.waiter.done():
                request.waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.discarded >= 0:
            self.discarded += len(data)
            if self.discarded > LINGER_BYTES:
                self.transport.close()
            return
        if self.transport.is_closing():
            return  # refused: the rest of its bytes are not read
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades are not supported")
        except httptools.HttpParserCallbackError as err:
            cause = err.__context__
            if isinstance(cause, _HeaderTooLarge):
                self._refuse(431, f"request line and headers over {self.limits.max_header_bytes} bytes")
            elif isinstance(cause, httptools.HttpParserError):  # parse_url: an unreadable request target
                self._refuse(400, f"malformed request target: {cause}")
            else:
                LOG.error("500: the HTTP layer failed", exc_info=cause)
                self._refuse(500, "internal error")
        except httptools.HttpParserError as err:
            self._refuse(400, f"malformed HTTP request: {err}")

    # -- parser callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url, self.headers, self.header_bytes = b"", [], 0
        self.in_headers = True
        if self.current is None and not self.pending:  # a kept-alive connection's next request
            self._arm(self.limits.header_timeout, "request headers")

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.in_headers = False
        if self.current is None:
            self._disarm()
        parsed = httptools.parse_url(self.url)
        path = parsed.path.decode("latin-1")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": self.parser.get_http_version(),
            "method": self.parser.get_method().decode("ascii", "replace"),
            "scheme": "http",
            "path": path,
            "raw_path": parsed.path,
            "query_string": parsed.query or b"",
            "root_path": "",
            "headers": self.headers,
            "client": None,
            "server": None,
        }
        request = _Request(scope, self.parser.should_keep_alive())
        self.receiving = request
        request.expect_continue = (b"expect", b"100-continue") in self.headers
        if self.current is None:
            self._start(request)
        else:
            self.pending.append(request)

    def on_body(self, body: bytes) -> None:
        request = self.receiving
        if request is None:
            return
        request.body.append(body)
        request.buffered += len(body)
        if request.buffered > self.limits.high_water and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake(request)

    def on_message_complete(self) -> None:
        request = self.receiving
        if request is not None:
            request.complete = True
            self.receiving = None
            self._wake(request)

    # -- the app ---------------------------------------------------------------------------
    def _start(self, request: _Request) -> None:
        self.current = request
        self.loop.create_task(self._run(request))

    async def _run(self, request: _Request) -> None:
        response: dict[str, Any] = {}

        async def receive() -> Message:
            if request.expect_continue and not self.closed:  # the app wants the body: let the client send it
                request.expect_continue = False
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            while not request.body and not request.complete and not self.closed:
                waiter: asyncio.Future[None] = self.loop.create_future()
                request.waiter = waiter
                await waiter
                request.waiter = None
            if request.body:
                chunk = request.body.popleft() if len(request.body) == 1 else b"".join(request.body)
                request.body.clear()
                request.buffered = 0
                if self.paused and not self.closed:
                    self.paused = False
                    self.transport.resume_reading()
                return {"type": "http.request", "body": chunk, "more_body": not request.complete}
            if request.complete and not response.get("read"):
                response["read"] = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"], response["headers"] = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                self._respond(request, response["status"], response["headers"], message.get("body", b""))
                response["sent"] = True

        try:
            await self.app(request.scope, receive, send)
        except Exception:
            LOG.exception("500: the app failed on %s %s", request.scope["method"], request.scope["path"])
        if not response.get("sent") and not self.closed:
            self._write_error(500, "internal error")
            self.transport.close()

    def _respond(self, request: _Request, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        if self.closed:
            return
        # A body the app did not read to its end cannot be skipped safely: close after answering.
        keep_alive = request.keep_alive and request.complete
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, http.HTTPStatus(status).phrase.encode())]
        lines += [b"%s: %s\r\n" % (name, value) for name, value in headers]
        if not keep_alive:
            lines.append(b"connection: close\r\n")
        self.transport.write(b"".join([*lines, b"\r\n", body]))
        self.current = None
        if not keep_alive and request.complete:
            self.transport.close()
        elif not keep_alive:
            self._linger()  # the client may still be sending the body
        elif self.pending:
            self._start(self.pending.popleft())
        elif self.in_headers:  # a pipelined request's headers are still arriving: their deadline now runs
            self._arm(self.limits.header_timeout, "request headers")
        else:
            self._arm(self.limits.keepalive_timeout, None)

    # -- helpers ---------------------------------------------------------------------------
    def _linger(self) -> None:
        """Close in a while, reading and dropping what the client still sends meanwhile.

        Closing a socket with unread data makes the kernel send a reset, which can destroy the
        answer before the client reads it (a 413 lost as "connection reset").
        """
        self.discarded = 0
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        self._arm(LINGER_SECONDS, None)

    def _wake(self, request: _Request) -> None:
        if request.waiter is not None and not request.waiter.done():
            request.waiter.set_result(None)

    def _count(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > self.limits.max_header_bytes:
            raise _HeaderTooLarge

    def _arm(self, seconds: float, waiting_for: str | None) -> None:
        self._disarm()
        self.timer = self.loop.call_later(seconds, self._expire, waiting_for)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expire(self, waiting_for: str | None) -> None:
        self.timer = None
        if waiting_for is None:  # an idle kept-alive connection: close quietly
            self.transport.close()
            return
        # A slow client is not owed a lingering close: answer and cut it off.
        self._refuse(408, f"{waiting_for} not received within {self.limits.header_timeout:g} s", linger=False)

    def _refuse(self, status: int, message: str, linger: bool = True) -> None:
        """A request this connection cannot carry on with: answer (if nothing is in flight) and close."""
        LOG.warning("%d: %s", status, message)
        if self.current is not None:
            self.transport.close()
            return
        self._write_error(status, message)
        if linger:
            self._linger()
        else:
            self.transport.close()

    def _write_error(self, status: int, message: str) -> None:
        """A JSON error answer that ends the connection (the caller closes it)."""
        body = json.dumps({"error": message}).encode()
        head = b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        self.transport.write(b"HTTP/1.1 %d %s\r\n" % (status, http.HTTPStatus(status).phrase.encode()) + head + body)


async def serve(app: App, host: str, port: int, limits: ServerLimits, stopped: asyncio.Event) -> None:
    """Serve ``app`` until ``stopped`` is set; then stop accepting and let answers in flight finish (≤ 5 s)."""
    loop = asyncio.get_running_loop()
    connections: set[HttpProtocol] = set()
    server = await loop.create_server(
        lambda: HttpProtocol(app, limits, connections), host, port, backlog=2048, reuse_address=True
    )
    await stopped.wait()
    server.close()
    deadline = loop.time() + 5  # under the 10 s a supervisor (local_stack, bench) waits before SIGKILL
    while any(c.current is not None for c in connections) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for connection in list(connections):
        connection.transport.close()
    await server.wait_closed()
