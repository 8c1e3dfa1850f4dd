"""``coverage``: selective prediction. The model answers a row only when its confidence (largest
class probability) is at least ``confidence_threshold``; the check reports how many rows it
answers (coverage), how many of those it gets right, the risk-coverage curve and its area
(AURC), and the largest coverage that keeps the answered rows' accuracy at ``target_accuracy``.
Definitions in :mod:`modeltests.stats.selective`.

A model's own abstention (no label for a row) is not measured: :class:`Predictions` gives every
row a label, so abstaining is expressed here only through the confidence threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from modeltests.checks.calibration import labels_only_reason, truth_index
from modeltests.context import CheckContext
from modeltests.data.inputs import as_display
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold

if TYPE_CHECKING:
    from modeltests.adapters.base import Predictions
    from modeltests.data.datasets import Dataset
    from modeltests.stats.selective import RankedRows


class CoverageParams(SeededParams):
    """Selective prediction on a labelled dataset: answer only confident rows."""

    kind: str = "coverage"
    dataset: str = Field(description="Name of a dataset under 'datasets:'.")
    confidence_threshold: float | None = Field(
        default=None, ge=0, le=1, description="The model answers a row when its largest class "
        "probability is at least this; coverage and accuracy_at_coverage are measured here.")
    target_accuracy: float | None = Field(
        default=None, gt=0, le=1, description="Accuracy the answered rows must keep: the check "
        "reports the largest coverage (lowest threshold) that keeps it.")
    min_coverage: float | None = threshold(
        "Lowest share of rows answered at confidence_threshold.", ge=0, le=1)
    min_accuracy_at_coverage: float | None = threshold(
        "Lowest accuracy of the rows answered at confidence_threshold.", ge=0, le=1)
    min_coverage_at_target_accuracy: float | None = threshold(
        "Lowest share of rows the model can answer keeping target_accuracy.", ge=0, le=1)
    max_aurc: float | None = threshold("Highest area under the risk-coverage curve.", ge=0,
                                       le=1)

    @model_validator(mode="after")
    def _measurable(self) -> CoverageParams:
        for key in ("min_coverage", "min_accuracy_at_coverage"):
            if getattr(self, key) is not None and self.confidence_threshold is None:
                raise ValueError(f"'{key}' needs 'confidence_threshold' (the threshold it is "
                                 "measured at)")
        if self.min_coverage_at_target_accuracy is not None and self.target_accuracy is None:
            raise ValueError("'min_coverage_at_target_accuracy' needs 'target_accuracy'")
        return self


def run_coverage(context: CheckContext, params: CoverageParams) -> CheckResult:
    """Rank the rows by confidence, read the curve, and gate on it."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_rows
    from modeltests.stats.selective import curve_statistics, rank_rows

    dataset = context.dataset(params.dataset)
    predictions = context.predictions(params.dataset)
    if predictions.probabilities is None:
        return CheckResult(skip_reason=labels_only_reason(context, "coverage"))
    probabilities = np.asarray(predictions.probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == truth_index(dataset, predictions)).astype(float)
    rows = rank_rows(confidence, correct)
    n = len(dataset)
    sampled = curve_statistics(np.ones((1, n)), rows, params.target_accuracy)
    metrics = {name: float(values[0]) for name, values in sampled.items()}
    metrics["accuracy"] = float(correct.mean()) if n else 0.0
    intervals = bootstrap_rows(n, lambda w: curve_statistics(w, rows, params.target_accuracy),
                               context.seed)
    methods = {name: "bootstrap-percentile" for name in sampled}
    details = _curve_details(params, rows)
    if params.confidence_threshold is not None:
        details["at_threshold"] = _at_threshold(params.confidence_threshold, confidence, correct,
                                                metrics, intervals, methods)
    result = CheckResult(metrics=metrics, sample_size=n, intervals=intervals,
                         interval_methods=methods, details=details)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    for t in result.thresholds:
        if t.metric == "accuracy_at_coverage" and t.value is None:
            t.note = (f"no row reaches confidence_threshold {params.confidence_threshold:g}: "
                      "nothing answered, so no accuracy was measured")
    result.warn_unresolved(result.thresholds, n)
    result.examples = _confident_errors(dataset, predictions, rows, confidence,
                                        context.max_examples)
    return result


def _at_threshold(threshold_value: float, confidence: Any, correct: Any,
                  metrics: dict[str, float], intervals: dict[str, tuple[float, float]],
                  methods: dict[str, str]) -> dict[str, Any]:
    """Coverage and the answered rows' accuracy at the suite's threshold, with Wilson
    intervals; no accuracy (so its gate fails as not measured) when no row is answered."""
    from modeltests.stats.proportions import wilson_interval

    n = len(confidence)
    answered = confidence >= threshold_value
    count, right = int(answered.sum()), int(correct[answered].sum())
    metrics.update(coverage=count / n if n else 0.0, answered=float(count),
                   refused=float(n - count))
    intervals["coverage"] = wilson_interval(count, n)
    methods.update(coverage="wilson", answered="exact", refused="exact")
    entry: dict[str, Any] = {"threshold": threshold_value, "n": n, "answered": count,
                             "coverage": metrics["coverage"], "accuracy": None}
    if count:
        metrics["accuracy_at_coverage"] = right / count
        intervals["accuracy_at_coverage"] = wilson_interval(right, count)
        methods["accuracy_at_coverage"] = "wilson"
        entry["accuracy"] = right / count
    return entry


def _curve_details(params: CoverageParams, rows: RankedRows) -> dict[str, Any]:
    from modeltests.stats.selective import best_threshold, curve_points

    details: dict[str, Any] = {
        "risk_coverage": curve_points(rows),
        "risk_coverage_columns": ["coverage", "risk", "confidence_threshold"],
        "target_accuracy": params.target_accuracy,
        "definitions": {
            "confidence": "largest class probability; a row is answered when it is at least "
                          "the threshold, correct when that class is the label",
            "aurc": "sum over the curve's points of (coverage step) x risk; rows of equal "
                    "confidence are answered together",
            "intervals": "coverage and accuracy_at_coverage: Wilson 95%; aurc and "
                         "coverage_at_target_accuracy: 95% percentile bootstrap, 1,000 seeded "
                         "resamples of the rows",
            "abstention": "a model's own abstention is not expressible (every row has a "
                          "label); only the confidence threshold refuses rows",
        },
    }
    if params.target_accuracy is not None:
        details["threshold_at_target_accuracy"] = best_threshold(rows, params.target_accuracy)
    return details


def _confident_errors(dataset: Dataset, predictions: Predictions, rows: RankedRows,
                      confidence: Any, count: int) -> list[dict[str, Any]]:
    """The most confident wrong rows: those even a strict threshold would answer wrongly."""
    shown: list[dict[str, Any]] = []
    for position, row in enumerate(rows.order):
        if len(shown) >= count:
            break
        if not rows.correct[position]:
            shown.append({"text": as_display(dataset.texts[row]), "expected": dataset.labels[row],
                          "predicted": predictions.labels[row],
                          "confidence": float(confidence[row])})
    return shown


CHECK_KINDS = [CheckKind("coverage", CoverageParams, run_coverage,
                         "selective prediction: coverage, accuracy when answering, AURC",
                         inputs="any")]
