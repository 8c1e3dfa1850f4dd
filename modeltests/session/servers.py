"""The inference servers of a session: one per suite ``serve:`` section, started on first use
and stopped at the end."""

from __future__ import annotations

import atexit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager

from modeltests.errors import ModelLoadError
from modeltests.serving.server import Server
from modeltests.suite.loader import Suite


@dataclass
class ServerPool:
    """The servers of a session's suites, each started once (a server that failed to start is
    not tried again)."""

    capture: Callable[[], ContextManager[Any]]
    """Suspends pytest's output capture while a server starts."""
    _servers: dict[Path, Server] = field(default_factory=dict)
    _suites: dict[Path, Suite] = field(default_factory=dict)
    _server_errors: dict[Path, ModelLoadError] = field(default_factory=dict)

    def server(self, suite: Suite) -> Server:
        """The running server of ``suite``'s ``serve:`` section, started on first use (once per
        session: a server that failed to start is not tried again)."""
        assert suite.serve is not None
        key = suite.path
        if key in self._server_errors:
            raise self._server_errors[key]
        if key not in self._servers:
            urls = [str(getattr(p, "url", "")) for p in (suite.model, *suite.models.values())
                    if p is not None]
            server = Server.from_spec(suite.serve, suite.base_dir, suite.location("serve"), urls)
            self._servers[key] = server
            self._suites[key] = suite
            atexit.register(server.stop)  # modeltests.run() without close(), a crash
            try:
                with self.capture():
                    server.start()
            except ModelLoadError as exc:
                self._server_errors[key] = exc
                raise
        return self._servers[key]

    def started(self) -> list[tuple[Suite, Server]]:
        """Every server this session started, with its suite."""
        return [(self._suites[path], server) for path, server in self._servers.items()]

    def stop_all(self) -> None:
        """Stop every server this session started."""
        for server in self._servers.values():
            server.stop()
