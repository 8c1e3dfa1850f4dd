"""Intervals behind gates that are not simple proportions, and the sample size that would decide
an undecided threshold. A leaf: numpy only, imported inside the functions.

* :func:`bootstrap_classification` — seeded, vectorised percentile bootstrap (1,000 resamples of
  the rows, with replacement; the 2.5th and 97.5th percentiles) for precision / recall / F1
  (macro, weighted, micro) and the worst class's F1, drawn as multinomial confusion matrices
  (see the function), so its cost does not grow with the number of rows.
* :func:`bootstrap_rows` — the same resampling of rows for statistics that are not functions of
  a confusion matrix (calibration errors, losses, a risk-coverage curve): each resample is a
  multinomial count of every row (how often it was drawn), and the statistic is computed from
  those weights for a block of resamples at once.
* :func:`bootstrap_mean` — the same percentile bootstrap for the mean of per-row values (mean
  KL divergence, perturbed-word shares), resampling row indices.
* :func:`bootstrap_paired_ratio` — candidate accuracy / reference accuracy over paired rows,
  drawn as multinomial counts of the four (reference right?, candidate right?) cells.
* :func:`bootstrap_median_ratio` — one series' median over another's (latency against a
  comparison model), resampling interleaved timing rounds in pairs.
* :func:`needed_sample_size` — for a Wilson interval, the smallest n whose interval at the same
  observed rate excludes the limit (exact search); for other intervals, an estimate from the
  1/sqrt(n) shrinking of the interval's half-width.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

RESAMPLES = 1000
BLOCK_CELLS = 4_000_000
"""At most this many row weights (32 MB of float64) are held at once by :func:`bootstrap_rows`."""
Z95 = 1.959963984540054


def bootstrap_classification(truth: NDArray[np.int64], predicted: NDArray[np.int64], k: int,
                             seed: int, resamples: int = RESAMPLES,
                             counts: NDArray[np.int64] | None = None
                             ) -> dict[str, tuple[float, float]]:
    """95% percentile-bootstrap intervals of the classification metrics of
    :func:`modeltests.stats.proportions.classification_report` (same definitions: labels ``0..k-1``, a
    prediction ``k`` is outside the labels and counts as wrong, a class that never occurs scores
    0 and still counts in macro means).

    Rows with the same (true, predicted) pair are interchangeable, so resampling n rows with
    replacement is drawing the confusion matrix from a multinomial over its cells with the
    observed cell shares: the same bootstrap distribution, at a cost independent of n. So
    ``counts`` (each (true, predicted) pair stands for that many rows: a streamed confusion
    matrix) gives the intervals of the rows themselves, with the same draws.
    """
    import numpy as np

    size = k + 1  # column k: predictions outside the labels
    cells = np.bincount(truth * size + predicted, minlength=size * size,
                        weights=counts).astype(np.int64)
    n = int(cells.sum())
    if n < 2:
        return {}
    rng = np.random.default_rng(seed)
    drawn = rng.multinomial(n, cells / n, size=resamples).reshape(resamples, size, size)
    samples = _resampled_metrics(drawn, k, n)
    return {name: (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
            for name, values in samples.items()}


Statistic = Callable[["NDArray[np.float64]"], "dict[str, NDArray[np.float64]]"]
"""``statistic(weights)``: per statistic, its value under each row of ``weights``."""


def bootstrap_rows(n: int, statistic: Statistic, seed: int, resamples: int = RESAMPLES
                   ) -> dict[str, tuple[float, float]]:
    """95% percentile-bootstrap intervals of the statistics of ``n`` rows.

    ``statistic(weights)`` gets a ``(m, n)`` array, row ``r`` holding how many times resample
    ``r`` drew each row (a multinomial of ``n`` draws over equal shares: resampling the rows
    with replacement), and returns, per statistic, an array of its ``m`` resampled values (NaN
    where a resample leaves it undefined; those are dropped). Resamples are drawn in blocks of
    at most :data:`BLOCK_CELLS` weights so that memory stays bounded for large ``n``.
    """
    import numpy as np

    if n < 2:
        return {}
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, BLOCK_CELLS // n))
    drawn: dict[str, list[NDArray[np.float64]]] = {}
    for start in range(0, resamples, block):
        count = min(block, resamples - start)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=count).astype(np.float64)
        for name, values in statistic(weights).items():
            drawn.setdefault(name, []).append(np.asarray(values, dtype=np.float64))
    intervals = {}
    for name, parts in drawn.items():
        values = np.concatenate(parts)
        values = values[np.isfinite(values)]
        if len(values):
            intervals[name] = (float(np.percentile(values, 2.5)),
                               float(np.percentile(values, 97.5)))
    return intervals


def _resampled_metrics(matrix: NDArray[np.int64], k: int, n: int
                       ) -> dict[str, NDArray[np.float64]]:
    """Metrics of each resampled confusion matrix (rows true, columns predicted)."""
    import numpy as np

    hits = matrix[:, np.arange(k), np.arange(k)].astype(np.float64)
    support = matrix[:, :k, :].sum(axis=2).astype(np.float64)
    chosen = matrix[:, :, :k].sum(axis=1).astype(np.float64)
    precision = np.divide(hits, chosen, out=np.zeros_like(hits), where=chosen > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
    micro = hits.sum(axis=1) / n
    return {
        "precision_macro": precision.mean(axis=1), "recall_macro": recall.mean(axis=1),
        "f1_macro": f1.mean(axis=1),
        "precision_weighted": (precision * support).sum(axis=1) / n,
        "recall_weighted": (recall * support).sum(axis=1) / n,
        "f1_weighted": (f1 * support).sum(axis=1) / n,
        "f1_micro": micro, "worst_class_f1": f1.min(axis=1),
    }


def bootstrap_mean(values: NDArray[np.float64], seed: int, resamples: int = RESAMPLES
                   ) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of the mean of ``values`` (None for fewer than 2)."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    n = len(data)
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def bootstrap_paired_ratio(reference_right: NDArray[np.bool_], candidate_right: NDArray[np.bool_],
                           seed: int, resamples: int = RESAMPLES) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of candidate accuracy / reference accuracy, resampling
    the rows in pairs (both models on the same row). Each row is one of four cells (right or
    wrong under each model), so resampling rows is drawing the four cell counts from a
    multinomial: the cost does not grow with n. Resamples where the reference scores 0 have no
    ratio and are left out; None for fewer than 2 rows or when no resample has one."""
    import numpy as np

    ref = np.asarray(reference_right, dtype=bool)
    new = np.asarray(candidate_right, dtype=bool)
    n = len(ref)
    if n < 2:
        return None
    cells = np.array([np.sum(ref & new), np.sum(ref & ~new), np.sum(~ref & new),
                      np.sum(~ref & ~new)], dtype=np.float64)
    drawn = np.random.default_rng(seed).multinomial(n, cells / n, size=resamples)
    reference = drawn[:, 0] + drawn[:, 1]
    ratios = (drawn[:, 0] + drawn[:, 2])[reference > 0] / reference[reference > 0]
    if not len(ratios):
        return None
    return float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))


def bootstrap_median_ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64],
                           seed: int, resamples: int = RESAMPLES) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of ``median(numerator) / median(denominator)`` for two
    series timed in interleaved rounds (element ``i`` of both from round ``i``): the rounds are
    resampled in pairs, so noise that hit both series in one round stays paired. None for fewer
    than 2 rounds or series of different lengths."""
    import numpy as np

    top = np.asarray(numerator, dtype=np.float64)
    bottom = np.asarray(denominator, dtype=np.float64)
    n = len(top)
    if n < 2 or len(bottom) != n:
        return None
    rounds = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    below = np.median(bottom[rounds], axis=1)
    ratios = np.median(top[rounds], axis=1)[below > 0] / below[below > 0]
    if not len(ratios):
        return None
    return float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))


def wilson_bounds(rate: float, n: int) -> tuple[float, float]:
    """The Wilson score interval (95%, no continuity correction) in closed form."""
    if n <= 0:
        return (0.0, 1.0)
    z2 = Z95 * Z95
    centre = (rate + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 / (1 + z2 / n) * math.sqrt(max(rate * (1 - rate), 0.0) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def needed_sample_size(value: float, limit: float, interval: tuple[float, float], n: int,
                       method: str | None, cap: int = 100_000_000) -> int | None:
    """About how many examples would make the 95% interval exclude ``limit``, if the measured
    ``value`` stayed the same; None when no n would (the value equals the limit)."""
    if abs(value - limit) <= 1e-12:
        return None
    if method == "wilson" and 0.0 <= value <= 1.0:
        return _wilson_sample_size(value, limit, cap)
    half = (interval[1] - interval[0]) / 2
    if n <= 0 or half <= 0:
        return None
    return min(cap, max(n + 1, math.ceil(n * (half / abs(value - limit)) ** 2 - 1e-9)))


def _wilson_sample_size(rate: float, limit: float, cap: int) -> int | None:
    def decides(m: int) -> bool:
        low, high = wilson_bounds(rate, m)
        return not low < limit < high

    return _smallest(decides, cap)

POWER = 0.8
"""The probability of passing that :func:`passing_value` and :func:`margin_sample_size` are
about (the usual 80% power)."""
Z_POWER = 0.8416212335729143
POWER_MARGIN = 0.02
"""The stated margin of :func:`margin_sample_size` for a figure in [0, 1] (2 points); 10% of
the limit for other figures (milliseconds, examples per second)."""


def power_margin(limit: float) -> float:
    """The margin beyond ``limit`` a true value is given by :func:`margin_sample_size`."""
    return POWER_MARGIN if 0.0 <= limit <= 1.0 else 0.1 * abs(limit)


def passing_value(limit: float, operator: str, n: int | None, method: str | None,
                  value: float, interval: tuple[float, float]) -> float | None:
    """The true value that passes with probability :data:`POWER` at this ``n`` when only a
    decided threshold passes (the default: an undecided one fails): a gate cannot tell a value
    nearer its limit from one across it, most of the time.

    A Wilson-gated proportion (``method == "wilson"`` and ``n``) gets the exact answer: the
    fewest successes whose Wilson interval clears the limit, then the rate at which a binomial
    ``n`` reaches them with probability 0.8. Any other interval gets the normal approximation
    from its half-width ``h`` on the side facing the limit: ``limit + h + 0.84 h / 1.96`` (minus
    for a ``max_``). None when nothing at this ``n`` can pass."""
    above = operator == ">="
    if method == "wilson" and n and 0.0 <= limit <= 1.0:
        count = _wilson_passing_count(limit, above, n)
        return None if count is None else _binomial_rate(count, n, above)
    half = (value - interval[0]) if above else (interval[1] - value)
    if half < 0:
        return None
    shift = half * (1.0 + Z_POWER / Z95)
    return limit + shift if above else limit - shift


def margin_sample_size(limit: float, operator: str, n: int | None, method: str | None,
                       value: float, interval: tuple[float, float], cap: int = 10_000_000
                       ) -> int | None:
    """About how many examples let a true value :func:`power_margin` beyond ``limit`` (on its
    passing side) pass with probability :data:`POWER`: exact for Wilson-gated proportions, else
    from the interval's half-width shrinking as ``1/sqrt(n)``. None without ``n``, or beyond
    ``cap``, or when the target lies outside [0, 1] for a proportion."""
    above = operator == ">="
    margin = power_margin(limit)
    target = limit + margin if above else limit - margin
    if not n:
        return None
    if method == "wilson" and 0.0 <= limit <= 1.0:
        if not 0.0 < target < 1.0:
            return None

        def enough(m: int) -> bool:
            found = passing_value(limit, operator, m, method, value, interval)
            return found is not None and (found <= target if above else found >= target)
        return _smallest(enough, cap)
    half = (value - interval[0]) if above else (interval[1] - value)
    if half <= 0:
        return None
    needed = math.ceil(n * (half * (1.0 + Z_POWER / Z95) / margin) ** 2)
    return needed if needed <= cap else None


def _wilson_passing_count(limit: float, above: bool, n: int) -> int | None:
    """The fewest successes out of ``n`` whose Wilson lower bound reaches ``limit`` (``above``)
    or the most whose upper bound stays within it; None when no count does."""
    def clears(s: int) -> bool:
        low, high = wilson_bounds(s / n, n)
        return low >= limit - 1e-12 if above else high <= limit + 1e-12

    if above:
        if not clears(n):
            return None
        low, high = -1, n  # clears(high) holds
        while low + 1 < high:
            middle = (low + high) // 2
            low, high = (low, middle) if clears(middle) else (middle, high)
        return high
    if not clears(0):
        return None
    low, high = 0, n + 1  # clears(low) holds
    while low + 1 < high:
        middle = (low + high) // 2
        low, high = (middle, high) if clears(middle) else (low, middle)
    return low


def _binomial_rate(count: int, n: int, above: bool) -> float:
    """The rate ``p`` at which ``P(Binomial(n, p) >= count) = POWER`` (``above``) or
    ``P(Binomial(n, p) <= count) = POWER``."""
    from scipy.stats import binom

    def probability(p: float) -> float:
        return float(binom.sf(count - 1, n, p) if above else binom.cdf(count, n, p))

    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        reached = probability(middle) >= POWER
        if above:
            low, high = (low, middle) if reached else (middle, high)
        else:
            low, high = (middle, high) if reached else (low, middle)
    return high if above else low


def _smallest(holds: Callable[[int], bool], cap: int) -> int | None:
    """The smallest ``m`` in [1, cap] with ``holds(m)``, for a ``holds`` that stays true once
    true (doubling, then bisection)."""
    high = 1
    while not holds(high):
        high *= 2
        if high > cap:
            return None
    low = high // 2
    while low + 1 < high:
        middle = (low + high) // 2
        low, high = (low, middle) if holds(middle) else (middle, high)
    return high
