"""``latency``'s ``compare_to`` pieces without a model: the interleaved loop with a fake clock,
the bootstrap interval of a ratio of medians, the crossover rule, BigBird's fall-back rule."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from modeltests.checks.latency.attention import fallback_threshold
from modeltests.checks.latency.compare import describe_crossover, find_crossover
from modeltests.stats.intervals import bootstrap_median_ratio
from modeltests.measure.timing import TimingPlan, time_interleaved

from .test_timing import FakeTimer, constant


def recorder(name: str, log: list[str]) -> Callable[[], Any]:
    def call() -> None:
        log.append(name)
    return call


def test_interleaved_rounds_rotate_who_goes_first_and_give_equal_counts() -> None:
    log: list[str] = []
    plan = TimingPlan(warmup=1, min_iterations=3, min_seconds=0, max_seconds=10)
    runs = time_interleaved([recorder("a", log), recorder("b", log)], FakeTimer(constant(1.0)),
                            plan)
    # one warm-up call each, then rounds a b / b a / a b
    assert log == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert [len(r.samples_ms) for r in runs] == [3, 3]
    assert [r.warmup.iterations for r in runs] == [1, 1]
    assert {r.stop_reason for r in runs} == {"min_iterations and min_seconds reached"}


def test_interleaved_time_budgets_count_once_per_function() -> None:
    # 10 ms per call, two functions: 20 ms a round; min_seconds 0.1 per function = 0.2 s,
    # reached after 10 rounds (well past min_iterations 2)
    plan = TimingPlan(warmup=0, min_iterations=2, min_seconds=0.1, max_seconds=10)
    runs = time_interleaved([lambda: None, lambda: None], FakeTimer(constant(10.0)), plan)
    assert [len(r.samples_ms) for r in runs] == [10, 10]


def test_interleaved_rounds_stop_at_max_seconds_per_function() -> None:
    plan = TimingPlan(warmup=0, min_iterations=100, min_seconds=0, max_seconds=0.05)
    runs = time_interleaved([lambda: None, lambda: None], FakeTimer(constant(12.0)), plan)
    assert [len(r.samples_ms) for r in runs] == [5, 5]  # 0.1 s for both: 4 rounds of 24 ms
    # are 0.096 s, so a fifth starts
    assert runs[0].stop_reason == "max_seconds"


def test_median_ratio_interval_holds_the_ratio_of_medians_and_pairs_the_rounds() -> None:
    rng = np.random.default_rng(1)
    noise = rng.uniform(0.5, 2.0, 40)  # a load shared by both series round by round
    slow, fast = 30.0 * noise, 10.0 * noise
    low, high = bootstrap_median_ratio(slow, fast, seed=0) or (0.0, 0.0)
    assert low <= np.median(slow) / np.median(fast) <= high
    # the shared noise cancels in paired resamples: every resample's ratio is exactly 3
    assert abs(low - 3.0) < 1e-9 and abs(high - 3.0) < 1e-9
    unpaired = bootstrap_median_ratio(slow, rng.permutation(fast), seed=0) or (0.0, 0.0)
    assert unpaired[1] - unpaired[0] > 0.1  # without the pairing the same data spread widely
    assert bootstrap_median_ratio(slow[:1], fast[:1], seed=0) is None
    assert bootstrap_median_ratio(slow, fast[:-1], seed=0) is None


def test_crossover_is_the_first_length_on_the_other_side_of_one() -> None:
    assert find_crossover([(512, 1.4), (1024, 1.4), (2048, 0.96), (4096, 0.77)]) == {
        "length": 2048, "previous_length": 1024, "direction": "becomes faster"}
    assert find_crossover([(512, 0.5), (1024, 1.2)]) == {
        "length": 1024, "previous_length": 512, "direction": "becomes slower"}
    assert find_crossover([(512, 2.5), (1024, 2.6), (2048, 4.1)]) is None
    assert find_crossover([(512, 0.5)]) is None
    assert describe_crossover(None, True) == "none in the range"
    assert describe_crossover(None, False) == "no sequence lengths swept: no crossover length"
    assert describe_crossover({"length": 2048, "previous_length": 1024,
                               "direction": "becomes faster"}, True) == (
        "this model becomes faster than the compare_to model between 1024 and 2048 tokens")


def test_fallback_threshold_follows_transformers_formula() -> None:
    # BigBirdModel.forward: (5 + 2 * num_random_blocks) * block_size; 704 with the defaults
    assert fallback_threshold(64, 3) == 704
    assert fallback_threshold(16, 1) == 112
