"""What both ASGI apps (the model server's and the local stack's) do with a body they refuse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

DRAIN_BYTES = 16 * 1024 * 1024  # read and dropped after an early refusal; memory stays one chunk
DRAIN_SECONDS = 10.0  # long enough for a client on a loaded machine; the bytes bound memory and work


async def drain(receive: Callable[[], Awaitable[MutableMapping[str, Any]]], deadline: float, budget: int) -> None:
    """Read and drop up to ``budget`` more bytes, until ``deadline`` (``time.monotonic``), before a
    refusal is answered: a client still sending then reads the 4xx instead of a reset connection
    (what servers call a lingering close; hyper closes a connection whose body was left unread)."""
    while budget > 0:
        try:
            message = await asyncio.wait_for(receive(), deadline - time.monotonic())
        except TimeoutError:
            return
        if message["type"] == "http.disconnect":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body"):
            return
