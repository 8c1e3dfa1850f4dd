"""A suite's ``serve:`` section: the inference server the suite starts, waits for and stops.

::

    serve:
      command: ["{python}", "-m", "mlserver.cli.main", "start", "serving"]
      env: {MLSERVER_HTTP_PORT: "{port}", MLSERVER_GRPC_PORT: "{port:grpc}"}
      ready_url: "http://127.0.0.1:{port}/v2/health/ready"
      startup_timeout_s: 120
    model:
      adapter: http
      url: "http://127.0.0.1:{port}/v2/models/sentiment/infer"

The session starts the server the first time a check needs a served model (an ``http`` model
of that suite), polls ``ready_url`` until it answers 200 (bounded backoff, ``startup_timeout_s``
in all), and stops it when the session ends, also after a failure, Ctrl-C or SIGTERM: SIGTERM
to its whole process group, SIGKILL after ``stop_timeout_s``. On Linux the server also gets
SIGTERM if the session's process dies without cleaning up (``PR_SET_PDEATHSIG``). That signal
reaches the server's own process only, not the processes it started (the workers of a server, the
command that ``/bin/sh`` runs for a ``command`` given as one string): a watchdog process beside
the server holds one end of a pipe whose other end only the session holds; when the session dies
in any way (SIGKILL included) the pipe closes and the watchdog stops the server's whole process
group (SIGTERM, SIGKILL after ``stop_timeout_s``). A ``command`` given as one string runs through
``/bin/sh -c`` (pipes, ``&&``, variables); a list is executed as it is, with no shell.

Placeholders in ``command``, ``env``, ``cwd``, ``ready_url`` and the model's ``url``:
``{python}`` is this interpreter; ``{port}`` and ``{port:NAME}`` are free TCP ports on
127.0.0.1 picked when the server starts (one per name). Under pytest-xdist every worker is its
own session and starts its own server on its own ports: with placeholders, servers never
collide (with fixed ports the second worker's server finds the port taken and its checks ERROR).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Sequence
from urllib.parse import urlsplit

from modeltests.errors import ModelLoadError
from modeltests.support.placeholders import expand, placeholders_in

LOG_TAIL_LINES = 30
FIRST_POLL_S = 0.05
MAX_POLL_S = 1.0
PROBE_TIMEOUT_S = 2.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) != 0


@dataclass
class ServerFacts:
    """What the reports say about a served model's server."""

    command: list[str]
    ready_url: str
    ports: dict[str, int]
    pid: int | None = None
    cold_start_s: float | None = None
    polls: int = 0
    error: str | None = None
    stopped_by: str | None = None
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


@dataclass
class Server:
    """One server process of one suite's ``serve:`` section (start once, stop once)."""

    command: list[str]
    env: dict[str, str]
    cwd: Path
    ready_url: str
    startup_timeout_s: float
    stop_timeout_s: float
    location: str = ""
    values: dict[str, str] = field(default_factory=dict)
    facts: ServerFacts | None = None
    _process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _watchdog: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_spec(cls, spec: Any, base_dir: Path, location: str, also: Sequence[str] = ()
                  ) -> Server:
        """The server of a validated ``serve:`` section (:class:`ServeSpec`), its placeholders
        given values now; ``also`` are other texts whose ports must be picked too (the model's
        ``url``)."""
        raw = [spec.command] if isinstance(spec.command, str) else list(spec.command)
        texts = [*raw, *spec.env.values(), spec.ready_url, spec.cwd or "", *also]
        values = {"python": sys.executable}
        values.update({name: str(free_port()) for name in placeholders_in(*texts)
                       if name.startswith("port")})
        command = [expand(part, values) for part in raw]
        if isinstance(spec.command, str):
            command = ["/bin/sh", "-c", command[0]]
        cwd = Path(expand(spec.cwd, values)).expanduser() if spec.cwd else base_dir
        return cls(command=command, env={k: expand(v, values) for k, v in spec.env.items()},
                   cwd=cwd if cwd.is_absolute() else (base_dir / cwd).resolve(),
                   ready_url=expand(spec.ready_url, values),
                   startup_timeout_s=spec.startup_timeout_s, stop_timeout_s=spec.stop_timeout_s,
                   location=location, values=values)

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> ServerFacts:
        """Start the process and wait until ``ready_url`` answers 200; raise
        :class:`ModelLoadError` (with the tail of the server's log) when it does not."""
        ports = {name: int(value) for name, value in self.values.items() if name != "python"}
        self.facts = ServerFacts(self.command, self.ready_url, ports)
        try:
            self._refuse_taken_port()
            self._spawn()
            self._wait_ready()
        except ModelLoadError as exc:
            self.facts.error = str(exc)
            self.stop()
            raise
        return self.facts

    def _refuse_taken_port(self) -> None:
        """A server already answering on the readiness port would pass for ours."""
        parts = urlsplit(self.ready_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if parts.hostname in ("127.0.0.1", "localhost") and not port_is_free(port):
            raise ModelLoadError(
                f"{self.location}: serve.ready_url: port {port} on 127.0.0.1 is already taken "
                "before the server was started (another server is running there?); stop it, or "
                "use a '{port}' placeholder so that a free port is picked")

    def _spawn(self) -> None:
        self._log = tempfile.TemporaryFile(prefix="modeltests-serve-")
        env = {**os.environ, **self.env}
        try:
            self._process = subprocess.Popen(
                self.command, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent())
        except OSError as exc:
            raise ModelLoadError(f"{self.location}: serve.command: cannot start "
                                 f"{self.command[0]!r}: {exc}") from None
        assert self.facts is not None
        self.facts.pid = self._process.pid
        self._started = time.perf_counter()
        self._watchdog = _start_watchdog(self._process.pid, self.stop_timeout_s)

    def _wait_ready(self) -> None:
        assert self._process is not None and self.facts is not None
        deadline = self._started + self.startup_timeout_s
        pause = FIRST_POLL_S
        while True:
            self.facts.polls += 1
            if answers_200(self.ready_url, min(PROBE_TIMEOUT_S, self.startup_timeout_s)):
                self.facts.cold_start_s = time.perf_counter() - self._started
                return
            code = self._process.poll()
            if code is not None:
                self.facts.exit_code = code
                raise ModelLoadError(f"{self.location}: serve: the server exited with code "
                                     f"{code} before it was ready{self.log_tail()}")
            if time.perf_counter() + pause > deadline:
                raise ModelLoadError(
                    f"{self.location}: serve: the server was not ready within "
                    f"{self.startup_timeout_s:g} s (serve.startup_timeout_s): {self.ready_url} "
                    f"never answered 200 in {self.facts.polls} polls{self.log_tail()}")
            time.sleep(pause)
            pause = min(pause * 2, MAX_POLL_S)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines the server wrote, as a message suffix (empty when it wrote none)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", errors="replace").rstrip()
        if not text:
            return "; the server wrote nothing"
        tail = text.splitlines()[-lines:]
        return f"; the last {len(tail)} lines of its log:\n" + "\n".join(f"  | {t}" for t in tail)

    # -- stop -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``stop_timeout_s``; the group
        is killed even when its leader is gone (workers it forked must not outlive it)."""
        process, self._process = self._process, None
        if process is None:
            return
        _end_watchdog(self._watchdog)  # the session stops the group itself, now
        self._watchdog = None
        how = "already exited"
        if process.poll() is None:
            how = "SIGTERM"
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                how = f"SIGKILL after {self.stop_timeout_s:g} s"
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        _signal_group(process.pid, signal.SIGKILL)  # stragglers of the group, if any
        if self.facts is not None:
            self.facts.stopped_by = how
            self.facts.exit_code = process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


# Run by the watchdog: wait for the end of stdin (the session's end of the pipe closed: it
# exited or was killed), then stop the server's process group as Server.stop() would.
_WATCHDOG = """
import os, signal, sys, time
group, grace = int(sys.argv[1]), float(sys.argv[2])
sys.stdin.buffer.read()
def signal_group(signum):
    try:
        os.killpg(group, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False
if signal_group(signal.SIGTERM):
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and signal_group(0):
        time.sleep(0.1)
    signal_group(signal.SIGKILL)
"""


def _start_watchdog(group: int, grace: float) -> subprocess.Popen[bytes] | None:
    """A process that stops process group ``group`` once this process is gone (POSIX only)."""
    if os.name != "posix":
        return None
    read_end, write_end = os.pipe()
    try:
        watchdog = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(group), str(grace)],
            stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # not in the server's group, nor hit by Ctrl-C
    except OSError:
        os.close(write_end)
        return None
    finally:
        os.close(read_end)
    watchdog.stdin = os.fdopen(write_end, "wb")  # closed by the OS when this process dies
    return watchdog


def _end_watchdog(watchdog: subprocess.Popen[bytes] | None) -> None:
    if watchdog is None:
        return
    watchdog.kill()
    watchdog.wait()
    if watchdog.stdin is not None:
        watchdog.stdin.close()


def _die_with_parent() -> Callable[[], None] | None:
    """What the child runs before exec: ask for SIGTERM when the parent dies (Linux's
    ``PR_SET_PDEATHSIG``; None elsewhere). libc is loaded here, in the parent: the child of a
    threaded process must not import anything (another thread may hold the import lock)."""
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except OSError:
        return None

    def set_death_signal() -> None:
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG = 1

    return set_death_signal


def answers_200(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a GET of ``url`` answers 200 within ``timeout`` (never through a proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status) == 200
    except (OSError, ValueError):  # refused, reset, timeout, HTTP errors (URLError is OSError)
        return False
