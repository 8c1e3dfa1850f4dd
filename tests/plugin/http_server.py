"""One loopback HTTP server for the ``http`` adapter's tests (127.0.0.1, a thread per request).

Each POST is answered by ``respond(request_number, body, headers)``: ``(status, headers, text)``,
``RESET`` to close the connection without an answer, ``HANG`` to wait until the test ends, or a
:class:`Stream` (a chunked body written piece by piece, with pauses: server-sent events).
The server counts the requests it received; no test asserts anything about wall-clock time.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Mapping, Union

Answer = tuple[int, dict[str, str], str]
RESET = "reset"
HANG = "hang"
ENDLESS = "endless"
"""Answer 200 with a chunked body that never ends (until the test ends)."""


@dataclass
class Stream:
    """A 200 answer streamed in HTTP/1.1 chunks: each ``pieces`` item is text written (and
    flushed) as one chunk, or a pause in seconds. ``end``: ``"close"`` ends the body properly,
    ``"cut"`` closes the connection mid-body, ``"hang"`` waits (body open) until the test ends."""

    pieces: list[str | float]
    content_type: str = "text/event-stream"
    end: Literal["close", "cut", "hang"] = "close"
    headers: dict[str, str] = field(default_factory=dict)


Respond = Callable[[int, dict[str, Any], Mapping[str, str]], Union[Answer, Stream, str]]


class LoopbackServer:
    """A local HTTP server whose answers a test chooses with :attr:`respond`."""

    def __init__(self, respond: Respond, keep_alive: bool = True) -> None:
        self.respond = respond
        self.requests = 0
        self.paths: list[str] = []
        self.release = threading.Event()  # a hanging request waits for this (set at close)
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(keep_alive))
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _handler(self, keep_alive: bool) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.paths.append(self.path)
                    server.requests += 1
                    number = server.requests
                answer = server.respond(number, body, self.headers)
                if isinstance(answer, Stream):
                    self._stream(answer)
                    return
                if answer == HANG:
                    server.release.wait(60)
                    return
                if answer == ENDLESS:
                    self._endless()
                    return
                if answer == RESET or isinstance(answer, str):
                    self.close_connection = True
                    return
                status, headers, text = answer
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(text.encode()))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(text.encode())

            def _stream(self, stream: Stream) -> None:
                self.send_response(200)
                for key, value in {**stream.headers, "Content-Type": stream.content_type,
                                   "Transfer-Encoding": "chunked"}.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    for piece in stream.pieces:
                        if isinstance(piece, float):
                            if server.release.wait(piece):
                                return
                            continue
                        data = piece.encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    if stream.end == "close":
                        self.wfile.write(b"0\r\n\r\n")
                    elif stream.end == "hang":
                        server.release.wait(60)
                        self.close_connection = True
                    else:
                        self.close_connection = True
                except OSError:  # the client hung up
                    self.close_connection = True

            def _endless(self) -> None:
                self.protocol_version = "HTTP/1.1"  # chunked needs it
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"[" * 65536
                try:
                    while not server.release.is_set():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:  # the client hung up: what a response-size cap does
                    pass

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def serve(self) -> Iterator[LoopbackServer]:
        """Serve in a daemon thread until the generator is closed (a fixture's body)."""
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self.httpd.shutdown()
            self.httpd.server_close()
