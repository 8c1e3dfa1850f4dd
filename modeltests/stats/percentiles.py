"""Latency figures: summaries, order-statistic bounds of percentiles with MLPerf's sample rule,
scaling exponents, and regression limits against a saved run.

Conventions of the whole package: :mod:`modeltests.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from modeltests.stats.proportions import check_open_unit, check_same_length


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
    check_open_unit("q", q)
    check_open_unit("confidence", confidence)
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
    check_open_unit("q", q)
    check_open_unit("confidence", confidence)
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
    check_same_length(xs, ys)
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


