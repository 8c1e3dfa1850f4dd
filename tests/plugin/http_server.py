"""One loopback HTTP server for the ``http`` adapter's tests (127.0.0.1, a thread per request).

Each POST is answered by ``respond(request_number, body, headers)``: ``(status, headers, text)``,
``RESET`` to close the connection without an answer, or ``HANG`` to wait until the test ends.
The server counts the requests it received; no test asserts anything about wall-clock time.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Mapping, Union

Answer = tuple[int, dict[str, str], str]
RESET = "reset"
HANG = "hang"
Respond = Callable[[int, dict[str, Any], Mapping[str, str]], Union[Answer, str]]


class LoopbackServer:
    """A local HTTP server whose answers a test chooses with :attr:`respond`."""

    def __init__(self, respond: Respond, keep_alive: bool = True) -> None:
        self.respond = respond
        self.requests = 0
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
                    server.requests += 1
                    number = server.requests
                answer = server.respond(number, body, self.headers)
                if answer == HANG:
                    server.release.wait(60)
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
