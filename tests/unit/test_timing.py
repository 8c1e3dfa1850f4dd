"""The timing loop with a fake clock, latency summaries on known inputs, baseline rules."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

import pytest

from modeltests.support.environment import fingerprint_mismatch
from modeltests.errors import UnsupportedCapabilityError
from modeltests.measure.timing import (
    TimingPlan,
    compare_to_baseline,
    is_stable,
    measure,
    scaling,
    summarize,
    time_alternately,
    time_callable,
    warm_up,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class FakeTimer:
    """Each call 'takes' the next duration (ms); the clock advances by it plus an overhead."""

    def __init__(self, durations: Iterable[float], overhead_ms: float = 0.0) -> None:
        self._durations = iter(durations)
        self.overhead_ms = overhead_ms
        self.clock_s = 0.0
        self.calls = 0

    def time_call(self, fn: Callable[[], Any]) -> float:
        fn()
        self.calls += 1
        duration = next(self._durations)
        self.clock_s += (duration + self.overhead_ms) / 1000
        return duration

    def now(self) -> float:
        return self.clock_s


def constant(ms: float) -> Iterable[float]:
    while True:
        yield ms


def noop() -> None:
    return None


# ------------------------------------------------------------------ stopping rules


def test_measure_stops_at_min_iterations_when_min_seconds_is_already_met() -> None:
    plan = TimingPlan(min_iterations=10, min_seconds=0.05, max_seconds=10)
    samples, seconds, reason = measure(noop, FakeTimer(constant(20.0)), plan)
    assert len(samples) == 10  # 10 x 20 ms = 0.2 s >= 0.05 s
    assert seconds == pytest.approx(0.2)
    assert reason == "min_iterations and min_seconds reached"


def test_measure_keeps_going_until_min_seconds() -> None:
    plan = TimingPlan(min_iterations=10, min_seconds=1.0, max_seconds=10)
    samples, seconds, _ = measure(noop, FakeTimer(constant(20.0)), plan)
    assert len(samples) == 50  # 1 s / 20 ms
    assert seconds == pytest.approx(1.0)


def test_measure_counts_loop_overhead_in_the_time_budget() -> None:
    plan = TimingPlan(min_iterations=1, min_seconds=1.0, max_seconds=10)
    samples, _, _ = measure(noop, FakeTimer(constant(10.0), overhead_ms=10.0), plan)
    assert len(samples) == 50  # each call costs 20 ms of wall time


def test_measure_stops_at_max_seconds_before_min_iterations() -> None:
    plan = TimingPlan(min_iterations=1000, min_seconds=0.0, max_seconds=0.5)
    samples, _, reason = measure(noop, FakeTimer(constant(100.0)), plan)
    assert len(samples) == 5
    assert reason == "max_seconds"


def test_measure_stops_at_max_iterations() -> None:
    plan = TimingPlan(min_iterations=5, min_seconds=100.0, max_iterations=7, max_seconds=1000)
    samples, _, reason = measure(noop, FakeTimer(constant(1.0)), plan)
    assert len(samples) == 7
    assert reason == "max_iterations"


def test_measure_always_takes_one_sample() -> None:
    plan = TimingPlan(min_iterations=1, min_seconds=0.0, max_seconds=1e-9)
    samples, _, _ = measure(noop, FakeTimer(constant(5.0)), plan)
    assert samples == [5.0]


# ------------------------------------------------------------------ warm-up


def test_fixed_warmup_makes_exactly_that_many_calls() -> None:
    timer = FakeTimer(constant(3.0))
    report = warm_up(noop, timer, TimingPlan(warmup=7))
    assert (report.iterations, report.stable, timer.calls) == (7, True, 7)


def test_auto_warmup_stops_when_the_median_settles() -> None:
    # slow first calls (lazy initialisation), then steady at 10 ms
    durations = [100.0, 50.0, 30.0, 20.0, 12.0] + [10.0] * 100
    report = warm_up(noop, FakeTimer(durations), TimingPlan(warmup="auto", window=5))
    # after 12 calls: [30, 20, 12, 10, 10] (median 12) vs [10] * 5: moved 17%;
    # after 13 calls: [20, 12, 10, 10, 10] (median 10) vs [10] * 5: settled
    assert report.stable
    assert report.iterations == 13
    assert is_stable(report.samples_ms, 5, 0.05)
    assert not is_stable(report.samples_ms[:-1], 5, 0.05)


def test_auto_warmup_is_capped_when_it_never_settles() -> None:
    growing = (float(2 ** i) for i in range(1000))
    report = warm_up(noop, FakeTimer(growing), TimingPlan(warmup="auto", max_warmup=12))
    assert (report.iterations, report.stable) == (12, False)


def test_auto_warmup_is_capped_by_time() -> None:
    growing = (100.0 * 1.5 ** i for i in range(1000))
    plan = TimingPlan(warmup="auto", max_warmup=1000, warmup_seconds=1.0)
    report = warm_up(noop, FakeTimer(growing), plan)
    assert not report.stable
    assert sum(report.samples_ms[:-1]) < 1000 <= sum(report.samples_ms)


def test_stability_rule_tolerance_is_relative_to_the_earlier_window() -> None:
    assert is_stable([100.0] * 3 + [104.9] * 3, window=3, tolerance=0.05)
    assert not is_stable([100.0] * 3 + [105.1] * 3, window=3, tolerance=0.05)
    assert not is_stable([100.0] * 5, window=3, tolerance=0.05)  # needs two full windows


def test_time_callable_warms_up_before_measuring() -> None:
    durations = [50.0, 40.0] + [10.0] * 100
    run = time_callable(noop, FakeTimer(durations), TimingPlan(warmup=2, min_iterations=5,
                                                               min_seconds=0))
    assert run.warmup.samples_ms == [50.0, 40.0]
    assert run.samples_ms == [10.0] * 5


# ------------------------------------------------------------------ summaries


def test_summary_of_one_to_hundred_ms() -> None:
    samples = [float(i) for i in range(1, 101)]
    s = summarize(samples, batch_size=4)
    # numpy linear percentiles of 1..100: p = 1 + 99 q
    assert s["p50_ms"] == pytest.approx(50.5)
    assert s["p90_ms"] == pytest.approx(90.1)
    assert s["p95_ms"] == pytest.approx(95.05)
    assert s["p99_ms"] == pytest.approx(99.01)
    assert s["mean_ms"] == pytest.approx(50.5)
    assert s["iqr_ms"] == pytest.approx(49.5)
    assert s["throughput"] == pytest.approx(4 * 1000 / 50.5)
    low, high = s["throughput_interval"]
    assert low < s["throughput"] < high


def test_calls_under_the_clocks_resolution_have_no_throughput_not_a_crash() -> None:
    # A fake generator's decode step, timed as the difference of two calls, can be 0 ms on a
    # busy machine (CI saw ZeroDivisionError here under two xdist workers).
    s = summarize([0.0] * 6, batch_size=1)
    assert s["p50_ms"] == 0.0 and s["mean_ms"] == 0.0
    assert s["throughput"] is None and s["throughput_interval"] is None


def test_sample_size_flags_follow_mlperf_counts() -> None:
    assert summarize([1.0] * 63, 1)["p90_supported"] is False
    flags = summarize([1.0] * 64, 1)
    assert flags["p90_supported"] is True and flags["p90_min_samples"] == 64
    assert flags["p99_supported"] is False and flags["p99_min_samples"] == 662
    assert summarize([1.0] * 662, 1)["p99_supported"] is True


def test_upper_bound_is_an_order_statistic_and_absent_for_tiny_samples() -> None:
    samples = [float(i) for i in range(1, 101)]
    s = summarize(samples, 1)
    # smallest k with P(Binomial(100, 0.5) < k) >= 0.95 is k = 59
    assert s["p50_upper_ms"] == 59.0
    assert s["p90_upper_ms"] in samples and s["p90_upper_ms"] >= s["p90_ms"]
    # p99 needs 1 - 0.99**n >= 0.95, i.e. n >= 299
    assert s["p99_upper_ms"] is None
    assert summarize([1.0] * 4, 1)["p50_upper_ms"] is None  # 1 - 0.5**4 < 0.95


def test_scaling_exponent_of_quadratic_and_linear_growth() -> None:
    quadratic = scaling([16, 32, 64, 128], [0.5 * n ** 2 for n in (16, 32, 64, 128)])
    assert quadratic is not None
    assert quadratic["exponent"] == pytest.approx(2.0)
    assert quadratic["ratio"] == pytest.approx(64.0)
    linear = scaling([128, 16], [128.0, 16.0])  # unsorted input
    assert linear is not None and linear["exponent"] == pytest.approx(1.0)
    assert linear["lengths"] == [16, 128]
    assert scaling([64, 64], [1.0, 2.0]) is None


# ------------------------------------------------------------------ baseline


def _fingerprint(**changes: Any) -> dict[str, Any]:
    facts = {"platform": "Linux-6", "machine": "x86_64", "processor": "x86_64", "cpu_count": 2,
             "torch": "2.13.0", "transformers": "4.57.6", "threads": 2, "device": "cpu",
             "cuda_device": None}
    facts.update(changes)
    return facts


def _headline(p50: float, iqr: float, **fingerprint: Any) -> dict[str, Any]:
    return {"config": "b8_l64", "mode": "end_to_end", "p50_ms": p50, "iqr_ms": iqr,
            "fingerprint": _fingerprint(**fingerprint)}


def test_slowdown_beyond_tolerance_and_spread_is_a_regression() -> None:
    samples = [12.0] * 20  # p50 12, IQR 0
    out = compare_to_baseline(samples, _headline(12.0, 0.0), _headline(10.0, 0.5), 0.10)
    assert out["compared"] and out["regression"]
    assert out["limit_ms"] == pytest.approx(11.0)  # 10 + max(1.0, 0.5, 0)
    assert out["slowdown"] == pytest.approx(0.2)


def test_slowdown_within_the_measured_spread_is_not_a_regression() -> None:
    samples = [10.0, 11.0, 12.0, 13.0, 14.0] * 4  # p50 12, IQR 2
    out = compare_to_baseline(samples, _headline(12.0, 2.0), _headline(10.0, 0.5), 0.10)
    assert out["compared"] and not out["regression"]
    assert out["limit_ms"] == pytest.approx(12.0)  # 10 + max(1.0, 0.5, 2.0)


def test_slowdown_within_tolerance_is_not_a_regression() -> None:
    out = compare_to_baseline([10.9] * 9, _headline(10.9, 0.0), _headline(10.0, 0.0), 0.10)
    assert out["compared"] and not out["regression"]


def test_fingerprint_mismatch_prevents_comparison_and_says_why() -> None:
    current = _headline(50.0, 0.0, threads=1)
    out = compare_to_baseline([50.0] * 9, current, _headline(10.0, 0.0, torch="2.12.0"), 0.1)
    assert out == {"compared": False, "reason": "hardware/library fingerprint differs "
                   "(torch: '2.12.0' -> '2.13.0'; threads: 2 -> 1)"}


def test_other_configuration_or_missing_fingerprint_prevents_comparison() -> None:
    other = dict(_headline(10.0, 0.0), config="b1_l64")
    out = compare_to_baseline([50.0] * 9, _headline(50.0, 0.0), other, 0.1)
    assert out == {"compared": False,
                   "reason": "the baseline measured config 'b1_l64', this run 'b8_l64'"}
    assert fingerprint_mismatch(_fingerprint(), None) == ["the baseline records no fingerprint"]
    assert fingerprint_mismatch(_fingerprint(), _fingerprint()) == []


# --------------------------------------------------------- two models, alternately


class FakeModel:
    """Records its calls; ``encode`` / ``forward`` are unsupported unless ``split``."""

    def __init__(self, name: str, log: list[str], split: bool = True) -> None:
        self.name, self.log, self.split = name, log, split

    def predict(self, texts: Any) -> None:
        self.log.append(f"{self.name} predict {len(texts)}")

    def encode(self, texts: Any) -> list[str]:
        if not self.split:
            raise UnsupportedCapabilityError("no encode step")
        return list(texts)

    def forward(self, batch: Any) -> None:
        self.log.append(f"{self.name} forward {len(batch)}")


def test_time_alternately_forwards_encoded_batches_and_alternates_the_order() -> None:
    log: list[str] = []
    timing = time_alternately(FakeModel("ref", log), FakeModel("new", log), list("abcde"),
                              batch_size=2, rounds=2)
    assert timing.mode == "forward" and timing.examples == 5 and timing.rounds == 2
    assert len(timing.reference_seconds) == len(timing.candidate_seconds) == 2
    assert timing.speedup > 0
    # a check call per model, a warm-up chunk per model, then round 1 ref first, round 2 new first
    assert log == ["ref forward 2", "new forward 2", "ref forward 2", "new forward 2"] + \
        ["ref forward 2", "ref forward 2", "ref forward 1"] + \
        ["new forward 2", "new forward 2", "new forward 1"] * 2 + \
        ["ref forward 2", "ref forward 2", "ref forward 1"]
    assert list(timing.details()) == ["mode", "examples", "batch_size", "rounds",
                                      "reference_seconds", "compressed_seconds", "torch_threads"]


def test_time_alternately_falls_back_to_predict() -> None:
    log: list[str] = []
    timing = time_alternately(FakeModel("ref", log), FakeModel("new", log, split=False),
                              ["a", "b", "c"], batch_size=3, rounds=1)
    assert timing.mode == "predict"
    # the candidate cannot encode, so nothing is forwarded: warm-up, then one round
    assert log == ["ref predict 3", "new predict 3", "ref predict 3", "new predict 3"]
