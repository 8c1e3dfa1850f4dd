"""Known-value tests for modeltests.stats: every expected number is derived by hand here."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modeltests import stats

Z95 = 1.959963984540054  # standard normal 0.975 quantile


def binom_cdf_exact(k: int, n: int, p: Fraction) -> Fraction:
    """P(Binomial(n, p) <= k) in exact rational arithmetic, independent of scipy."""
    return sum((math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k + 1)), Fraction(0))


def test_module_imports_nothing_heavy() -> None:
    code = (
        "import modeltests.stats, sys; "
        "assert 'numpy' not in sys.modules and 'scipy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------- Wilson


def test_wilson_81_of_100_matches_textbook_formula() -> None:
    n, p, z = 100, 0.81, Z95
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    low, high = stats.wilson_interval(81, 100)
    assert low == pytest.approx(centre - half, abs=1e-12)
    assert high == pytest.approx(centre + half, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.7222, 0.8749)


def test_wilson_empty_sample_knows_nothing() -> None:
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="successes"):
        stats.wilson_interval(5, 4)
    with pytest.raises(ValueError, match="confidence"):
        stats.wilson_interval(1, 4, confidence=95)


counts_and_totals = st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(counts_and_totals, st.floats(min_value=0.5, max_value=0.999))
def test_wilson_contains_point_estimate_and_lies_in_unit_interval(
    counts: tuple[int, int], confidence: float
) -> None:
    k, n = counts
    low, high = stats.wilson_interval(k, n, confidence)
    assert 0.0 <= low <= k / n + 1e-12
    assert k / n - 1e-12 <= high <= 1.0


def test_threshold_resolved() -> None:
    assert stats.threshold_resolved(0.72, 0.87, 0.70)  # entirely above: pass is decided
    assert stats.threshold_resolved(0.72, 0.87, 0.90)  # entirely below: fail is decided
    assert not stats.threshold_resolved(0.72, 0.87, 0.80)  # limit inside: undecided
    assert stats.threshold_resolved(0.72, 0.87, 0.87)  # on the edge is not strictly inside


# ---------------------------------------------------------- classification report

# Hand-built 3-class example. Confusion matrix (rows true, columns predicted):
#             cat dog bird   support
#   cat        3   1   0       4
#   dog        1   2   0       3
#   bird       0   1   2       3
#   predicted  4   4   2      10
# precision: cat 3/4, dog 2/4, bird 2/2; recall: cat 3/4, dog 2/3, bird 2/3
# F1: cat 3/4, dog 2*(1/2)(2/3)/(1/2+2/3) = 4/7, bird 2*(1)(2/3)/(5/3) = 4/5
LABELS = ["cat", "dog", "bird"]
Y_TRUE = ["cat"] * 4 + ["dog"] * 3 + ["bird"] * 3
Y_PRED = ["cat", "cat", "cat", "dog", "cat", "dog", "dog", "dog", "bird", "bird"]


def test_classification_report_hand_computed() -> None:
    r = stats.classification_report(Y_TRUE, Y_PRED, LABELS)
    assert r["confusion_matrix"] == [[3, 1, 0], [1, 2, 0], [0, 1, 2]]
    assert r["labels"] == LABELS and r["n"] == 10
    assert r["accuracy"] == pytest.approx(0.7)
    assert r["precision_macro"] == pytest.approx((3 / 4 + 2 / 4 + 1) / 3)  # 0.75
    assert r["recall_macro"] == pytest.approx((3 / 4 + 2 / 3 + 2 / 3) / 3)  # 25/36
    assert r["f1_macro"] == pytest.approx((3 / 4 + 4 / 7 + 4 / 5) / 3)  # 297/420
    for name in ("precision_micro", "recall_micro", "f1_micro"):
        assert r[name] == pytest.approx(0.7)  # single-label: micro = accuracy
    assert r["precision_weighted"] == pytest.approx((4 * 3 / 4 + 3 * 2 / 4 + 3 * 1) / 10)  # 0.75
    assert r["recall_weighted"] == pytest.approx(0.7)
    assert r["f1_weighted"] == pytest.approx((4 * 3 / 4 + 3 * 4 / 7 + 3 * 4 / 5) / 10)
    assert r["per_class"]["dog"] == pytest.approx(
        {"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7, "support": 3}
    )
    assert r["per_class"]["bird"]["precision"] == 1.0
    assert r["out_of_label_predictions"] == 0


def test_classification_report_is_plain_json() -> None:
    r = stats.classification_report(Y_TRUE, Y_PRED, LABELS)
    assert type(r["accuracy"]) is float and type(r["n"]) is int
    assert type(r["per_class"]["cat"]["support"]) is int
    assert all(type(v) is int for row in r["confusion_matrix"] for v in row)


def test_prediction_outside_labels_counts_as_wrong() -> None:
    r = stats.classification_report(["a", "a", "b", "b"], ["a", "zzz", "b", "a"], ["a", "b"])
    assert r["accuracy"] == 0.5
    assert r["confusion_matrix"] == [[1, 0], [1, 1]]  # the 'zzz' has no column
    assert r["out_of_label_predictions"] == 1
    assert r["per_class"]["a"]["recall"] == 0.5  # the 'zzz' is a miss for 'a'
    assert r["per_class"]["a"]["precision"] == 0.5  # predicted 'a' twice, right once
    assert r["precision_micro"] == r["recall_micro"] == r["f1_micro"] == 0.5


def test_prediction_of_another_type_does_not_crash() -> None:
    r = stats.classification_report(["a", "b"], ["a", 7], ["a", "b"])  # type: ignore[list-item]
    assert r["accuracy"] == 0.5 and r["out_of_label_predictions"] == 1


def test_true_label_outside_labels_is_an_error() -> None:
    with pytest.raises(ValueError, match="true labels not in 'labels'.*'c'"):
        stats.classification_report(["a", "c"], ["a", "a"], ["a", "b"])


# ------------------------------------------------------------- paired comparison


def _paired(b: int, c: int, a: int = 0, d: int = 0) -> tuple[list[bool], list[bool]]:
    """Correctness vectors with a both-right, b ref-only, c new-only, d both-wrong."""
    ref = [True] * a + [True] * b + [False] * c + [False] * d
    new = [True] * a + [False] * b + [True] * c + [False] * d
    return ref, new


def test_mcnemar_known_table() -> None:
    ref, new = _paired(b=10, c=2, a=30, d=5)
    result = stats.mcnemar_test(ref, new)
    # two-sided exact: 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * (1 + 12 + 66) / 4096
    assert result == {"b": 10, "c": 2, "p_value": pytest.approx(158 / 4096)}


def test_mcnemar_no_discordant_pairs() -> None:
    ref, new = _paired(b=0, c=0, a=5, d=5)
    assert stats.mcnemar_test(ref, new) == {"b": 0, "c": 0, "p_value": 1.0}


def test_paired_interval_published_example() -> None:
    # Cavo et al. (2012) as analysed by Fagerland, Lydersen & Laake (2017), ch. 8:
    # table [[59, 6], [16, 80]], Newcombe square-and-add: -0.0621 (95% CI -0.1186 to -0.0046)
    ref, new = _paired(a=59, c=6, b=16, d=80)
    low, high = stats.paired_difference_interval(ref, new)
    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046)


def test_paired_interval_contains_difference_and_shrinks_with_n() -> None:
    widths = []
    for scale in (1, 4, 16):
        ref, new = _paired(a=60 * scale, b=5 * scale, c=12 * scale, d=23 * scale)
        low, high = stats.paired_difference_interval(ref, new)
        assert low < (12 - 5) / 100 < high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


def test_paired_interval_without_discordant_pairs_is_not_degenerate() -> None:
    ref, new = _paired(b=0, c=0, a=45, d=5)
    low, high = stats.paired_difference_interval(ref, new)
    assert low < 0.0 < high  # Wald would give the zero-width (0, 0)


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_paired_interval_property(a: int, b: int, c: int, d: int) -> None:
    ref, new = _paired(a=a, b=b, c=c, d=d)
    low, high = stats.paired_difference_interval(ref, new)
    n = a + b + c + d
    diff = (c - b) / n if n else 0.0
    assert -1.0 <= low <= diff + 1e-12 and diff - 1e-12 <= high <= 1.0


def test_agreement() -> None:
    assert stats.agreement([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    import numpy as np

    assert stats.agreement(np.array([1, 2]), np.array([1, 3])) == 0.5
    with pytest.raises(ValueError, match="same length"):
        stats.agreement([1], [1, 2])


# ---------------------------------------------------------- probability matrices


def test_kl_of_identical_distributions_is_zero() -> None:
    p = [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]
    assert stats.mean_kl_divergence(p, p) == pytest.approx(0.0, abs=1e-9)


def test_kl_hand_computed_pair() -> None:
    # KL([.5,.5] || [.9,.1]) = .5 ln(.5/.9) + .5 ln(.5/.1) = .5 ln(25/9) = ln(5/3)
    assert stats.mean_kl_divergence([[0.5, 0.5]], [[0.9, 0.1]]) == pytest.approx(math.log(5 / 3))
    # mean over rows: second row identical contributes 0
    both = stats.mean_kl_divergence([[0.5, 0.5], [0.3, 0.7]], [[0.9, 0.1], [0.3, 0.7]])
    assert both == pytest.approx(math.log(5 / 3) / 2)


def test_kl_zero_in_q_is_finite() -> None:
    assert math.isfinite(stats.mean_kl_divergence([[0.5, 0.5]], [[1.0, 0.0]]))


def test_max_abs_difference() -> None:
    assert stats.max_abs_difference([[0.1, 0.9], [0.5, 0.5]], [[0.2, 0.8], [0.9, 0.1]]) == (
        pytest.approx(0.4)
    )
    with pytest.raises(ValueError, match="shape"):
        stats.max_abs_difference([[0.5, 0.5]], [[1.0, 0.0, 0.0]])


# -------------------------------------------------- a candidate against a reference


def test_compare_paired_hand_computed() -> None:
    truth = ["pos", "pos", "neg", "neg", "pos"]
    ref = ["pos", "pos", "neg", "pos", "pos"]  # 4 of 5 right
    new = ["pos", "neg", "neg", "pos", "neg"]  # 2 of 5 right; disagrees with ref on rows 1, 4
    paired = stats.compare_paired(truth, ref, new)
    assert (paired.n, paired.accuracy_reference, paired.accuracy_candidate) == (5, 0.8, 0.4)
    assert paired.accuracy_drop == pytest.approx(0.4)
    assert paired.relative_accuracy == pytest.approx(0.5)
    assert paired.agreement == 0.6
    ref_ok = [t == p for t, p in zip(truth, ref)]
    new_ok = [t == p for t, p in zip(truth, new)]
    low, high = stats.paired_difference_interval(ref_ok, new_ok)
    assert paired.drop_interval == (-high, -low)  # the interval of new - ref, negated
    assert paired.agreement_interval == stats.wilson_interval(3, 5)
    assert paired.mcnemar == {"b": 2, "c": 0, "p_value": 0.5}
    assert paired.mean_kl is None and paired.max_prob_change is None  # labels only


def test_compare_paired_with_probabilities_and_a_reference_at_zero() -> None:
    p = [[0.9, 0.1], [0.2, 0.8]]
    q = [[0.5, 0.5], [0.2, 0.8]]
    paired = stats.compare_paired(["b", "a"], ["a", "b"], ["a", "b"], p, q)
    assert paired.accuracy_reference == 0.0 and paired.relative_accuracy is None
    assert paired.mean_kl == pytest.approx(stats.mean_kl_divergence(p, q))
    assert paired.max_prob_change == pytest.approx(0.4)
    with pytest.raises(ValueError, match="same length"):
        stats.compare_paired(["a"], ["a", "b"], ["a"])
    with pytest.raises(ValueError, match="at least one example"):
        stats.compare_paired([], [], [])


# ------------------------------------------------------------------------ latency


def test_latency_summary_1_to_100() -> None:
    s = stats.latency_summary([float(i) for i in range(1, 101)])
    assert s["n"] == 100 and s["min"] == 1.0 and s["max"] == 100.0
    assert s["mean"] == 50.5
    assert s["std"] == pytest.approx(math.sqrt(100 * 101 / 12))  # sample sd of 1..n
    # linear interpolation: position (n-1) * q / 100 + 1 in 1-based ranks
    assert s["p50"] == pytest.approx(50.5)
    assert s["p90"] == pytest.approx(90.1)
    assert s["p95"] == pytest.approx(95.05)
    assert s["p99"] == pytest.approx(99.01)
    assert s["iqr"] == pytest.approx(75.25 - 25.75)


def test_latency_summary_single_sample_has_no_std() -> None:
    assert stats.latency_summary([3.0])["std"] is None


def test_percentile_upper_bound_p90_on_1_to_1000() -> None:
    samples = [float(i) for i in range(1000, 0, -1)]  # order must not matter
    bound = stats.percentile_upper_bound(samples, 0.90, confidence=0.95)
    assert bound is not None and bound >= stats.latency_summary(samples)["p90"]
    # x_(k) = k here; k = 916 is the smallest with P(Binomial(1000, 0.9) <= k - 1) >= 0.95
    assert bound == 916.0
    q = Fraction(9, 10)
    assert binom_cdf_exact(915, 1000, q) >= Fraction(95, 100)
    assert binom_cdf_exact(914, 1000, q) < Fraction(95, 100)


def test_percentile_upper_bound_none_for_tiny_samples() -> None:
    # x_(n) bounds the p90 at 95% only when 1 - 0.9**n >= 0.95, i.e. n >= 29
    assert stats.percentile_upper_bound([1.0] * 28, 0.90) is None
    assert stats.percentile_upper_bound([float(i) for i in range(29)], 0.90) == 28.0
    assert stats.percentile_upper_bound([], 0.90) is None


def test_mlperf_minimum_query_counts() -> None:
    assert stats.min_samples_for_percentile(0.90) == 64
    assert stats.min_samples_for_percentile(0.99) == 662


def test_min_samples_rule_by_exact_arithmetic() -> None:
    for q, n in ((Fraction(9, 10), 64), (Fraction(99, 100), 662)):
        assert binom_cdf_exact(1, n, 1 - q) < Fraction(1, 100)
        assert binom_cdf_exact(1, n - 1, 1 - q) >= Fraction(1, 100)
    # zero allowed over: 0.9**n < 0.01 first at n = 44
    assert stats.min_samples_for_percentile(0.90, allowed_over=0) == 44


def test_min_samples_agrees_with_upper_bound() -> None:
    n = stats.min_samples_for_percentile(0.95, allowed_over=0, confidence=0.9)
    assert stats.percentile_upper_bound(list(range(n)), 0.95, confidence=0.9) is not None
    assert stats.percentile_upper_bound(list(range(n - 1)), 0.95, confidence=0.9) is None


def test_percentile_supported() -> None:
    assert not stats.percentile_supported(63, 0.90)
    assert stats.percentile_supported(64, 0.90)
    assert not stats.percentile_supported(661, 0.99)
    assert stats.percentile_supported(662, 0.99)


def test_fit_scaling_exponent() -> None:
    xs = [16.0, 32.0, 64.0, 128.0, 256.0]
    assert stats.fit_scaling_exponent(xs, [x**2 for x in xs]) == pytest.approx(2.0)
    assert stats.fit_scaling_exponent(xs, [3 * x + 0.0 for x in xs]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="positive"):
        stats.fit_scaling_exponent([1.0, 2.0], [0.0, 1.0])


# ------------------------------------------------------- comparison to a saved run


def test_regression_rule() -> None:
    steady = [10.0, 10.0, 10.0, 10.0, 10.0]  # iqr 0
    slower = [12.0] * 5
    # baseline median 10, rel_tol 10%: limit = 10 + max(1.0, iqr_base, iqr_cur)
    assert stats.is_regression(slower, 10.0, 0.5, rel_tol=0.10)  # +2 > max(1, 0.5, 0)
    assert not stats.is_regression(steady, 10.0, 0.5, rel_tol=0.10)
    assert not stats.is_regression(slower, 10.0, 0.5, rel_tol=0.25)  # +2 < 2.5 relative
    assert not stats.is_regression(slower, 10.0, 3.0, rel_tol=0.10)  # +2 < baseline IQR 3
    noisy = [8.0, 10.0, 12.0, 14.0, 16.0]  # median 12, iqr 14 - 10 = 4
    assert not stats.is_regression(noisy, 10.0, 0.5, rel_tol=0.10)  # +2 < current IQR 4
    assert stats.regression_limit(10.0, 0.5, 4.0, 0.10) == 14.0
    assert not stats.is_regression([11.0] * 5, 10.0, 0.0, rel_tol=0.10)  # exactly at limit


def test_holm_adjust_matches_the_step_down_by_hand() -> None:
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> kept at 0.06.
    assert stats.holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm_adjust([0.5, 1.0]) == [1.0, 1.0]
    assert stats.holm_adjust([]) == []


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_adjust_lies_between_raw_and_bonferroni(p_values: list[float]) -> None:
    adjusted = stats.holm_adjust(p_values)
    m = len(p_values)
    for p, a in zip(p_values, adjusted):
        assert p <= a <= min(1.0, m * p) + 1e-12
    ordered = [a for _, a in sorted(zip(p_values, adjusted))]
    assert ordered == sorted(ordered)  # monotone in the raw p-values


def test_holm_adjust_refuses_values_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="p-values must lie in"):
        stats.holm_adjust([0.2, 1.5])


def test_bootstrap_mean_is_seeded_and_brackets_the_mean() -> None:
    import numpy as np

    from modeltests.stats.intervals import bootstrap_mean

    values = np.random.default_rng(0).exponential(0.05, size=500)
    first, again = bootstrap_mean(values, seed=3), bootstrap_mean(values, seed=3)
    assert first == again
    assert first is not None and first[0] < values.mean() < first[1]
    # The percentile interval's width is close to the normal one (4 standard errors).
    normal_width = 2 * 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert abs((first[1] - first[0]) / normal_width - 1) < 0.15
    assert bootstrap_mean(values[:1], seed=3) is None


def test_bootstrap_paired_ratio_matches_resampling_rows() -> None:
    """Drawing the four (right, right?) cell counts is resampling rows in pairs: the interval
    is close to one from explicit row resampling."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_paired_ratio

    rng = np.random.default_rng(1)
    reference = rng.random(400) < 0.8
    candidate = np.where(rng.random(400) < 0.9, reference, ~reference)
    low, high = bootstrap_paired_ratio(reference, candidate, seed=5) or (0.0, 0.0)
    rows = rng.integers(0, 400, size=(4000, 400))
    ratios = candidate[rows].mean(axis=1) / reference[rows].mean(axis=1)
    assert low == pytest.approx(np.percentile(ratios, 2.5), abs=0.01)
    assert high == pytest.approx(np.percentile(ratios, 97.5), abs=0.01)
    assert bootstrap_paired_ratio(reference[:1], candidate[:1], seed=5) is None


def _worst_recall_coverage(runs: int, seed: int) -> tuple[float, float]:
    """Shares of ``runs`` simulated test sets (3 classes of 100 rows, every class's true recall
    0.9: a tie) whose 95% interval holds the true worst-class recall 0.9: (simultaneous
    Bonferroni-Wilson bounds, a Wilson interval around the lowest-scoring class)."""
    import numpy as np

    from modeltests.stats.proportions import wilson_interval, worst_rate_interval

    rng = np.random.default_rng(seed)
    held = {"simultaneous": 0, "lowest": 0}
    for hits in rng.binomial(100, 0.9, size=(runs, 3)).tolist():
        low, high = worst_rate_interval(hits, [100, 100, 100])
        held["simultaneous"] += low <= 0.9 <= high
        low, high = wilson_interval(min(hits), 100)
        held["lowest"] += low <= 0.9 <= high
    return held["simultaneous"] / runs, held["lowest"] / runs


def test_the_worst_class_recall_interval_is_valid_for_tied_classes() -> None:
    simultaneous, lowest = _worst_recall_coverage(runs=1000, seed=26)
    assert simultaneous >= 0.95 and lowest < 0.95, (simultaneous, lowest)


def test_the_passing_value_passes_80_percent_of_runs() -> None:
    # Issue 26: at n=400 a model truly 3 points above a 0.90 limit passed 57% of runs; 80% needs
    # 0.939. Checked by simulation: the gate (Wilson lower bound >= limit) on binomial draws.
    import numpy as np

    from modeltests.stats.intervals import margin_sample_size, passing_value
    from modeltests.stats.proportions import wilson_interval

    value = passing_value(0.9, ">=", 400, "wilson", 0.9, (0.9, 0.9))
    assert value is not None and round(value, 3) == 0.939
    decided = {s: wilson_interval(s, 400)[0] >= 0.9 for s in range(340, 401)}
    for rate, share in ((value, 0.8), (0.93, 0.57)):
        hits = np.random.default_rng(26).binomial(400, rate, size=4000)
        passed = np.mean([decided.get(int(h), False) for h in hits])
        assert abs(passed - share) < 0.03, (rate, passed)
    # n for a true 0.92 to pass 80% of runs: the passing value at that n is at most 0.92.
    needed = margin_sample_size(0.9, ">=", 400, "wilson", 0.9, (0.9, 0.9))
    assert needed is not None
    assert passing_value(0.9, ">=", needed, "wilson", 0.9, (0.9, 0.9)) <= 0.92  # type: ignore[operator]
    assert passing_value(0.9, ">=", needed - 1, "wilson", 0.9, (0.9, 0.9)) > 0.92  # type: ignore[operator]
