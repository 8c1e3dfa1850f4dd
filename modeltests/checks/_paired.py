"""A candidate model against a reference on the same labelled rows: the figures that
``quantization``, ``pruning`` and ``regression`` share, each with its 95% interval and the
method behind it.

=========================  =================================================  ==================
metric                     meaning                                            interval
=========================  =================================================  ==================
accuracy_<reference name>  the reference's accuracy                           Wilson
accuracy_<candidate name>  the candidate's accuracy                           Wilson
accuracy_drop              reference - candidate (positive: candidate worse)  Newcombe (paired)
relative_accuracy          candidate / reference accuracy (MLPerf's form)     paired bootstrap
agreement                  rows where both predict the same label             Wilson
negative_flip_rate         reference right, candidate wrong, over all rows    Wilson
positive_flip_rate         reference wrong, candidate right, over all rows    Wilson
mcnemar_p_value            McNemar's exact test on the discordant rows        exact
mean_kl                    mean KL(reference || candidate), nats              bootstrap (rows)
max_prob_change            largest probability change over all rows           exact (a maximum)
=========================  =================================================  ==================

The bootstraps are seeded percentile bootstraps with 1,000 resamples (:mod:`modeltests.stats.intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from modeltests.context import CheckContext
from modeltests.data.datasets import SliceSpec, slice_indices
from modeltests.result import CheckResult, ThresholdResult

if TYPE_CHECKING:
    from modeltests.adapters.base import Predictions
    from modeltests.data.datasets import Dataset


@dataclass
class Paired:
    """Metrics, their intervals and interval methods, and the counts behind them."""

    metrics: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    mcnemar: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: float, method: str,
            interval: tuple[float, float] | None = None) -> None:
        self.metrics[name] = value
        self.methods[name] = method
        if interval is not None:
            self.intervals[name] = interval


def paired_metrics(truth: Sequence[str], reference: Predictions, candidate: Predictions,
                   seed: int, names: tuple[str, str] = ("reference", "compressed")) -> Paired:
    """The table above for ``candidate`` against ``reference`` on ``truth``; ``names`` name the
    two accuracies (``accuracy_reference`` / ``accuracy_compressed``, or baseline / candidate)."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_mean, bootstrap_paired_ratio
    from modeltests.stats.paired import compare_paired, kl_per_row
    from modeltests.stats.proportions import wilson_interval

    comparison = compare_paired(truth, reference.labels, candidate.labels,
                                reference.probabilities, candidate.probabilities)
    n = comparison.n
    worse, better = int(comparison.mcnemar["b"]), int(comparison.mcnemar["c"])
    ref_right = np.array([t == p for t, p in zip(truth, reference.labels)])
    new_right = np.array([t == p for t, p in zip(truth, candidate.labels)])
    paired = Paired(counts={"n": n, "negative_flips": worse, "positive_flips": better},
                    mcnemar=comparison.mcnemar)
    paired.add(f"accuracy_{names[0]}", comparison.accuracy_reference, "wilson",
               wilson_interval(int(ref_right.sum()), n))
    paired.add(f"accuracy_{names[1]}", comparison.accuracy_candidate, "wilson",
               wilson_interval(int(new_right.sum()), n))
    paired.add("accuracy_drop", comparison.accuracy_drop, "newcombe", comparison.drop_interval)
    if comparison.relative_accuracy is not None:
        paired.add("relative_accuracy", comparison.relative_accuracy, "bootstrap-paired",
                   bootstrap_paired_ratio(ref_right, new_right, seed))
    paired.add("agreement", comparison.agreement, "wilson", comparison.agreement_interval)
    paired.add("negative_flip_rate", worse / n, "wilson", wilson_interval(worse, n))
    paired.add("positive_flip_rate", better / n, "wilson", wilson_interval(better, n))
    paired.add("mcnemar_p_value", float(comparison.mcnemar["p_value"]), "exact")
    if comparison.mean_kl is not None and comparison.max_prob_change is not None:
        per_row = kl_per_row(reference.probabilities, candidate.probabilities)  # type: ignore[arg-type]
        paired.add("mean_kl", comparison.mean_kl, "bootstrap-percentile",
                   bootstrap_mean(per_row, seed))
        paired.add("max_prob_change", comparison.max_prob_change, "exact")
    return paired


def aligned(predictions: Predictions, label_names: list[str], location: str) -> Predictions:
    """``predictions`` with probability columns in ``label_names`` order (a model under
    ``models:`` may list the same labels in another order)."""
    from modeltests.adapters.base import Predictions
    from modeltests.errors import ModelOutputError

    if predictions.label_names == label_names:
        return predictions
    if sorted(predictions.label_names) != sorted(label_names):
        raise ModelOutputError(f"{location}: the compared model's labels "
                               f"{predictions.label_names} differ from the reference's "
                               f"{label_names}; set models.<name>.labels to match")
    probabilities = predictions.probabilities
    if probabilities is not None:
        probabilities = probabilities[:, [predictions.label_names.index(n) for n in label_names]]
    return Predictions(list(predictions.labels), list(label_names), probabilities)


@dataclass
class ScoredSlice:
    """One slice's entry for the details and its evaluated thresholds."""

    entry: dict[str, Any]
    thresholds: list[ThresholdResult]
    paired: Paired | None


def score_slice(context: CheckContext, index: int, spec: SliceSpec, dataset: Dataset,
                reference: Predictions, candidate: Predictions, result: CheckResult,
                names: tuple[str, str], recorded: tuple[str, ...]) -> ScoredSlice:
    """The paired metrics on one slice's rows (all in the slice's ``entry``), gated by the
    slice's own limits; the ``recorded`` ones also go into ``result`` as
    ``slice.<name>.<metric>``. An empty slice
    measures nothing, so its limits fail (a gate never passes on no rows)."""
    indices = slice_indices(dataset, spec, context.location("slices", index))
    entry: dict[str, Any] = {"name": spec.name, "n": len(indices)}
    paired = None
    if indices:
        truth = [dataset.labels[i] for i in indices]
        paired = paired_metrics(truth, reference.subset(indices), candidate.subset(indices),
                                context.seed, names)
        for key in recorded:
            if key in paired.metrics:
                result.metrics[f"slice.{spec.name}.{key}"] = paired.metrics[key]
                result.interval_methods[f"slice.{spec.name}.{key}"] = paired.methods[key]
            if key in paired.intervals:
                result.intervals[f"slice.{spec.name}.{key}"] = paired.intervals[key]
        entry.update(paired.metrics)
        entry.update(paired.counts)
        entry["accuracy_drop_interval"] = list(paired.intervals["accuracy_drop"])
    thresholds = context.evaluate(paired.metrics if paired else {},
                                  paired.intervals if paired else {}, scope=spec.name,
                                  params=spec, methods=paired.methods if paired else {})
    result.warn_unresolved(thresholds, len(indices))
    result.thresholds.extend(thresholds)
    return ScoredSlice(entry, thresholds, paired)
