"""Intervals of entity-level scores: a seeded percentile bootstrap over sentences.

Entities within a sentence are not independent (one bad tag can break two spans), so the
resampled unit is the sentence: :func:`modeltests.stats.intervals.bootstrap_rows` draws sentences
with replacement (1,000 resamples, 2.5th / 97.5th percentiles) and each resample's entity
counts are summed before precision, recall and F1 are computed from them (micro, as seqeval).
The paired version draws the same sentences for two models, so the F1 drop's interval keeps
their correlation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from modeltests.data.tags import scores

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

METHOD = "bootstrap-percentile (sentences)"
PAIRED_METHOD = "paired bootstrap-percentile (sentences)"


def _resampled(weights: NDArray[np.float64], counts: np.ndarray) -> NDArray[np.float64]:
    """Entity counts ``(m, types, 3)`` of each resample of ``weights`` ``(m, sentences)``."""
    n, types, _ = counts.shape
    summed: NDArray[np.float64] = weights @ counts.reshape(n, types * 3).astype("float64")
    return summed.reshape(len(weights), types, 3)


def _figures(sums: NDArray[np.float64], types: Sequence[str], prefix: str = ""
             ) -> dict[str, NDArray[np.float64]]:
    import numpy as np

    totals = sums.sum(axis=1)
    precision, recall, f1 = scores(totals[:, 0], totals[:, 1], totals[:, 2])
    figures = {f"{prefix}precision": precision, f"{prefix}recall": recall, f"{prefix}f1": f1}
    per_p, per_r, per_f = scores(sums[:, :, 0], sums[:, :, 1], sums[:, :, 2])
    for i, kind in enumerate(types):
        # A resample without any gold or predicted entity of a type leaves its F1 undefined.
        undefined = (sums[:, i, 1] + sums[:, i, 2]) == 0
        figures[f"{prefix}f1.{kind}"] = np.where(undefined, np.nan, per_f[:, i])
        figures[f"{prefix}precision.{kind}"] = np.where(sums[:, i, 1] == 0, np.nan, per_p[:, i])
        figures[f"{prefix}recall.{kind}"] = np.where(sums[:, i, 2] == 0, np.nan, per_r[:, i])
    return figures


def entity_intervals(counts: np.ndarray, types: Sequence[str], seed: int
                     ) -> dict[str, tuple[float, float]]:
    """95% intervals of ``entity_precision``, ``entity_recall``, ``entity_f1`` and per type
    ``entity_f1.<type>`` (also precision / recall) from per-sentence counts
    (:func:`modeltests.data.tags.sentence_counts`)."""
    from modeltests.stats.intervals import bootstrap_rows

    return bootstrap_rows(len(counts),
                          lambda w: _figures(_resampled(w, counts), types, "entity_"), seed)


def paired_f1_drop(reference: np.ndarray, candidate: np.ndarray, types: Sequence[str],
                   seed: int) -> dict[str, tuple[float, float]]:
    """95% interval of ``entity_f1_drop`` (reference F1 - candidate F1) over the same resampled
    sentences."""
    from modeltests.stats.intervals import bootstrap_rows

    def statistic(weights: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        before = _figures(_resampled(weights, reference), types)["f1"]
        after = _figures(_resampled(weights, candidate), types)["f1"]
        return {"entity_f1_drop": before - after}

    return bootstrap_rows(len(reference), statistic, seed)
