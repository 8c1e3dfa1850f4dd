"""The gate rules: exact limits for every operator, undecided thresholds, the sample-size advisor,
and the false-pass rates of both gates on simulated models with a known true accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from modeltests.stats.intervals import needed_sample_size, wilson_bounds
from modeltests.result import CheckParams, evaluate_thresholds, threshold
from modeltests.stats.proportions import wilson_interval


class Params(CheckParams):
    kind: str = "t"
    min_accuracy: float | None = threshold("", ge=0, le=1)
    max_accuracy_drop: float | None = threshold("", ge=-1, le=1)


@pytest.mark.parametrize(("metric", "limit", "value", "held"), [
    ("accuracy", 0.9, 0.9, True),                        # at the limit: >= holds
    ("accuracy", 0.9, 0.9 - 1e-12, True),                # floating-point noise is equality
    ("accuracy", 0.9, 0.9 - 1e-6, False),                # a real shortfall is not
    ("accuracy_drop", 0.01, (400 - 396) / 400, True),    # 0.010000000000000009 <= 0.01
    ("accuracy_drop", 0.01, 0.01 + 1e-6, False),
    ("accuracy_drop", 0.0, -0.0, True),
])
def test_limits_are_exact_for_both_operators(metric: str, limit: float, value: float,
                                             held: bool) -> None:
    params = Params(**{("min_" if metric == "accuracy" else "max_") + metric: limit})
    (result,) = evaluate_thresholds(params, {metric: value}, methods={metric: "exact"})
    assert (result.passed, result.state) == (held, "held" if held else "broken")


def test_an_interval_containing_the_limit_is_undecided_under_both_gates() -> None:
    interval = wilson_interval(368, 400)  # 0.92 observed, 0.889-0.943
    for gate, passed in (("estimate", True), ("bound", False)):
        (result,) = evaluate_thresholds(Params(min_accuracy=0.9), {"accuracy": 0.92},
                                        {"accuracy": interval}, gate, methods={"accuracy":
                                                                               "wilson"})
        assert (result.state, result.passed, result.gate) == ("undecided", passed, gate)
        assert result.to_json()["decided_by"] == ("bound" if gate == "bound" else "estimate")


def test_under_bound_the_printed_relation_holds_for_the_printed_number() -> None:
    (result,) = evaluate_thresholds(Params(min_accuracy=0.9), {"accuracy": 0.92},
                                    {"accuracy": wilson_interval(368, 400)}, "bound")
    assert result.describe() == ("accuracy 0.920, 95% lower bound 0.889 < 0.900 (gate: bound; "
                                 "95% CI 0.889 to 0.943)")


def test_a_metric_with_a_method_but_no_interval_is_undecided_never_passed_under_bound() -> None:
    (result,) = evaluate_thresholds(Params(min_accuracy=0.5), {"accuracy": 0.9}, {}, "bound",
                                    methods={"accuracy": "order-statistic"})
    assert (result.state, result.passed) == ("undecided", False)


def test_the_sample_size_advisor_is_exact_for_wilson() -> None:
    needed = needed_sample_size(0.92, 0.9, wilson_interval(368, 400), 400, "wilson")
    assert needed == 865
    low, _ = wilson_bounds(0.92, needed)
    assert low >= 0.9 > wilson_bounds(0.92, needed - 1)[0]
    assert needed_sample_size(0.9, 0.9, (0.85, 0.95), 100, "wilson") is None


def test_the_bootstrap_advisor_scales_the_half_width() -> None:
    # half-width 0.05 at n=100, 0.02 from the limit: (0.05 / 0.02)^2 * 100 = 625
    assert needed_sample_size(0.82, 0.80, (0.77, 0.87), 100, "bootstrap-percentile") == 625


SIMULATED = [(true, n) for true in (0.88, 0.89) for n in (100, 400, 1500)]


@pytest.mark.parametrize(("true", "n"), SIMULATED)
def test_false_pass_rates_of_both_gates(true: float, n: int) -> None:
    """A model truly below ``min_accuracy: 0.9``, measured on n rows, 4,000 times: the estimate
    gate passes it as often as the binomial law says; the bound gate at most 5% of the time."""
    draws = np.random.default_rng(0).binomial(n, true, size=4000)
    passes = {"estimate": 0, "bound": 0}
    for correct, times in zip(*np.unique(draws, return_counts=True)):
        for gate in passes:
            (result,) = evaluate_thresholds(
                Params(min_accuracy=0.9), {"accuracy": correct / n},
                {"accuracy": wilson_interval(int(correct), n)}, gate)  # type: ignore[arg-type]
            passes[gate] += int(times) * result.passed
    expected = binom.sf(np.ceil(0.9 * n) - 1, n, true)  # P(correct >= 0.9 n)
    spread = 4 * np.sqrt(expected * (1 - expected) / 4000) + 1e-3
    assert abs(passes["estimate"] / 4000 - expected) <= spread
    assert passes["bound"] / 4000 <= 0.05


def test_a_bootstrap_on_one_row_is_undecided_and_says_why() -> None:
    from pydantic import BaseModel

    from modeltests.result import evaluate_thresholds

    class Limits(BaseModel):
        max_mean_kl: float | None = 0.1

    [only] = evaluate_thresholds(Limits(), {"mean_kl": 0.01}, {}, "estimate",
                                 limits=[("mean_kl", "<=", 0.1)],
                                 methods={"mean_kl": "bootstrap-percentile"})
    assert (only.state, only.interval) == ("undecided", None)
    assert only.note == "no bootstrap-percentile interval: too few samples (at least 2 are needed)"
    assert only.describe() == ("mean_kl 0.010 <= 0.100 (no bootstrap-percentile interval: too "
                               "few samples (at least 2 are needed))")
