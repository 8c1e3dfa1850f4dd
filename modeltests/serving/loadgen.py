"""A load generator on asyncio: closed-loop client steps and open-loop Poisson arrivals.

* **closed loop** (``clients``): each of N clients sends a request, waits for the answer, sends
  the next, until the step's duration or request cap is reached. Throughput rises with N until
  the server saturates.
* **open loop** (``rate``): requests arrive as a Poisson process (exponential gaps, seeded), as
  in MLPerf's server scenario, whether or not earlier ones were answered. A request's latency
  runs from its *scheduled* arrival, so time spent queued behind ``max_in_flight`` requests
  counts (no coordinated omission).

Every loop is bounded in count (``max_requests``) and in time (``duration_s``; each request is
bounded by its sender's own timeout). Failed requests are counted as errors and kept out of the
latency figures.

**What a request is.** A step drives :class:`AsyncRequests`: ``open(concurrency)`` is an async
context manager, entered inside the step's event loop, that yields ``send(batch)``, a coroutine
that sends one request, raises on any failure and returns ``None`` or per-request timings
(``{"ttft_ms": ..., ...}``), collected per step in :attr:`StepResult.timings` for the answered
requests. The ``http`` adapter's sender (:mod:`modeltests.serving.http1`, one event loop, about
a tenth of httpx's CPU per request) is one; a streaming (SSE) sender that times the first chunk
and the gaps between chunks is another, with no change here. A plain function (``Call``) runs
in a pool of ``concurrency`` threads (:func:`threaded`): in-process models are called that way.

**Processes.** An :class:`AsyncRequests` with a ``spec`` (a picklable recipe, e.g. the ``http``
adapter's) can be sent from several :func:`worker_processes`: a closed step's clients and
request cap, or an open step's arrivals (k mod n) and ``max_in_flight``, are shared out; the
workers start at one moment and their results (latencies, errors, timings, retry counts) are
merged. More processes raise the ceiling, and take CPU from a server on the same machine.

:func:`null_endpoint` starts a trivial HTTP server (:mod:`modeltests.serving.nullserver`) in a
process of its own on 127.0.0.1, for measuring the generator's own ceiling.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Literal,
                    Mapping, Protocol, Sequence, TypeVar, Union)

from modeltests.data.inputs import ModelInput

Call = Callable[[list[ModelInput]], object]
"""Sends one request (a batch of texts) and waits for its answer; raises on any error."""
Timings = Mapping[str, float]
"""Figures of one answered request beside its latency (e.g. a stream's ``ttft_ms``)."""
Send = Callable[[list[ModelInput]], Awaitable[Union[Timings, None]]]
"""A coroutine function sending one request; raises on any error."""
MAX_ERROR_EXAMPLES = 5
NULL_SERVER = Path(__file__).with_name("nullserver.py")
SPIN_S = 0.002
"""Open loop: the event loop's timers wake up to a millisecond late, so the last moments
before an arrival are spent yielding to the loop instead of sleeping."""
T = TypeVar("T")


class ProcessSpec(Protocol):
    """A picklable recipe that rebuilds the same requests in another process."""

    def build(self) -> tuple[AsyncRequests, Callable[[], Mapping[str, int]]]:
        """The requests, and a function returning their counters (e.g. ``retries``)."""
        ...


@dataclass(frozen=True)
class AsyncRequests:
    """How a step sends requests: ``open(concurrency)`` yields the ``send`` coroutine function
    inside the step's event loop (and releases its connections or threads at the end).
    ``spec`` rebuilds them in worker processes (None: they are sent from this process only)."""

    open: Callable[[int], AbstractAsyncContextManager[Send]]
    description: str
    spec: ProcessSpec | None = None


Requests = Union[Call, AsyncRequests]


def threaded(call: Call) -> AsyncRequests:
    """A blocking ``call`` in a pool of as many threads as the step's concurrency."""

    @asynccontextmanager
    async def open_threads(concurrency: int) -> AsyncIterator[Send]:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            async def send(batch: list[ModelInput]) -> None:
                await loop.run_in_executor(pool, call, batch)

            yield send

    return AsyncRequests(open_threads, "threads")


def _requests(requests: Requests) -> AsyncRequests:
    return requests if isinstance(requests, AsyncRequests) else threaded(requests)


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
    timings: dict[str, list[float]] = field(default_factory=dict)
    processes: int = 1
    worker_counters: dict[str, int] = field(default_factory=dict)
    """Counters (``retries``...) of requests sent from worker processes."""

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
    """Accumulation into a :class:`StepResult` (from one event loop: no lock)."""

    def __init__(self, step: StepResult, max_requests: int) -> None:
        self.step = step
        self.max_requests = max_requests
        self.issued = 0

    def take(self) -> int | None:
        """The next request's number, or None once ``max_requests`` were issued."""
        if self.issued >= self.max_requests:
            return None
        self.issued += 1
        return self.issued - 1

    async def send(self, send: Send, batch: list[ModelInput], since: float) -> None:
        try:
            timings = await send(batch)
        except Exception as exc:  # every failure of a request is an error of the step
            self.step.errors += 1
            if len(self.step.error_examples) < MAX_ERROR_EXAMPLES:
                self.step.error_examples.append(f"{type(exc).__name__}: {exc}")
            return
        self.step.latencies_ms.append((time.perf_counter() - since) * 1000.0)
        if timings:
            for name, value in timings.items():
                self.step.timings.setdefault(name, []).append(value)


def _batch(texts: Sequence[ModelInput], number: int, size: int) -> list[ModelInput]:
    return [texts[(number * size + i) % len(texts)] for i in range(size)]


def event_loop_name() -> str:
    """The event loop the steps run on: uvloop's when it is installed (MLServer installs it;
    ``benchmarks/ceiling.py`` compares the two), else asyncio's;
    ``MODELTESTS_EVENT_LOOP=asyncio`` chooses asyncio's."""
    if os.environ.get("MODELTESTS_EVENT_LOOP", "").lower() == "asyncio":
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _new_loop() -> asyncio.AbstractEventLoop:
    if event_loop_name() == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _run_in_new_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    loop = _new_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a step's event loop; in a thread of its own when this one already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_in_new_loop(coroutine)
    outcome: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(_run_in_new_loop(coroutine))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def closed_loop(requests: Requests, texts: Sequence[ModelInput], clients: int,
                duration_s: float, max_requests: int, batch_size: int = 1,
                workers: Workers | None = None) -> StepResult:
    """``clients`` clients, each sending its next request when the last one is answered;
    spread over the ``workers`` processes when the requests can be rebuilt there."""
    spec = _spec(requests, workers)
    if spec is not None and workers is not None:
        clients_each = _split(clients, workers.count)
        caps = _split(max_requests, workers.count)
        parts = workers.run([(spec, "closed", texts, share, duration_s, cap, batch_size, [], 0)
                             for share, cap in zip(clients_each, caps) if share])
        return _merged(StepResult("closed", clients), parts)
    step = StepResult("closed", clients)
    recorder = _Recorder(step, max_requests)

    async def run() -> None:
        async with _requests(requests).open(clients) as send:
            started = time.perf_counter()
            deadline = started + duration_s

            async def client() -> None:
                while time.perf_counter() < deadline:
                    number = recorder.take()
                    if number is None:
                        return
                    await recorder.send(send, _batch(texts, number, batch_size),
                                        time.perf_counter())

            await asyncio.gather(*(client() for _ in range(clients)))
            step.elapsed_s = time.perf_counter() - started

    _run(run())
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


async def _until(moment: float) -> None:
    pause = moment - time.perf_counter()
    if pause > SPIN_S:
        await asyncio.sleep(pause - SPIN_S)
    while time.perf_counter() < moment:
        await asyncio.sleep(0)


def open_loop(requests: Requests, texts: Sequence[ModelInput], rate: float, duration_s: float,
              seed: int, max_requests: int, max_in_flight: int, batch_size: int = 1,
              workers: Workers | None = None) -> StepResult:
    """Requests at Poisson arrivals of mean ``rate`` per second, at most ``max_in_flight``
    sent at once (later ones queue, and their wait counts in their latency); with
    ``workers``, arrival k goes to process k mod n, all on one clock."""
    schedule = list(enumerate(arrivals(rate, duration_s, seed, max_requests)))
    spec = _spec(requests, workers)
    if spec is not None and workers is not None:
        n = workers.count
        in_flight = _split(max_in_flight, n)
        parts = workers.run([(spec, "open", texts, rate, duration_s, len(schedule), batch_size,
                              schedule[k::n], max(1, in_flight[k])) for k in range(n)])
        return _merged(StepResult("open", rate), parts)
    return _open_schedule(requests, texts, rate, duration_s, schedule, max_in_flight,
                          batch_size)


def _open_schedule(requests: Requests, texts: Sequence[ModelInput], rate: float,
                   duration_s: float, schedule: list[tuple[int, float]], max_in_flight: int,
                   batch_size: int) -> StepResult:
    step = StepResult("open", rate)
    recorder = _Recorder(step, len(schedule))

    async def run() -> None:
        async with _requests(requests).open(max_in_flight) as send:
            slots = asyncio.Semaphore(max_in_flight)
            pending: set[asyncio.Task[None]] = set()

            async def arrival(number: int, at: float) -> None:
                async with slots:
                    await recorder.send(send, _batch(texts, number, batch_size), at)

            started = time.perf_counter()
            for number, offset in schedule:
                await _until(started + offset)
                task = asyncio.ensure_future(arrival(number, started + offset))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
            step.elapsed_s = max(time.perf_counter() - started, duration_s)

    _run(run())
    step.scheduled = len(schedule)
    return step


class Workers:
    """Worker processes (spawned: the parent may hold threads, e.g. torch's) that run shares
    of a step, each on its own event loop, all starting at one moment."""

    def __init__(self, pool: ProcessPoolExecutor, count: int) -> None:
        self.pool = pool
        self.count = count

    def run(self, shares: list[tuple[Any, ...]]) -> list[StepResult]:
        start_at = time.time() + START_MARGIN_S
        futures = [self.pool.submit(_run_packed, share, start_at) for share in shares]
        return [future.result() for future in futures]


START_MARGIN_S = 0.2
"""Workers are told to start this long after the step's shares are handed out."""


@contextmanager
def worker_processes(count: int, preload: Sequence[str] = ()) -> Iterator[Workers | None]:
    """``count`` started worker processes that imported the modules ``preload`` names (the
    requests' own), or None for one: steps then run in this process."""
    if count <= 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        list(pool.map(_warm, [(count, tuple(preload))] * count))  # every process started
        yield Workers(pool, count)


def _warm(job: tuple[int, tuple[str, ...]]) -> None:
    count, modules = job
    for module in modules:
        importlib.import_module(module)
    time.sleep(0.05 * count)  # keep this process busy so that the others take a task too


def _run_packed(share: tuple[Any, ...], start_at: float) -> StepResult:
    run: Callable[..., StepResult] = _run_share
    return run(*share, start_at)


def _run_share(spec: ProcessSpec, mode: str, texts: Sequence[ModelInput], level: float,
               duration_s: float, cap: int, batch_size: int,
               schedule: list[tuple[int, float]], max_in_flight: int,
               start_at: float) -> StepResult:
    """One worker's share of a step (in the worker process)."""
    requests, counters = spec.build()
    pause = start_at - time.time()
    if pause > 0:
        time.sleep(pause)
    if mode == "closed":
        step = closed_loop(requests, texts, int(level), duration_s, cap, batch_size)
    else:
        step = _open_schedule(requests, texts, level, duration_s, schedule, max_in_flight,
                              batch_size)
    step.worker_counters = dict(counters())
    return step


def _spec(requests: Requests, workers: Workers | None) -> ProcessSpec | None:
    if workers is None or not isinstance(requests, AsyncRequests):
        return None
    return requests.spec


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` nearly equal shares (the first ones larger)."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def _merged(step: StepResult, parts: list[StepResult]) -> StepResult:
    for part in parts:
        step.latencies_ms.extend(part.latencies_ms)
        step.errors += part.errors
        step.error_examples.extend(part.error_examples)
        step.scheduled += part.scheduled
        for name, values in part.timings.items():
            step.timings.setdefault(name, []).extend(values)
        for name, value in part.worker_counters.items():
            step.worker_counters[name] = step.worker_counters.get(name, 0) + value
    step.error_examples = step.error_examples[:MAX_ERROR_EXAMPLES]
    step.elapsed_s = max((part.elapsed_s for part in parts), default=0.0)
    step.processes = len(parts)
    return step


@contextmanager
def null_endpoint() -> Iterator[str]:
    """A server on 127.0.0.1 (a free port, in a process of its own) that answers every request
    with ``{}`` at once: its URL. Keep-alive, as real inference servers."""
    process = subprocess.Popen([sys.executable, str(NULL_SERVER)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"the null endpoint did not start: {error[-500:]}")
        yield f"http://127.0.0.1:{int(line)}/null"
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
