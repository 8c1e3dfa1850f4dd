"""A load generator: closed-loop client steps and open-loop Poisson arrivals, in threads.

* **closed loop** (``clients``): each of N threads sends a request, waits for the answer, sends
  the next, until the step's duration or request cap is reached. Throughput rises with N until
  the server saturates.
* **open loop** (``rate``): requests arrive as a Poisson process (exponential gaps, seeded), as
  in MLPerf's server scenario, whether or not earlier ones were answered. A request's latency
  runs from its *scheduled* arrival, so time spent queued behind a saturated pool counts
  (no coordinated omission).

Every loop is bounded in count (``max_requests``) and in time (``duration_s``; each request is
bounded by its caller's own timeout). :func:`null_endpoint` is a trivial HTTP server on
127.0.0.1 for measuring the generator's own ceiling.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, Literal, Sequence

from modeltests.data.inputs import ModelInput

Call = Callable[[list[ModelInput]], object]
"""Sends one request (a batch of texts); raises on any error."""
MAX_ERROR_EXAMPLES = 5


@dataclass
class StepResult:
    """What one step measured: latencies of answered requests (ms), errors, elapsed time."""

    mode: Literal["closed", "open"]
    level: float
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    scheduled: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def throughput(self) -> float:
        """Answered requests per second over the step."""
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def label(self) -> str:
        return f"{self.level:g} clients" if self.mode == "closed" else f"{self.level:g} req/s"


class _Recorder:
    """Thread-safe accumulation into a :class:`StepResult`."""

    def __init__(self, step: StepResult, max_requests: int) -> None:
        self.step = step
        self.max_requests = max_requests
        self.issued = 0
        self.lock = threading.Lock()

    def take(self) -> int | None:
        """The next request's number, or None once ``max_requests`` were issued."""
        with self.lock:
            if self.issued >= self.max_requests:
                return None
            self.issued += 1
            return self.issued - 1

    def send(self, call: Call, batch: list[ModelInput], since: float) -> None:
        try:
            call(batch)
        except Exception as exc:  # every failure of a request is an error of the step
            with self.lock:
                self.step.errors += 1
                if len(self.step.error_examples) < MAX_ERROR_EXAMPLES:
                    self.step.error_examples.append(f"{type(exc).__name__}: {exc}")
            return
        latency = (time.perf_counter() - since) * 1000.0
        with self.lock:
            self.step.latencies_ms.append(latency)


def _batch(texts: Sequence[ModelInput], number: int, size: int) -> list[ModelInput]:
    return [texts[(number * size + i) % len(texts)] for i in range(size)]


def closed_loop(call: Call, texts: Sequence[ModelInput], clients: int, duration_s: float,
                max_requests: int, batch_size: int = 1) -> StepResult:
    """``clients`` threads, each sending its next request when the last one is answered."""
    step = StepResult("closed", clients)
    recorder = _Recorder(step, max_requests)
    started = time.perf_counter()
    deadline = started + duration_s

    def client() -> None:
        while time.perf_counter() < deadline:
            number = recorder.take()
            if number is None:
                return
            recorder.send(call, _batch(texts, number, batch_size), time.perf_counter())

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    step.elapsed_s = time.perf_counter() - started
    step.scheduled = recorder.issued
    return step


def arrivals(rate: float, duration_s: float, seed: int, max_requests: int) -> list[float]:
    """Poisson arrival offsets (seconds from the start) within ``duration_s``, at most
    ``max_requests`` of them."""
    rng = random.Random(seed)
    times: list[float] = []
    now = rng.expovariate(rate)
    while now < duration_s and len(times) < max_requests:
        times.append(now)
        now += rng.expovariate(rate)
    return times


def open_loop(call: Call, texts: Sequence[ModelInput], rate: float, duration_s: float, seed: int,
              max_requests: int, max_in_flight: int, batch_size: int = 1) -> StepResult:
    """Requests at Poisson arrivals of mean ``rate`` per second, at most ``max_in_flight``
    sent at once (later ones queue, and their wait counts in their latency)."""
    step = StepResult("open", rate)
    schedule = arrivals(rate, duration_s, seed, max_requests)
    recorder = _Recorder(step, max_requests)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max_in_flight) as pool:
        for number, offset in enumerate(schedule):
            pause = started + offset - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(recorder.send, call, _batch(texts, number, batch_size), started + offset)
    step.elapsed_s = max(time.perf_counter() - started, duration_s)
    step.scheduled = len(schedule)
    return step


@contextmanager
def null_endpoint() -> Iterator[str]:
    """A server on 127.0.0.1 (a free port, in a thread) that answers every POST with ``{}``
    at once: its URL. Keep-alive, as real inference servers."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm, the client's delayed
        # ACK would add ~40 ms to every answer and the ceiling would measure that.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/null"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
