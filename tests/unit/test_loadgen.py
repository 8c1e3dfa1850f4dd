"""The load generator's bounds and counts (fake calls; no assertion about wall-clock time)."""

from __future__ import annotations

import json
import threading
import urllib.request

from modeltests.serving.loadgen import arrivals, closed_loop, null_endpoint, open_loop


def test_poisson_arrivals_are_seeded_bounded_and_near_their_rate() -> None:
    times = arrivals(1000.0, 10.0, seed=3, max_requests=100000)
    assert times == arrivals(1000.0, 10.0, seed=3, max_requests=100000)
    assert times == sorted(times) and 0 < times[0] and times[-1] < 10.0
    assert abs(len(times) - 10000) < 400  # 4 standard deviations of a Poisson count
    assert len(arrivals(1000.0, 10.0, seed=3, max_requests=50)) == 50


def test_closed_loop_stops_at_the_request_cap_and_counts_errors() -> None:
    seen: list[list[str]] = []
    lock = threading.Lock()

    def call(batch: list[str]) -> None:
        with lock:
            seen.append(batch)
            number = len(seen)
        if number % 2:
            raise RuntimeError(f"request {number} failed")

    step = closed_loop(call, ["a", "b", "c"], clients=3, duration_s=60, max_requests=40,
                       batch_size=2)
    assert (step.requests, step.errors, len(step.latencies_ms)) == (40, 20, 20)
    assert len(step.error_examples) == 5 and step.error_examples[0].startswith("RuntimeError")
    assert all(len(batch) == 2 for batch in seen) and step.scheduled == 40


def test_open_loop_sends_every_scheduled_arrival() -> None:
    calls: list[list[str]] = []
    step = open_loop(calls.append, ["x"], rate=200.0, duration_s=0.5, seed=1, max_requests=1000,
                     max_in_flight=4)
    assert step.scheduled == len(arrivals(200.0, 0.5, 1, 1000)) == len(calls) == step.requests
    assert step.errors == 0 and step.elapsed_s >= 0.5


def test_the_null_endpoint_answers_an_empty_object() -> None:
    with null_endpoint() as url:
        request = urllib.request.Request(url, data=json.dumps({"texts": ["a"]}).encode(),
                                         method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            assert (response.status, response.read()) == (200, b"{}")
