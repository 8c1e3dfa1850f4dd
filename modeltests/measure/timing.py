"""How the ``latency`` check times a model: warm-up, timed loop, summaries, baseline comparison.

The loop is independent of what it times: it calls a zero-argument function through a
:class:`Timer`, so tests drive it with a fake clock and the check drives it with
:class:`CpuTimer` (``time.perf_counter_ns`` around a synchronous call) or :class:`CudaTimer`
(CUDA events recorded on the stream, then ``torch.cuda.synchronize()``; host time around an
asynchronous CUDA call would measure only the kernel launches).

Method, per configuration:

1. Warm-up: a fixed number of calls, or ``"auto"``: call until the median of the last
   ``window`` calls moves by less than ``tolerance`` relative to the median of the ``window``
   calls before (capped at ``max_warmup`` calls and ``warmup_seconds``).
2. Timed calls until both ``min_iterations`` and ``min_seconds`` are reached, stopping early
   only at ``max_iterations`` or ``max_seconds`` (the stop reason is recorded).
3. :func:`summarize`: p50/p90/p95/p99, mean, std, IQR, throughput, and per percentile the
   order-statistic 95% upper bound and whether the sample meets MLPerf's minimum count.

:func:`time_alternately` times two models against each other (the compression checks'
``speedup``): the same batches, alternating which model goes first in each round.
:func:`time_interleaved` does the same for the latency loop (``latency``'s ``compare_to``):
warm-up as above, then rounds of one call per function until the budgets are met.

torch is imported only inside the CUDA and thread helpers.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Protocol, Sequence

from modeltests.errors import UnsupportedCapabilityError
from modeltests.data.inputs import ModelInput

PERCENTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
BOUND_CONFIDENCE = 0.95


class Timer(Protocol):
    """Times one call in milliseconds; ``now()`` is the wall clock (seconds) for budgets."""

    def time_call(self, fn: Callable[[], Any]) -> float: ...

    def now(self) -> float: ...


class CpuTimer:
    """Host time around a synchronous call, with ``time.perf_counter_ns``."""

    def time_call(self, fn: Callable[[], Any]) -> float:
        start = time.perf_counter_ns()
        fn()
        return (time.perf_counter_ns() - start) / 1e6

    def now(self) -> float:
        return time.perf_counter()


class CudaTimer:
    """CUDA events around the call, read after ``torch.cuda.synchronize()``.

    The stream is synchronised before the start event too, so no earlier work is counted.
    """

    def __init__(self) -> None:
        import torch

        self._torch = torch

    def time_call(self, fn: Callable[[], Any]) -> float:
        cuda = self._torch.cuda
        start = cuda.Event(enable_timing=True)
        end = cuda.Event(enable_timing=True)
        cuda.synchronize()
        start.record()
        fn()
        end.record()
        cuda.synchronize()
        return float(start.elapsed_time(end))

    def now(self) -> float:
        return time.perf_counter()


@dataclass(frozen=True)
class TimingPlan:
    """Warm-up and stopping rules for one configuration (see the module docstring)."""

    warmup: int | Literal["auto"] = "auto"
    window: int = 5
    tolerance: float = 0.05
    max_warmup: int = 50
    warmup_seconds: float = 5.0
    min_iterations: int = 64
    min_seconds: float = 1.0
    max_iterations: int = 10_000
    max_seconds: float = 30.0


@dataclass
class WarmupReport:
    """How warm-up went: calls made, whether the stability rule was met, their times."""

    iterations: int
    stable: bool
    samples_ms: list[float] = field(default_factory=list)


@dataclass
class TimingRun:
    """Warm-up plus the timed samples of one configuration."""

    warmup: WarmupReport
    samples_ms: list[float]
    seconds: float
    stop_reason: str


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def is_stable(samples: Sequence[float], window: int, tolerance: float) -> bool:
    """Whether the median of the last ``window`` samples is within ``tolerance`` (relative)
    of the median of the ``window`` before them."""
    if window < 1 or len(samples) < 2 * window:
        return False
    last = _median(samples[-window:])
    previous = _median(samples[-2 * window:-window])
    return abs(last - previous) <= tolerance * previous


def warm_up(fn: Callable[[], Any], timer: Timer, plan: TimingPlan) -> WarmupReport:
    """Call ``fn`` a fixed number of times, or until stable (``plan.warmup == "auto"``)."""
    samples: list[float] = []
    if plan.warmup != "auto":
        samples = [timer.time_call(fn) for _ in range(int(plan.warmup))]
        return WarmupReport(len(samples), True, samples)
    started = timer.now()
    while len(samples) < plan.max_warmup and timer.now() - started < plan.warmup_seconds:
        samples.append(timer.time_call(fn))
        if is_stable(samples, plan.window, plan.tolerance):
            return WarmupReport(len(samples), True, samples)
    return WarmupReport(len(samples), False, samples)


def measure(fn: Callable[[], Any], timer: Timer, plan: TimingPlan) -> tuple[list[float], float, str]:
    """Timed calls until ``min_iterations`` and ``min_seconds`` are both reached, or a cap.

    Returns the samples (ms), the wall seconds spent and the stop reason.
    """
    samples: list[float] = []
    started = timer.now()
    while True:
        elapsed = timer.now() - started
        if len(samples) >= plan.max_iterations:
            return samples, elapsed, "max_iterations"
        if elapsed >= plan.max_seconds and samples:
            return samples, elapsed, "max_seconds"
        if len(samples) >= plan.min_iterations and elapsed >= plan.min_seconds:
            return samples, elapsed, "min_iterations and min_seconds reached"
        samples.append(timer.time_call(fn))


def time_callable(fn: Callable[[], Any], timer: Timer, plan: TimingPlan) -> TimingRun:
    """Warm up, then measure ``fn`` under ``plan``."""
    report = warm_up(fn, timer, plan)
    samples, seconds, reason = measure(fn, timer, plan)
    return TimingRun(report, samples, seconds, reason)


def time_interleaved(fns: Sequence[Callable[[], Any]], timer: Timer, plan: TimingPlan
                     ) -> list[TimingRun]:
    """Time several functions against each other: warm each up, then call them in rounds,
    one call each per round, rotating which goes first, so that noise (another process, a
    frequency change) hits all of them alike and round ``i`` of each is comparable.

    Rounds stop when every function has ``min_iterations`` calls and the rounds took at least
    ``min_seconds`` per function, or at ``max_iterations`` rounds or ``max_seconds`` per
    function (the budgets of one function, times the number of functions). Every function gets
    the same number of calls; the returned runs are in ``fns`` order.
    """
    count = len(fns)
    reports = [warm_up(fn, timer, plan) for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    started = timer.now()
    while True:
        elapsed = timer.now() - started
        rounds = len(samples[0])
        if rounds >= plan.max_iterations:
            reason = "max_iterations"
            break
        if elapsed >= plan.max_seconds * count and rounds:
            reason = "max_seconds"
            break
        if rounds >= plan.min_iterations and elapsed >= plan.min_seconds * count:
            reason = "min_iterations and min_seconds reached"
            break
        for offset in range(count):
            which = (rounds + offset) % count
            samples[which].append(timer.time_call(fns[which]))
    seconds = timer.now() - started
    return [TimingRun(report, runs, seconds, reason) for report, runs in zip(reports, samples)]


def summarize(samples_ms: Sequence[float], batch_size: int) -> dict[str, Any]:
    """Latency statistics of one configuration, in milliseconds.

    Keys: ``n``, ``p50_ms`` ... ``p99_ms``, ``mean_ms``, ``std_ms``, ``iqr_ms``, ``min_ms``,
    ``max_ms``, ``throughput`` (examples/s: ``batch_size / mean``; None when the mean is 0 ms),
    ``throughput_interval``
    (from a normal 95% interval of the mean), and per percentile ``<p>_upper_ms`` (the
    order-statistic 95% upper bound, None when ``n`` is too small for one),
    ``<p>_supported`` and ``<p>_min_samples`` (MLPerf's minimum count: 64 for p90, 662 for p99).
    """
    from modeltests.stats.percentiles import (
        latency_summary,
        min_samples_for_percentile,
        percentile_upper_bound,
    )

    stats = latency_summary(samples_ms)
    n = stats["n"]
    out: dict[str, Any] = {"n": n}
    for key in ("p50", "p90", "p95", "p99", "mean", "std", "iqr", "min", "max"):
        out[f"{key}_ms"] = stats[key]
    for name, q in PERCENTILES.items():
        out[f"{name}_upper_ms"] = percentile_upper_bound(samples_ms, q, BOUND_CONFIDENCE)
        needed = min_samples_for_percentile(q)
        out[f"{name}_min_samples"] = needed
        out[f"{name}_supported"] = n >= needed
    # Every call under the clock's resolution (a fake's decode step between two calls can take
    # 0 ms) has no throughput to state: None, not a division by zero.
    mean = stats["mean"]
    out["throughput"] = batch_size * 1000.0 / mean if mean > 0 else None
    out["throughput_interval"] = (_throughput_interval(mean, stats["std"], n, batch_size)
                                  if mean > 0 else None)
    return out


def _throughput_interval(mean: float, std: float | None, n: int, batch: int
                         ) -> tuple[float, float] | None:
    if std is None or n < 2:
        return None
    half = 1.96 * std / n ** 0.5
    high = batch * 1000.0 / (mean - half) if mean > half else None
    low = batch * 1000.0 / (mean + half)
    return (low, high) if high is not None else None


def scaling(lengths: Sequence[int], latencies_ms: Sequence[float]) -> dict[str, Any] | None:
    """Growth of latency with sequence length: log-log slope and longest/shortest ratio.

    None with fewer than two distinct lengths. 1.0 is linear, 2.0 quadratic growth.
    """
    from modeltests.stats.percentiles import fit_scaling_exponent

    if len(set(lengths)) < 2:
        return None
    pairs = sorted(zip(lengths, latencies_ms))
    return {
        "lengths": [p[0] for p in pairs],
        "p50_ms": [p[1] for p in pairs],
        "exponent": fit_scaling_exponent([p[0] for p in pairs], [p[1] for p in pairs]),
        "ratio": pairs[-1][1] / pairs[0][1],
    }


# ------------------------------------------------------------------ threads and memory


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Set ``torch.set_num_threads`` for the block (if given) and restore it; yields the count
    in effect."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


class RssSampler:
    """Peak resident memory of this process while the block runs, sampled by a thread.

    Samples ``psutil.Process().memory_info().rss`` every ``interval`` seconds (and once at
    start and stop), so a peak shorter than the interval can be missed.
    """

    def __init__(self, interval: float = 0.002) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.start_bytes = 0
        self.peak_bytes = 0

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, int(self._process.memory_info().rss))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> RssSampler:
        self.start_bytes = int(self._process.memory_info().rss)
        self.peak_bytes = self.start_bytes
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# ------------------------------------------------------------------ baseline comparison


def compare_to_baseline(
    samples_ms: Sequence[float], current: dict[str, Any], baseline: dict[str, Any],
    rel_tol: float,
) -> dict[str, Any]:
    """Compare the headline configuration with a saved one (``details.headline`` of a run).

    Both dicts hold ``config``, ``mode``, ``p50_ms``, ``iqr_ms`` and ``fingerprint``. Returns
    ``compared`` (bool), ``reason`` when not compared, else ``limit_ms``, ``slowdown`` (relative
    change of p50) and ``regression``: True only when the p50 exceeds the baseline by more than
    ``rel_tol`` AND by more than either run's IQR (:func:`modeltests.stats.percentiles.is_regression`).
    """
    from modeltests.support.environment import fingerprint_mismatch
    from modeltests.stats.percentiles import is_regression, regression_limit

    for key in ("config", "mode"):
        if baseline.get(key) != current.get(key):
            return {"compared": False,
                    "reason": f"the baseline measured {key} {baseline.get(key)!r}, this run "
                              f"{current.get(key)!r}"}
    differences = fingerprint_mismatch(current["fingerprint"], baseline.get("fingerprint"))
    if differences:
        return {"compared": False,
                "reason": "hardware/library fingerprint differs (" + "; ".join(differences) + ")"}
    base_p50, base_iqr = float(baseline["p50_ms"]), float(baseline["iqr_ms"])
    limit = regression_limit(base_p50, base_iqr, float(current["iqr_ms"]), rel_tol)
    return {
        "compared": True,
        "baseline_p50_ms": base_p50,
        "baseline_iqr_ms": base_iqr,
        "p50_ms": float(current["p50_ms"]),
        "limit_ms": limit,
        "slowdown": float(current["p50_ms"]) / base_p50 - 1.0,
        "regression": is_regression(samples_ms, base_p50, base_iqr, rel_tol),
    }


# ------------------------------------------------------------ two models, alternately


class BatchModel(Protocol):
    """What :func:`time_alternately` needs of a model; every ``ModelAdapter`` has it.

    ``encode`` / ``forward`` may raise :class:`UnsupportedCapabilityError`.
    """

    def predict(self, texts: Sequence[ModelInput]) -> object: ...

    def encode(self, texts: Sequence[ModelInput]) -> object: ...

    def forward(self, batch: object) -> object: ...


@dataclass(frozen=True)
class AlternateTiming:
    """Both models' seconds per round on the same texts; ``speedup`` = reference / candidate."""

    speedup: float
    mode: Literal["forward", "predict"]
    examples: int
    batch_size: int
    rounds: int
    reference_seconds: list[float]
    candidate_seconds: list[float]
    torch_threads: int | None

    def details(self) -> dict[str, Any]:
        """How it was timed, for a result's details (the speed-up itself is a metric)."""
        return {"mode": self.mode, "examples": self.examples, "batch_size": self.batch_size,
                "rounds": self.rounds, "reference_seconds": self.reference_seconds,
                "compressed_seconds": self.candidate_seconds,
                "torch_threads": self.torch_threads}


def time_alternately(reference: BatchModel, candidate: BatchModel, texts: Sequence[ModelInput],
                     batch_size: int, rounds: int) -> AlternateTiming:
    """Time both models on the same batches, alternating which runs first in each round.

    Model-only (``forward`` on pre-encoded batches) when both models have ``encode`` /
    ``forward``, else end to end (``predict``). ``speedup`` = median reference time / median
    candidate time; values above 1 mean the candidate is faster.
    """
    chunks = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
    runners, mode = _runners(reference, candidate, chunks)
    for run in runners:  # warm-up: first calls allocate and pick kernels
        run(chunks[:1])
    seconds: list[list[float]] = [[], []]
    for round_index in range(rounds):
        order = (0, 1) if round_index % 2 == 0 else (1, 0)
        for which in order:
            started = time.perf_counter()
            runners[which](chunks)
            seconds[which].append(time.perf_counter() - started)
    ref_s, new_s = statistics.median(seconds[0]), statistics.median(seconds[1])
    return AlternateTiming(speedup=ref_s / new_s if new_s > 0 else float("inf"), mode=mode,
                           examples=len(texts), batch_size=batch_size, rounds=rounds,
                           reference_seconds=seconds[0], candidate_seconds=seconds[1],
                           torch_threads=current_torch_threads())


def current_torch_threads() -> int | None:
    """torch's intra-op thread count, when torch is loaded (not imported for a callable)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


Runner = Callable[[list[Sequence[ModelInput]]], None]


def _runners(reference: BatchModel, candidate: BatchModel, chunks: list[Sequence[ModelInput]]
             ) -> tuple[list[Runner], Literal["forward", "predict"]]:
    """One callable per model running a list of chunks; encoding happens before timing."""
    models = (reference, candidate)
    try:
        encoded = [{id(c): m.encode(c) for c in chunks} for m in models]
        for model, batches in zip(models, encoded):
            model.forward(batches[id(chunks[0])])
    except UnsupportedCapabilityError:
        return [_predict_runner(m) for m in models], "predict"
    return [_forward_runner(m, e) for m, e in zip(models, encoded)], "forward"


def _predict_runner(model: BatchModel) -> Runner:
    def run(chunks: list[Sequence[ModelInput]]) -> None:
        for chunk in chunks:
            model.predict(chunk)
    return run


def _forward_runner(model: BatchModel, encoded: dict[int, object]) -> Runner:
    def run(chunks: list[Sequence[ModelInput]]) -> None:
        for chunk in chunks:
            model.forward(encoded[id(chunk)])
    return run
