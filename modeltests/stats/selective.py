"""Selective prediction: the model answers a row only when its confidence (largest class
probability) is at least a threshold. Pure functions over numpy arrays (a leaf; numpy inside).

Definitions (``n`` rows):

* at a threshold ``t``: **coverage** = share of rows with confidence >= ``t``; **accuracy** =
  share of those answered rows that are right; **risk** = 1 - accuracy.
* The **risk-coverage curve** has one point per distinct confidence value ``c`` (the threshold
  ``t = c``): rows with equal confidence are answered or refused together, since no threshold
  separates them. Points run from the most confident rows alone to coverage 1.
* **AURC** (area under the risk-coverage curve): ``sum over points (coverage_g -
  coverage_{g-1}) * risk_g``, i.e. ``1/n sum_k risk(first k rows)`` with ties answered together;
  without ties it is the usual ``1/n sum_{k=1..n} risk@k`` (Geifman & El-Yaniv).
* **coverage at target accuracy**: the largest coverage of a point whose accuracy is at least
  the target; 0 when no threshold reaches it (the model may then answer nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

TOLERANCE = 1e-12


@dataclass(frozen=True)
class RankedRows:
    """Rows sorted by confidence, most confident first, with where each tie group ends."""

    order: NDArray[np.int64]
    correct: NDArray[np.float64]
    """Correctness of the sorted rows."""
    group_end: NDArray[np.int64]
    """Index (in the sorted rows) of the last row of each tie group."""
    thresholds: NDArray[np.float64]
    """The confidence of each tie group: the threshold that answers it and every group before."""


def rank_rows(confidence: NDArray[np.float64], correct: NDArray[np.float64]) -> RankedRows:
    """Sort rows by confidence (descending, stable) and find the tie groups."""
    import numpy as np

    order = np.argsort(-confidence, kind="stable")
    ranked = confidence[order]
    last = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    return RankedRows(order, correct[order].astype(np.float64), last, ranked[last])


def curve(weights: NDArray[np.float64], rows: RankedRows
          ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Coverage and accuracy at every point, for each row of ``weights`` (``(m, n)`` counts of
    each row in its original order; ones for the sample). Accuracy is NaN where nothing is
    answered."""
    import numpy as np

    sorted_weights = weights[:, rows.order]
    answered = np.cumsum(sorted_weights, axis=1)[:, rows.group_end]
    right = np.cumsum(sorted_weights * rows.correct, axis=1)[:, rows.group_end]
    coverage = answered / weights.sum(axis=1, keepdims=True)
    accuracy = np.divide(right, answered, out=np.full_like(right, np.nan), where=answered > 0)
    return coverage, accuracy


def curve_statistics(weights: NDArray[np.float64], rows: RankedRows,
                     target: float | None) -> dict[str, NDArray[np.float64]]:
    """``aurc`` and (with a target) ``coverage_at_target_accuracy`` for each row of ``weights``."""
    import numpy as np

    coverage, accuracy = curve(weights, rows)
    steps = np.diff(coverage, axis=1, prepend=0.0)
    risk = np.nan_to_num(1.0 - accuracy, nan=0.0)  # a step of zero width when nothing answered
    found = {"aurc": (steps * risk).sum(axis=1)}
    if target is not None:
        reached = np.nan_to_num(accuracy, nan=-1.0) >= target - TOLERANCE
        found["coverage_at_target_accuracy"] = np.where(reached, coverage, 0.0).max(axis=1)
    return found


def best_threshold(rows: RankedRows, target: float) -> float | None:
    """The lowest confidence threshold whose answered rows reach ``target`` accuracy (None when
    none does)."""
    import numpy as np

    _, accuracy = curve(np.ones((1, len(rows.order))), rows)
    reached = np.flatnonzero(np.nan_to_num(accuracy[0], nan=-1.0) >= target - TOLERANCE)
    return float(rows.thresholds[reached[-1]]) if len(reached) else None


def curve_points(rows: RankedRows, limit: int = 400) -> list[list[float]]:
    """``[coverage, risk, threshold]`` of the sample's curve, at most ``limit`` points (evenly
    spaced ones, the first and last kept) for the reports."""
    import numpy as np

    coverage, accuracy = curve(np.ones((1, len(rows.order))), rows)
    keep = np.arange(len(rows.thresholds))
    if len(keep) > limit:
        keep = np.unique(np.linspace(0, len(keep) - 1, limit).round().astype(np.int64))
    return [[float(coverage[0, i]), float(1.0 - accuracy[0, i]), float(rows.thresholds[i])]
            for i in keep]
