"""Proportions and classification figures: Wilson intervals, agreement, the per-class report,
Holm's adjustment across slices.

Conventions of the whole package: :mod:`modeltests.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


def check_open_unit(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"'{name}' must be a number in (0, 1) (got {value!r})")


def check_same_length(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"sequences must have the same length (got {len(a)} and {len(b)})")


# ------------------------------------------------------------------- proportions


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``successes / n``.

    Computed by ``scipy.stats.binomtest(successes, n).proportion_ci(method="wilson")``
    (no continuity correction). With ``n == 0`` nothing is known: ``(0.0, 1.0)``.
    """
    check_open_unit("confidence", confidence)
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n (got successes={successes}, n={n})")
    if n == 0:
        return (0.0, 1.0)
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(n)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return (float(ci.low), float(ci.high))


def worst_rate_interval(hits: Sequence[int], supports: Sequence[int], confidence: float = 0.95
                        ) -> tuple[float, float]:
    """A ``confidence`` interval for the smallest of ``k`` proportions ``hits[c] / supports[c]``
    (the worst class's recall): Bonferroni-adjusted Wilson intervals, each at level
    ``1 - (1 - confidence) / k``, hold all ``k`` true rates at once with probability at least
    ``confidence``, so the true minimum lies between the smallest lower bound and the smallest
    upper bound. An interval built around whichever class scored lowest is not valid for the
    minimum: with tied classes the lowest observed one is low by chance (90-92.5% coverage)."""
    check_same_length(hits, supports)
    if not supports:
        raise ValueError("the worst rate of no classes is undefined")
    level = 1.0 - (1.0 - confidence) / len(supports)
    bounds = [wilson_interval(int(h), int(s), level) for h, s in zip(hits, supports)]
    return min(low for low, _ in bounds), min(high for _, high in bounds)


def pass_at_k(n: int, correct: int, k: int) -> float:
    """The unbiased estimator of pass@k from ``n`` samples of which ``correct`` pass:
    ``1 - C(n - c, k) / C(n, k)`` (Chen et al. 2021, "Evaluating Large Language Models Trained
    on Code", eq. 1): the chance that at least one of ``k`` samples drawn without replacement
    from the ``n`` passes. Needs ``1 <= k <= n``."""
    if not 1 <= k <= n or not 0 <= correct <= n:
        raise ValueError(f"need 1 <= k <= n and 0 <= correct <= n (got n={n}, "
                         f"correct={correct}, k={k})")
    if n - correct < k:
        return 1.0
    return 1.0 - math.comb(n - correct, k) / math.comb(n, k)


def threshold_resolved(low: float, high: float, limit: float) -> bool:
    """Whether an interval ``[low, high]`` decides a threshold ``limit``.

    False when the limit lies strictly inside the interval: the sample is too small
    to say on which side of the threshold the true value lies.
    """
    return not low < limit < high


def agreement(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Fraction of positions where ``a[i] == b[i]`` (e.g. top-1 agreement)."""
    check_same_length(a, b)
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
    check_same_length(y_true, y_pred)
    if counts is not None:
        check_same_length(y_true, counts)
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
