"""uvicorn's httptools protocol with each HTTP response leaving in one write.

Used by the model server and the local adapter; measured in README "Performance"
(py-spy showed ~20% of the adapter's GIL time in the second ``transport.write``).
"""

from __future__ import annotations

import asyncio


class _OneWriteTransport:
    """A transport that joins the writes of one event-loop turn into one ``send()``.

    uvicorn writes a response's status line + headers and its body separately: two syscalls,
    two TCP segments and two wake-ups of the reader (about 0.1-0.4 ms each in a 2-core VM,
    with the GIL held). The writes of one loop turn are buffered and flushed once, at the
    end of the turn; everything else goes to the real transport.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport, self._loop, self._pending = transport, loop, []

    def write(self, data) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # no httptools: uvicorn's default protocol, two writes per response
    HTTP_PROTOCOL = "auto"
else:

    class OneWriteHttpTools(HttpToolsProtocol):
        """uvicorn's httptools protocol, each response leaving in one write."""

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(_OneWriteTransport(transport, self.loop))

    HTTP_PROTOCOL = (
        "ml.serving.onewrite:OneWriteHttpTools"  # uvicorn's ``http`` option (a string survives ``workers > 1``)
    )
