"""A candidate against a reference on the same rows: McNemar, the paired (Newcombe) interval of
the difference, divergences between probability matrices.

``ref`` is the reference (baseline) model and ``new`` the candidate. In paired tables ``b`` counts
examples the reference got right and the candidate got wrong, ``c`` the reverse; differences are
``new - ref``.

Conventions of the whole package: :mod:`modeltests.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

from modeltests.stats.proportions import agreement, check_open_unit, check_same_length, wilson_interval


# ------------------------------------------------------------ paired comparison


def _paired_counts(
    ref_correct: Sequence[bool], new_correct: Sequence[bool]
) -> tuple[int, int, int, int]:
    """``(a, b, c, d)``: both right, ref right only, new right only, both wrong."""
    check_same_length(ref_correct, new_correct)
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
    check_open_unit("confidence", confidence)
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


def unpaired_difference_interval(first: float, first_interval: tuple[float, float],
                                 second: float, second_interval: tuple[float, float]
                                 ) -> tuple[float, float]:
    """95% interval of ``first - second`` for two independent estimates, each with its own 95%
    interval: the square-and-add (MOVER) rule of Newcombe's method 10 for unpaired proportions,
    R. G. Newcombe, Statistics in Medicine 17 (1998) 873-890, and G. Y. Zou & A. Donner,
    Statistical Methods in Medical Research 17 (2008) 393-406, who extend it to any estimates
    with their own intervals::

        L = d - sqrt((first - l1)**2 + (u2 - second)**2)
        U = d + sqrt((u1 - first)**2 + (second - l2)**2)

    With Wilson intervals it is Newcombe's interval; with symmetric ones, the Wald interval of
    the difference. Unlike :func:`paired_difference_interval` it ignores that the two may share
    examples, so it is wider when they do."""
    (l1, u1), (l2, u2) = first_interval, second_interval
    difference = first - second
    down = math.sqrt(max(first - l1, 0.0) ** 2 + max(u2 - second, 0.0) ** 2)
    up = math.sqrt(max(u1 - first, 0.0) ** 2 + max(second - l2, 0.0) ** 2)
    return (difference - down, difference + up)


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
    check_same_length(truth, reference)
    check_same_length(truth, candidate)
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


