"""uvicorn's httptools protocol, with each response written to the socket once.

uvicorn writes a response's status line and headers, then its body, with two separate
``transport.write`` calls: two system calls and two TCP segments per response, and the client
wakes up twice. On loopback that is about a third of the server's CPU time for a
single-record prediction. Here the writes of one event-loop turn are gathered and written
together at the end of the turn (a response's ASGI messages are sent without yielding in
between, so its bytes go out in one call); everything else is uvicorn's own protocol.
Selected with uvicorn's ``http`` option (``gaming-mlops serve`` does it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PROTOCOL = "machine_learning.serving.protocol:GatheringHttpToolsProtocol"


class GatheringTransport:
    """A transport whose writes of one event-loop turn leave in one ``write`` of the real one.

    Closing (or ending the stream) writes what is pending first; aborting drops it, as the
    real transport drops its own buffer. Everything else is the real transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Write ``data`` at the end of this event-loop turn (with the turn's other writes)."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def writelines(self, chunks) -> None:
        """Write every chunk (at the end of this turn)."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what is pending now."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        """Bytes not yet sent: the real transport's buffer plus what is pending here."""
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def write_eof(self) -> None:
        """End the stream after what is pending."""
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        """Close after what is pending."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping what is pending."""
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` writing through a :class:`GatheringTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # flow control keeps the real transport
        self.transport = GatheringTransport(transport, self.loop)  # type: ignore[assignment]
