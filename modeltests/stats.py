"""Pure statistics for release gates: proportions, paired comparisons, latency.

Every function here is pure and deterministic. numpy, scipy and scikit-learn are
imported inside the functions so that importing this module (and so collecting a
suite) stays cheap.

Conventions:

* ``ref`` is the reference (baseline) model and ``new`` the candidate. In paired
  tables ``b`` counts examples the reference got right and the candidate got
  wrong, ``c`` the reverse; differences are ``new - ref``.
* Inputs that cannot give an honest number (empty samples, mismatched lengths,
  probabilities outside [0, 1]) raise ``ValueError``; nothing silently returns 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "PairedComparison",
    "agreement",
    "classification_report",
    "compare_paired",
    "fit_scaling_exponent",
    "is_regression",
    "latency_summary",
    "max_abs_difference",
    "mcnemar_test",
    "mean_kl_divergence",
    "min_samples_for_percentile",
    "paired_difference_interval",
    "percentile_supported",
    "percentile_upper_bound",
    "regression_limit",
    "threshold_resolved",
    "wilson_interval",
]


# --------------------------------------------------------------------------- checks


def _check_open_unit(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"'{name}' must be a number in (0, 1) (got {value!r})")


def _check_same_length(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"sequences must have the same length (got {len(a)} and {len(b)})")


# ------------------------------------------------------------------- proportions


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Computed by ``scipy.stats.binomtest(successes, n).proportion_ci(method="wilson")``
    (no continuity correction). With ``n == 0`` nothing is known: ``(0.0, 1.0)``.
    """
    _check_open_unit("confidence", confidence)
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n (got successes={successes}, n={n})")
    if n == 0:
        return (0.0, 1.0)
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(n)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return (float(ci.low), float(ci.high))


def threshold_resolved(low: float, high: float, limit: float) -> bool:
    """Whether an interval ``[low, high]`` decides a threshold ``limit``.

    False when the limit lies strictly inside the interval: the sample is too small
    to say on which side of the threshold the true value lies.
    """
    return not low < limit < high


def agreement(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Fraction of positions where ``a[i] == b[i]`` (e.g. top-1 agreement)."""
    _check_same_length(a, b)
    if len(a) == 0:
        raise ValueError("agreement of empty sequences is undefined")
    return sum(1 for x, y in zip(a, b) if x == y) / len(a)


# -------------------------------------------------------------- classification


def _encode(
    y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any]
) -> tuple[list[int], list[int], int]:
    """Map labels to 0..k-1; predictions outside ``labels`` become ``k`` (always wrong)."""
    index = {label: i for i, label in enumerate(labels)}
    if len(index) != len(labels):
        raise ValueError(f"'labels' must not contain duplicates (got {list(labels)!r})")
    unknown = sorted({str(y) for y in y_true if y not in index})
    if unknown:
        raise ValueError(f"true labels not in 'labels' {list(labels)!r}: {unknown!r}")
    k = len(labels)
    return [index[y] for y in y_true], [index.get(y, k) for y in y_pred], k


def classification_report(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str],
    counts: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Accuracy, precision/recall/F1 (macro, micro, weighted, per class) and confusion matrix.

    Computed with ``sklearn.metrics`` (``zero_division=0``) and returned as plain JSON
    types. ``confusion_matrix`` has rows = true label and columns = predicted label,
    both in ``labels`` order. A prediction outside ``labels`` counts as wrong: it
    lowers accuracy, the recall of its true class and every micro figure, has no
    column in the matrix (that row sums to less than its support) and is counted in
    ``out_of_label_predictions``. A true label outside ``labels`` is a data error and
    raises ``ValueError``.

    Macro figures are unweighted means of the per-class figures (macro F1 is the mean
    of per-class F1, not the F1 of macro precision and recall); a label in ``labels``
    that never occurs scores 0 and still counts in macro means.

    With ``counts``, each (true, predicted) pair stands for that many rows (a confusion
    matrix's cells, e.g. streamed from a file too big for memory): sklearn's
    ``sample_weight``, whose integer sums are exact, so the figures are those of the rows.
    """
    _check_same_length(y_true, y_pred)
    if counts is not None:
        _check_same_length(y_true, counts)
    n = len(y_true) if counts is None else int(sum(counts))
    if n == 0:
        raise ValueError("classification_report needs at least one example")
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    t, p, k = _encode(y_true, y_pred, labels)
    known = list(range(k))
    weights = None if counts is None else [int(c) for c in counts]
    unknown_count = sum(1 if weights is None else weights[i] for i, x in enumerate(p) if x == k)
    # Micro figures include the "outside labels" column so those predictions count as wrong.
    micro_labels = known + ([k] if unknown_count else [])
    report: dict[str, Any] = {"accuracy": float(accuracy_score(t, p, sample_weight=weights))}
    for average in ("macro", "micro", "weighted"):
        chosen = micro_labels if average == "micro" else known
        prec, rec, f1, _ = precision_recall_fscore_support(
            t, p, labels=chosen, average=average, zero_division=0, sample_weight=weights
        )
        report[f"precision_{average}"] = float(prec)
        report[f"recall_{average}"] = float(rec)
        report[f"f1_{average}"] = float(f1)
    prec, rec, f1, support = precision_recall_fscore_support(
        t, p, labels=known, average=None, zero_division=0, sample_weight=weights
    )
    report["per_class"] = {
        str(label): {
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    matrix = confusion_matrix(t, p, labels=known, sample_weight=weights)
    report["confusion_matrix"] = [[int(v) for v in row] for row in matrix]
    report["out_of_label_predictions"] = unknown_count
    report["labels"] = [str(label) for label in labels]
    report["n"] = n
    return report


# ------------------------------------------------------------ paired comparison


def _paired_counts(
    ref_correct: Sequence[bool], new_correct: Sequence[bool]
) -> tuple[int, int, int, int]:
    """``(a, b, c, d)``: both right, ref right only, new right only, both wrong."""
    _check_same_length(ref_correct, new_correct)
    a = b = c = d = 0
    for r, s in zip(ref_correct, new_correct):
        if r and s:
            a += 1
        elif r:
            b += 1
        elif s:
            c += 1
        else:
            d += 1
    return a, b, c, d


def mcnemar_test(ref_correct: Sequence[bool], new_correct: Sequence[bool]) -> dict[str, Any]:
    """Exact McNemar test of paired correctness.

    ``b`` = reference right and candidate wrong, ``c`` = reference wrong and candidate
    right. ``p_value`` is the exact two-sided binomial test of ``b`` successes in
    ``b + c`` trials with probability 1/2 (``scipy.stats.binomtest``); 1.0 when there
    are no discordant pairs.
    """
    _, b, c, _ = _paired_counts(ref_correct, new_correct)
    if b + c == 0:
        return {"b": 0, "c": 0, "p_value": 1.0}
    from scipy.stats import binomtest

    p_value = binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
    return {"b": b, "c": c, "p_value": float(min(1.0, p_value))}


def _newcombe_phi(a: int, b: int, c: int, d: int) -> float:
    """Newcombe's continuity-corrected correlation between the two paired proportions."""
    n = a + b + c + d
    margins = (a + c) * (b + d) * (a + b) * (c + d)
    if margins == 0:
        return 0.0
    cross = a * d - b * c
    if cross > n / 2:
        cross_cc = cross - n / 2
    elif cross >= 0:
        cross_cc = 0.0
    else:
        cross_cc = float(cross)
    return cross_cc / math.sqrt(margins)


def paired_difference_interval(
    ref_correct: Sequence[bool], new_correct: Sequence[bool], confidence: float = 0.95
) -> tuple[float, float]:
    """Confidence interval for ``accuracy(new) - accuracy(ref)`` on the same examples.

    Newcombe's square-and-add interval for paired proportions, method 10 of
    R. G. Newcombe, "Improved confidence intervals for the difference between
    binomial proportions based on paired data", Statistics in Medicine 17 (1998)
    2635-2650; also Fagerland, Lydersen & Laake, "Statistical Analysis of Contingency
    Tables" (2017), ch. 8, who recommend it. With ``p1 = acc(new)``, ``p2 = acc(ref)``,
    ``theta = p1 - p2``, Wilson intervals ``(l1, u1)`` and ``(l2, u2)``::

        L = theta - sqrt((p1 - l1)**2 + (u2 - p2)**2 - 2 phi (p1 - l1)(u2 - p2))
        U = theta + sqrt((p2 - l2)**2 + (u1 - p1)**2 - 2 phi (p2 - l2)(u1 - p1))

    where ``phi = C / sqrt((a+c)(b+d)(a+b)(c+d))`` and, with ``A = a d - b c``,
    ``C = A - n/2`` if ``A > n/2``, ``0`` if ``0 <= A <= n/2``, ``A`` if ``A < 0``
    (``phi = 0`` when a margin is empty). Unlike the Wald interval it stays sensible
    with few discordant pairs. Empty inputs give ``(-1.0, 1.0)``.
    """
    _check_open_unit("confidence", confidence)
    a, b, c, d = _paired_counts(ref_correct, new_correct)
    n = a + b + c + d
    if n == 0:
        return (-1.0, 1.0)
    p1, p2 = (a + c) / n, (a + b) / n
    l1, u1 = wilson_interval(a + c, n, confidence)
    l2, u2 = wilson_interval(a + b, n, confidence)
    phi = _newcombe_phi(a, b, c, d)
    theta = p1 - p2
    down = (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)
    up = (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)
    low = theta - math.sqrt(max(down, 0.0))
    high = theta + math.sqrt(max(up, 0.0))
    return (max(-1.0, low), min(1.0, high))


# ------------------------------------------------------ probability matrices


def _as_matrices(p: npt.ArrayLike, q: npt.ArrayLike
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    import numpy as np

    pa = np.atleast_2d(np.asarray(p, dtype=float))
    qa = np.atleast_2d(np.asarray(q, dtype=float))
    if pa.shape != qa.shape or pa.ndim != 2:
        raise ValueError(
            f"probability matrices must have the same (n, k) shape (got {pa.shape} and {qa.shape})"
        )
    if pa.size == 0:
        raise ValueError("probability matrices must not be empty")
    return pa, qa


def mean_kl_divergence(p: npt.ArrayLike, q: npt.ArrayLike, eps: float = 1e-12) -> float:
    """Mean over rows of KL(p_i || q_i) in nats, for (n, k) probability matrices.

    ``p`` is the reference distribution. Both are clipped to ``[eps, 1]`` (so a zero in
    ``q`` gives a large finite value, not infinity) and each row is renormalised by
    ``scipy.stats.entropy(p, q, axis=1)``. A 1-D input is one row.
    """
    import numpy as np

    return float(np.mean(kl_per_row(p, q, eps)))


def kl_per_row(p: npt.ArrayLike, q: npt.ArrayLike, eps: float = 1e-12
               ) -> npt.NDArray[np.float64]:
    """KL(p_i || q_i) in nats for each row (the terms :func:`mean_kl_divergence` averages)."""
    import numpy as np
    from scipy.stats import entropy

    pa, qa = _as_matrices(p, q)
    if np.any(pa < 0) or np.any(qa < 0):
        raise ValueError("probabilities must be non-negative")
    return np.asarray(entropy(np.clip(pa, eps, 1.0), np.clip(qa, eps, 1.0), axis=1),
                      dtype=np.float64)


def max_abs_difference(p: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """Largest absolute element-wise difference between two same-shaped matrices."""
    import numpy as np

    pa, qa = _as_matrices(p, q)
    return float(np.max(np.abs(pa - qa)))


# ------------------------------------------------- a candidate against a reference


@dataclass(frozen=True)
class PairedComparison:
    """A candidate model against a reference on the same labelled examples.

    ``drop_interval`` is the 95% interval of ``accuracy_drop`` (reference - candidate, positive
    when the candidate is worse): :func:`paired_difference_interval`, negated.
    ``agreement_interval`` is the Wilson interval of the top-1 agreement. The probability
    figures are None when either model gave labels only.
    """

    n: int
    accuracy_reference: float
    accuracy_candidate: float
    drop_interval: tuple[float, float]
    mcnemar: dict[str, Any]
    agreement: float
    agreement_interval: tuple[float, float]
    mean_kl: float | None = None
    max_prob_change: float | None = None

    @property
    def accuracy_drop(self) -> float:
        return self.accuracy_reference - self.accuracy_candidate

    @property
    def relative_accuracy(self) -> float | None:
        """Candidate / reference accuracy (MLPerf's form); None when the reference scores 0."""
        if self.accuracy_reference > 0:
            return self.accuracy_candidate / self.accuracy_reference
        return None


def compare_paired(
    truth: Sequence[str], reference: Sequence[str], candidate: Sequence[str],
    reference_probabilities: npt.ArrayLike | None = None,
    candidate_probabilities: npt.ArrayLike | None = None,
) -> PairedComparison:
    """Accuracy of both, the drop with its paired interval and McNemar test, top-1 agreement,
    and (given both probability matrices) mean KL(reference || candidate) and the largest
    probability change."""
    _check_same_length(truth, reference)
    _check_same_length(truth, candidate)
    if len(truth) == 0:
        raise ValueError("compare_paired needs at least one example")
    ref_ok = [t == p for t, p in zip(truth, reference)]
    new_ok = [t == p for t, p in zip(truth, candidate)]
    n = len(truth)
    low, high = paired_difference_interval(ref_ok, new_ok)
    agree = agreement(reference, candidate)
    kl = change = None
    if reference_probabilities is not None and candidate_probabilities is not None:
        kl = mean_kl_divergence(reference_probabilities, candidate_probabilities)
        change = max_abs_difference(reference_probabilities, candidate_probabilities)
    return PairedComparison(
        n=n, accuracy_reference=sum(ref_ok) / n, accuracy_candidate=sum(new_ok) / n,
        drop_interval=(-high, -low), mcnemar=mcnemar_test(ref_ok, new_ok), agreement=agree,
        agreement_interval=wilson_interval(round(agree * n), n), mean_kl=kl,
        max_prob_change=change)


# --------------------------------------------------------------------- latency


def latency_summary(samples_ms: Sequence[float]) -> dict[str, Any]:
    """Descriptive statistics of latency samples (milliseconds in, milliseconds out).

    Percentiles use ``numpy.percentile`` with linear interpolation between order
    statistics (``method="linear"``, Hyndman & Fan type 7, numpy's default);
    ``iqr = p75 - p25``. ``std`` is the sample standard deviation (``ddof=1``) and is
    None for a single sample.
    """
    import numpy as np

    x = np.asarray(samples_ms, dtype=float)
    if x.size == 0:
        raise ValueError("latency_summary needs at least one sample")
    p25, p50, p75, p90, p95, p99 = np.percentile(x, [25, 50, 75, 90, 95, 99], method="linear")
    return {
        "n": int(x.size),
        "mean": float(np.mean(x)),
        "std": float(np.std(x, ddof=1)) if x.size > 1 else None,
        "min": float(np.min(x)),
        "max": float(np.max(x)),
        "p50": float(p50),
        "p90": float(p90),
        "p95": float(p95),
        "p99": float(p99),
        "iqr": float(p75 - p25),
    }


def percentile_upper_bound(
    samples: Sequence[float], q: float, confidence: float = 0.95
) -> float | None:
    """Distribution-free upper confidence bound for the ``q``-quantile.

    Returns the order statistic ``x_(k)`` (1-based, ascending) with the smallest ``k``
    such that ``P(Binomial(n, q) < k) >= confidence``: the true quantile lies below
    ``x_(k)`` unless ``k`` or more samples fall below it, which happens with
    probability at most ``1 - confidence`` (conservative for ties). Returns None when
    even ``x_(n)`` does not qualify, i.e. ``1 - q**n < confidence``; that is when
    ``n < min_samples_for_percentile(q, allowed_over=0, confidence=confidence)``.
    """
    _check_open_unit("q", q)
    _check_open_unit("confidence", confidence)
    n = len(samples)
    if n == 0:
        return None
    import numpy as np
    from scipy.stats import binom

    # cdf[j] = P(Binomial(n, q) <= j) = P(Binomial(n, q) < j + 1), j = k - 1
    cdf = binom.cdf(np.arange(n), n, q)
    passing = np.flatnonzero(cdf >= confidence)
    if passing.size == 0:
        return None
    return float(np.sort(np.asarray(samples, dtype=float))[passing[0]])


def _over_bound_probability(n: int, q: float, allowed_over: int) -> float:
    """P(at most ``allowed_over`` of ``n`` queries exceed the true ``q``-quantile)."""
    from scipy.stats import binom

    return float(binom.cdf(allowed_over, n, 1.0 - q))


def min_samples_for_percentile(q: float, allowed_over: int = 1, confidence: float = 0.99) -> int:
    """Fewest samples for a ``q``-percentile claim with ``allowed_over`` samples over it.

    The smallest ``n`` with ``P(Binomial(n, 1 - q) <= allowed_over) < 1 - confidence``:
    were the true ``q``-quantile above the bound, seeing at most ``allowed_over`` of
    ``n`` samples over it would be that unlikely. Equivalently, ``x_(n - allowed_over)``
    is then a valid ``percentile_upper_bound`` at this confidence.

    This is MLPerf LoadGen's early-stopping rule (``loadgen/early_stopping.cc``,
    ``MinPassingQueriesFinder``, called from ``results.cc`` with ``t = 1``, tolerance 0
    and confidence 0.99; the reported minimum is ``h + t``). It reproduces LoadGen's
    published minimum query counts exactly: 64 for p90 and 662 for p99 with one query
    over the bound.
    """
    _check_open_unit("q", q)
    _check_open_unit("confidence", confidence)
    if allowed_over < 0:
        raise ValueError(f"'allowed_over' must be >= 0 (got {allowed_over})")
    target = 1.0 - confidence
    lo = allowed_over + 1
    hi = lo
    while _over_bound_probability(hi, q, allowed_over) >= target:
        hi *= 2
    while lo < hi:  # smallest passing n in [lo, hi]; the probability falls as n grows
        mid = (lo + hi) // 2
        if _over_bound_probability(mid, q, allowed_over) < target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def percentile_supported(n: int, q: float) -> bool:
    """Whether ``n`` samples meet MLPerf's minimum for a ``q``-percentile claim."""
    return n >= min_samples_for_percentile(q)


def fit_scaling_exponent(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``log(y)`` on ``log(x)``: 1.0 linear, 2.0 quadratic growth.

    Fitted with ``scipy.stats.linregress``; needs positive values and two distinct xs.
    """
    _check_same_length(xs, ys)
    if len(set(xs)) < 2:
        raise ValueError("fit_scaling_exponent needs at least two distinct x values")
    if min(xs) <= 0 or min(ys) <= 0:
        raise ValueError("fit_scaling_exponent needs positive x and y values")
    from scipy.stats import linregress

    logs_x = [math.log(x) for x in xs]
    logs_y = [math.log(y) for y in ys]
    return float(linregress(logs_x, logs_y).slope)


# ------------------------------------------------------ comparing with a saved run


def _median_and_iqr(samples: Sequence[float]) -> tuple[float, float]:
    import numpy as np

    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        raise ValueError("need at least one current sample")
    p25, p50, p75 = np.percentile(x, [25, 50, 75], method="linear")
    return float(p50), float(p75 - p25)


def regression_limit(
    baseline_median: float, baseline_iqr: float, current_iqr: float, rel_tol: float
) -> float:
    """Median above which a run counts as slower than the baseline.

    ``baseline_median + max(rel_tol * baseline_median, baseline_iqr, current_iqr)``:
    the slowdown must exceed both the relative tolerance and the spread measured in
    either run (interquartile ranges, linear-interpolated percentiles).
    """
    if rel_tol < 0 or baseline_iqr < 0 or current_iqr < 0:
        raise ValueError("'rel_tol' and interquartile ranges must be >= 0")
    return baseline_median + max(rel_tol * baseline_median, baseline_iqr, current_iqr)


def is_regression(
    current: Sequence[float], baseline_median: float, baseline_iqr: float, rel_tol: float
) -> bool:
    """Whether ``current`` samples are slower than a saved run.

    True exactly when ``median(current) > regression_limit(baseline_median,
    baseline_iqr, iqr(current), rel_tol)``, i.e. the median grew by more than
    ``rel_tol`` relative AND by more than the larger of the two runs' IQRs.
    """
    median, iqr = _median_and_iqr(current)
    return median > regression_limit(baseline_median, baseline_iqr, iqr, rel_tol)


# ------------------------------------------------------- multiple comparisons


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order.

    S. Holm, "A simple sequentially rejective multiple test procedure", Scandinavian Journal of
    Statistics 6 (1979) 65-70. With the ``m`` p-values sorted ascending, the ``i``-th (from 0)
    becomes ``max over j <= i of min(1, (m - j) p_(j))``. Rejecting where the adjusted value is
    below ``alpha`` controls the family-wise error rate at ``alpha`` under any dependence between
    the tests (overlapping slices included), and never rejects less than Bonferroni.
    """
    m = len(p_values)
    for p in p_values:
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"p-values must lie in [0, 1] (got {p})")
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
