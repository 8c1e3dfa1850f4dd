"""A small HTTP/1.1 client on asyncio's protocols, for load generation.

A load generator must cost far less per request than the server it measures. httpx in threads
spends 1.2-2.8 ms of CPU per request (its ceiling on a null endpoint was ~1,400 req/s where
wrk reached 11,000); this client sends a prebuilt request over keep-alive connections and parses
only what it needs (status, ``Content-Length`` or chunked body, ``Connection: close``), in the
event loop's callbacks: 80-110 us of CPU per request on a busy 2-core machine, about a tenth
of httpx's and 4-6 times wrk's (``benchmarks/ceiling.py`` measures all three).

Scope: ``POST`` (or any method) of a body to one ``http://host:port``; no TLS, proxies, redirects,
compression or pipelining. Each connection carries one request at a time. A request that finds a
kept-alive connection closed by the server before any answer byte is sent once more on a fresh
one (as httpx does); every other failure is raised to the caller:

* :class:`ConnectionRefusedError` / :class:`OSError`: no connection could be made;
* :class:`ConnectionResetError`: the connection closed before a complete answer;
* :class:`TimeoutError`: no complete answer within the request's timeout.

A streaming request type (server-sent events) plugs in as another reader on the same
connection: :meth:`Connection.exchange` resolves with the whole answer; a streaming one would
resolve per chunk (see :mod:`modeltests.serving.loadgen`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping, cast
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, lower-cased headers, body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class _Incomplete(Exception):
    """More bytes are needed to finish parsing."""


def _parse(buffer: bytearray, closed: bool) -> tuple[Answer, int, bool] | None:
    """The answer at the start of ``buffer``, the bytes it used and whether the connection may
    be kept alive; None while incomplete. Raises ValueError on a malformed answer."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEADER_BYTES:
            raise ValueError(f"answer headers longer than {MAX_HEADER_BYTES} bytes")
        return None
    status, headers, version = _head(bytes(buffer[:end]))
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    start = end + 4
    if status in (204, 304) or 100 <= status < 200:
        return Answer(status, headers, b""), start, keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        try:
            body, used = _dechunk(buffer, start)
        except _Incomplete:
            return None
        return Answer(status, headers, body), used, keep
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        stop = start + int(length)
        if len(buffer) < stop:
            return None
        return Answer(status, headers, bytes(buffer[start:stop])), stop, keep
    if not closed:  # the body runs to the end of the connection
        return None
    return Answer(status, headers, bytes(buffer[start:])), len(buffer), False


@lru_cache(maxsize=64)
def _head(head: bytes) -> tuple[int, Mapping[str, str], str]:
    """Status, lower-cased headers and HTTP version of an answer's head (a server repeats the same head for
    answers of one length: parsed once)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), MappingProxyType(headers), parts[0]


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int]:
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            raise _Incomplete
        size_text = bytes(buffer[position:line_end]).split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"bad chunk size {size_text[:20]!r}") from None
        position = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", position - 2)
            if trailer_end < 0:
                raise _Incomplete
            return bytes(body), trailer_end + 4
        if len(buffer) < position + size + 2:
            raise _Incomplete
        body += buffer[position:position + size]
        position += size + 2


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, answered through a future."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.keep_alive = True
        self.closed = False
        self.used = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._try_finish(closed=False)

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._try_finish(closed=True)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            reason = exc or "the server closed the connection"
            waiter.set_exception(ConnectionResetError(f"no complete answer: {reason}"))

    def _try_finish(self, closed: bool) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            parsed = _parse(self.buffer, closed)
        except Exception as exc:  # a malformed answer fails its request, not the event loop
            self.keep_alive = False
            waiter.set_exception(ConnectionResetError(f"malformed answer: {exc}"))
            return
        if parsed is not None:
            answer, used, keep = parsed
            del self.buffer[:used]
            self.keep_alive = keep
            waiter.set_result(answer)

    async def exchange(self, request: bytes, timeout: float) -> Answer:
        """Send ``request`` (bytes on the wire) and wait for the whole answer."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        self.waiter = waiter
        self.used = True
        self.transport.write(request)
        timer = loop.call_later(timeout, self._time_out, waiter, timeout)
        try:
            return await waiter
        finally:
            timer.cancel()
            self.waiter = None

    def _time_out(self, waiter: asyncio.Future[Answer], timeout: float) -> None:
        if not waiter.done():
            self.keep_alive = False
            waiter.set_exception(TimeoutError(f"no answer within {timeout:g} s"))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True


class Pool:
    """Keep-alive connections to one ``http://host:port``, at most ``max_connections`` open;
    requests beyond it wait for a free connection. Make it, use it and close it inside one
    event loop (``async with Pool(...)``)."""

    def __init__(self, url: str, headers: Mapping[str, str], max_connections: int,
                 method: str = "POST") -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the load client speaks plain http://, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()
                  if name.lower() not in ("host", "content-length", "connection")]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def message(self, body: bytes) -> bytes:
        """The request's bytes for ``body``: prebuild it once when the body repeats."""
        return self._head + str(len(body)).encode() + b"\r\n\r\n" + body

    async def send(self, message: bytes, timeout: float) -> Answer:
        """Send a message made by :meth:`message`; the answer, or one of the errors above."""
        async with self._slots:
            connection = self._idle.pop() if self._idle else None
            if connection is not None and connection.closed:
                self._open.discard(connection)
                connection = None
            if connection is not None:
                try:
                    return await self._exchange(connection, message, timeout)
                except ConnectionResetError:
                    if connection.buffer:  # the server had started answering: a real failure
                        raise
            return await self._exchange(await self._connect(timeout), message, timeout)

    async def _connect(self, timeout: float) -> Connection:
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(Connection, self.host, self.port), timeout)
        self._open.add(connection)
        return connection

    async def _exchange(self, connection: Connection, message: bytes, timeout: float) -> Answer:
        try:
            answer = await connection.exchange(message, timeout)
        except BaseException:
            self._discard(connection)
            raise
        if connection.keep_alive and not connection.closed:
            self._idle.append(connection)
        else:
            self._discard(connection)
        return answer

    def _discard(self, connection: Connection) -> None:
        connection.close()
        self._open.discard(connection)

    def close(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()
