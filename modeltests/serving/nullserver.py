"""A null HTTP endpoint: answers every request with ``200 {}`` at once (standard library only).

Run as a script (``python nullserver.py``), it listens on 127.0.0.1 at a free port, prints the
port on one line and serves until stdin closes or it is terminated. It runs in its own process
so that its work does not share the load generator's interpreter (and GIL): the generator's
ceiling measured against it is the generator's, up to what one process of asyncio can answer
(``benchmarks/serving.py`` measures that ceiling with wrk on the same endpoint). Keep-alive
HTTP/1.1, pipelined requests answered in order; asyncio sets TCP_NODELAY on its sockets (with
Nagle's algorithm a delayed ACK would add ~40 ms to an answer).
"""

from __future__ import annotations

import asyncio
import sys

ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
MAX_HEAD = 64 * 1024


class NullProtocol(asyncio.Protocol):
    """Reads requests (head and ``Content-Length`` body) and answers each with ``{}``."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD and self.transport is not None:
                    self.transport.close()
                break
            length = _content_length(bytes(self.buffer[:end]))
            if len(self.buffer) < end + 4 + length:
                break
            del self.buffer[:end + 4 + length]
            answers += 1
        if answers and self.transport is not None:
            self.transport.write(ANSWER * answers)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip() or 0)
    return 0


async def serve(port: int = 0) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(NullProtocol, "127.0.0.1", port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


if __name__ == "__main__":
    try:
        asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    except KeyboardInterrupt:
        pass
