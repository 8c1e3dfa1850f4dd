"""Benchmark: the served demo model (MLServer, Open Inference Protocol) under load.

Run: ``OMP_NUM_THREADS=1 python benchmarks/serving.py`` (needs ``pip install -e '.[serve]'``;
builds the demo model on first use). ``--seconds`` sets each step's length.

1. The load generator's ceiling (:mod:`ceiling`, also runnable alone): the ``load`` check's
   sender against null endpoints (modeltests' own, in a process of its own, and nginx when
   ``--nginx`` or PATH has one), beside wrk on the same endpoints and bodies, with the CPU per
   request of each; it prints the ratio modeltests / wrk (the goal: at least 0.5). A model
   result near the ceiling would measure the generator, not the model.
2. The demo server started by ``suites/sentiment_serving.yaml``'s ``serve:`` section: closed-
   loop throughput at 1, 2, 4 clients and open-loop Poisson rates, p50 / p99 per step, and the
   best throughput whose p99 meets the SLO (``--slo-ms``).
3. The http adapter's overhead: one text per call, the served model against the same model in
   this process (``models.in-process``), in alternating rounds; median latency of each.
All figures come from this one run; the thread settings are printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from ceiling import add_arguments, ceiling

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suites" / "sentiment_serving.yaml"


def step_line(step: Any, slo_ms: float) -> str:
    from modeltests.measure.timing import summarize

    if not step.latencies_ms:
        return f"  {step.label():>12}: {step.errors} errors, no answer"
    stats = summarize(step.latencies_ms, 1)
    meets = "meets" if stats["p99_ms"] <= slo_ms else "misses"
    return (f"  {step.label():>12}: {step.throughput:7.1f} req/s  p50 {stats['p50_ms']:7.1f} ms  "
            f"p99 {stats['p99_ms']:7.1f} ms ({meets} SLO)  n={step.requests} "
            f"errors={step.errors}")


def served(model: Any, texts: list[str], seconds: float, slo_ms: float) -> None:
    from modeltests.serving.loadgen import closed_loop, open_loop
    from modeltests.measure.timing import summarize

    print(f"2. the demo server, one text per request, {seconds:g} s per step, SLO p99 <= "
          f"{slo_ms:g} ms")
    requests = model.load_client().load_requests()  # what the load check sends
    steps = [closed_loop(requests, texts, n, seconds, 100000) for n in (1, 2, 4)]
    steps += [open_loop(requests, texts, rate, seconds, seed, 100000, 32)
              for seed, rate in enumerate((10.0, 20.0, 30.0, 40.0))]
    for step in steps:
        print(step_line(step, slo_ms))
    meeting = [s.throughput for s in steps
               if s.latencies_ms and summarize(s.latencies_ms, 1)["p99_ms"] <= slo_ms]
    print(f"  best throughput meeting the SLO: {max(meeting, default=0.0):.1f} req/s")


def overhead(served_model: Any, local_model: Any, texts: list[str], rounds: int) -> None:
    print(f"3. http adapter overhead: one text per call, {rounds} alternating rounds of "
          f"{len(texts)} calls")
    times: dict[str, list[float]] = {"served (http, v2)": [], "in-process": []}
    calls: dict[str, Callable[[list[str]], Any]] = {"served (http, v2)": served_model.predict,
                                                    "in-process": local_model.predict}
    for _ in range(rounds):
        for name, call in calls.items():
            for text in texts:
                started = time.perf_counter()
                call([text])
                times[name].append((time.perf_counter() - started) * 1000)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:>18}: median {value:6.2f} ms per call (n={len(times[name])})")
    print(f"  overhead: {medians['served (http, v2)'] - medians['in-process']:+.2f} ms per call "
          f"(ratio {medians['served (http, v2)'] / medians['in-process']:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--slo-ms", type=float, default=250.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ceiling-only", action="store_true",
                        help="section 1 only (no model, no server)")
    add_arguments(parser)
    args = parser.parse_args()
    from modeltests import Session
    from modeltests.checks.load import DEFAULT_TEXTS
    from modeltests.measure.timing import current_torch_threads

    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, cores={os.cpu_count()}")
    ceiling(args.ceiling_seconds, args.ceiling_rounds, args.clients, args.processes, args.nginx)
    if args.ceiling_only:
        return
    with Session(rootdir=ROOT, progress=False) as session:
        runtime = session.runtime
        suite = runtime.suite(SUITE)
        model = runtime.models.model(suite)
        ((_, server),) = runtime.servers.started()
        assert server.facts is not None
        print(f"server cold start: {server.facts.cold_start_s:.2f} s")
        local = runtime.models.model(suite, "in-process")
        print(f"torch threads in this process: {current_torch_threads()}")
        served(model, DEFAULT_TEXTS, args.seconds, args.slo_ms)
        overhead(model, local, DEFAULT_TEXTS * 10, args.rounds)


if __name__ == "__main__":
    main()
