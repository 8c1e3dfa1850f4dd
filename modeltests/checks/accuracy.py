"""``accuracy``: accuracy, precision, recall, F1, confusion matrix, per slice, with thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Sequence

from pydantic import Field

from modeltests.adapters.base import Predictions
from modeltests.context import CheckContext
from modeltests.data.datasets import Dataset, SliceSpec, slice_indices
from modeltests.errors import SuiteError
from modeltests.data.inputs import as_display
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckParams, CheckResult, threshold
from modeltests.support.text import format_number

if TYPE_CHECKING:
    from modeltests.cluster.streaming import StreamedCounts


class SliceThresholds(SliceSpec):
    """A slice plus the thresholds that apply to it."""

    min_accuracy: float | None = threshold("Lowest accuracy on the slice.", ge=0, le=1)
    min_f1_macro: float | None = threshold("Lowest macro F1 on the slice.", ge=0, le=1)
    min_samples: int = Field(default=1, ge=0, description="Fail when the slice is smaller.")


class AccuracyParams(CheckParams):
    """Classification quality on a labelled dataset."""

    kind: str = "accuracy"
    dataset: str = Field(description="Name of a dataset under 'datasets:'.")
    min_accuracy: float | None = threshold("Lowest overall accuracy.", ge=0, le=1)
    min_precision_macro: float | None = threshold("Lowest macro precision.", ge=0, le=1)
    min_recall_macro: float | None = threshold("Lowest macro recall.", ge=0, le=1)
    min_f1_macro: float | None = threshold("Lowest macro F1.", ge=0, le=1)
    min_f1_micro: float | None = threshold("Lowest micro F1.", ge=0, le=1)
    min_f1_weighted: float | None = threshold("Lowest weighted F1.", ge=0, le=1)
    min_worst_class_recall: float | None = threshold(
        "Lowest recall of the worst class (every class must reach it).", ge=0, le=1)
    min_worst_class_f1: float | None = threshold(
        "Lowest F1 of the worst class (every class must reach it).", ge=0, le=1)
    slices: list[SliceThresholds] = Field(default_factory=list)

    renamed_keys: ClassVar[dict[str, str]] = {"min_class_recall": "min_worst_class_recall",
                                              "min_class_f1": "min_worst_class_f1"}
    """Keys of earlier versions, still read (with a warning) under their new names."""


def run_accuracy(context: CheckContext, params: AccuracyParams) -> CheckResult:
    """Compute the metrics once per dataset (predictions are shared) and gate on them."""
    from modeltests.stats.proportions import classification_report

    streamed = context.streamed_counts(params.dataset)
    if streamed is not None:
        return _streamed_accuracy(context, streamed)
    dataset = context.dataset(params.dataset)
    predictions = context.predictions(params.dataset)
    labels = context.model().labels
    report = classification_report(dataset.labels, predictions.labels, labels)
    metrics = _headline_metrics(report)
    intervals, methods = _intervals(dataset.labels, predictions.labels, labels, report,
                                    context.seed)
    result = CheckResult(metrics=metrics, sample_size=len(dataset), intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    _name_worst_classes(result, report)
    result.details = {"labels": labels, "confusion_matrix": report["confusion_matrix"],
                      "per_class": report["per_class"], "slices": []}
    wrong = [i for i, (t, p) in enumerate(zip(dataset.labels, predictions.labels)) if t != p]
    result.outcomes = {"accuracy": [t == p for t, p in zip(dataset.labels, predictions.labels)]}
    result.outcomes_digest = dataset.sha256
    shown = informative_errors(wrong, dataset.labels, predictions.confidence(),
                               context.max_examples)
    result.examples = _examples(dataset, predictions, shown)
    result.details["errors"] = len(wrong)
    result.details["examples_order"] = EXAMPLES_ORDER
    result.warn_unresolved(result.thresholds, len(dataset))
    for index, spec in enumerate(params.slices):
        _score_slice(context, index, spec, dataset, predictions, labels, result)
    return result


def streamed_refusal(params: AccuracyParams) -> str | None:
    """Why this check cannot read a streamed dataset (``stream: true``), or None: slices
    select rows, and a streamed dataset keeps none."""
    return "its slices select rows" if params.slices else None


def _streamed_accuracy(context: CheckContext, streamed: StreamedCounts) -> CheckResult:
    """The metrics and intervals of :func:`run_accuracy` from a streamed confusion matrix: the
    same functions, each (expected, predicted) cell weighted by its count; no examples (no row
    was kept)."""
    from modeltests.stats.proportions import classification_report

    labels = context.model().labels
    cells = sorted(streamed.counts.items())
    truth, predicted = [e for (e, _), _ in cells], [p for (_, p), _ in cells]
    counts = [n for _, n in cells]
    report = classification_report(truth, predicted, labels, counts)
    metrics = _headline_metrics(report)
    intervals, methods = _intervals(truth, predicted, labels, report, context.seed, counts)
    result = CheckResult(metrics=metrics, sample_size=streamed.rows, intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, methods=methods)
    _name_worst_classes(result, report)
    right = sum(n for (e, p), n in cells if e == p)
    result.details = {"labels": labels, "confusion_matrix": report["confusion_matrix"],
                      "per_class": report["per_class"], "slices": [],
                      "errors": streamed.rows - right,
                      "streamed": {"rows": streamed.rows, "unlabelled": streamed.unlabelled,
                                   "blocks": streamed.blocks,
                                   "workers": len(streamed.workers),
                                   "seconds": {k: round(v, 3)
                                               for k, v in streamed.seconds.items()},
                                   "examples": "none: a streamed dataset keeps no rows"}}
    result.warn_unresolved(result.thresholds, streamed.rows)
    return result


def _headline_metrics(report: dict[str, Any]) -> dict[str, float]:
    keys = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_micro", "f1_weighted")
    metrics = {k: float(report[k]) for k in keys}
    per_class = report["per_class"].values()
    metrics["worst_class_recall"] = min((c["recall"] for c in per_class), default=0.0)
    metrics["worst_class_f1"] = min((c["f1"] for c in per_class), default=0.0)
    return metrics


def _intervals(truth: list[str], predicted: list[str], labels: list[str],
               report: dict[str, Any], seed: int, counts: Sequence[int] | None = None
               ) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """A 95% interval behind every headline metric, and how each was computed: Wilson for the
    proportions (accuracy, micro F1 = accuracy here), simultaneous Bonferroni-adjusted Wilson
    bounds over the classes for the worst class's recall (valid for the minimum whichever class
    it is), a seeded percentile bootstrap for the rest (multinomial draws of the confusion
    matrix's cells: computable from counts alone). With ``counts``, each (true, predicted)
    pair stands for that many rows."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_classification
    from modeltests.stats.proportions import wilson_interval, worst_rate_interval

    weights = [1] * len(truth) if counts is None else [int(c) for c in counts]
    n = sum(weights)
    correct = sum(w for t, p, w in zip(truth, predicted, weights) if t == p)
    intervals = {"accuracy": wilson_interval(correct, n), "f1_micro": wilson_interval(correct, n)}
    methods = {"accuracy": "wilson", "f1_micro": "wilson"}
    per_class = list(report["per_class"].values())
    if per_class and all(c["support"] for c in per_class):
        intervals["worst_class_recall"] = worst_rate_interval(
            [round(c["recall"] * c["support"]) for c in per_class],
            [c["support"] for c in per_class])
        methods["worst_class_recall"] = "wilson-bonferroni"
    index = {label: i for i, label in enumerate(labels)}
    sampled = bootstrap_classification(
        np.array([index[t] for t in truth], dtype=np.int64),
        np.array([index.get(p, len(labels)) for p in predicted], dtype=np.int64),
        len(labels), seed, counts=None if counts is None else np.array(weights, dtype=np.int64))
    for metric in ("precision_macro", "recall_macro", "f1_macro", "f1_weighted"):
        if metric in sampled:
            intervals[metric] = sampled[metric]
            methods[metric] = "bootstrap-percentile"
    if "worst_class_f1" in sampled:
        intervals["worst_class_f1"] = sampled["worst_class_f1"]
        methods["worst_class_f1"] = "bootstrap-percentile"
    return intervals, methods


def _worst_class(report: dict[str, Any], figure: str) -> str | None:
    per_class: dict[str, dict[str, Any]] = report["per_class"]
    return min(per_class, key=lambda label: per_class[label][figure], default=None)


def _name_worst_classes(result: CheckResult, report: dict[str, Any]) -> None:
    """Say which class is the worst, with every class's figure, on the worst-class gates."""
    for t in result.thresholds:
        figure = t.metric.removeprefix("worst_class_")
        label = _worst_class(report, figure) if figure != t.metric else None
        if label is not None:
            per_class = report["per_class"]
            shown = ", ".join(f"{name} {format_number(values[figure])}"
                              for name, values in per_class.items())
            t.note = f"class {label!r}, n={per_class[label]['support']}; {figure} per class: " \
                     f"{shown}"


def _score_slice(context: CheckContext, index: int, spec: SliceThresholds, dataset: Dataset,
                 predictions: Predictions,
                 labels: list[str], result: CheckResult) -> None:
    from modeltests.stats.proportions import classification_report

    indices = slice_indices(dataset, spec, context.location("slices", index))
    truth = [dataset.labels[i] for i in indices]
    predicted = [predictions.labels[i] for i in indices]
    entry: dict[str, Any] = {"name": spec.name, "n": len(indices)}
    if indices:
        report = classification_report(truth, predicted, labels)
        intervals, methods = _intervals(truth, predicted, labels, report, context.seed)
        interval = intervals["accuracy"]
        entry.update(accuracy=report["accuracy"], f1_macro=report["f1_macro"],
                     interval=list(interval))
        metrics = {"accuracy": report["accuracy"], "f1_macro": report["f1_macro"],
                   "samples": float(len(indices))}
        result.metrics[f"slice.{spec.name}.accuracy"] = report["accuracy"]
        result.intervals[f"slice.{spec.name}.accuracy"] = interval
        thresholds = context.evaluate(metrics, intervals, scope=spec.name, params=spec,
                                      methods=methods)
    else:
        metrics = {"samples": 0.0}
        thresholds = context.evaluate(metrics, scope=spec.name, params=spec)
    thresholds += context.evaluate(metrics, scope=spec.name, methods={"samples": "exact"},
                                   limits=[("samples", ">=", float(spec.min_samples))])
    entry["thresholds"] = [t.to_json() for t in thresholds]
    result.warn_unresolved(thresholds, len(indices))
    result.thresholds.extend(thresholds)
    result.details["slices"].append(entry)


EXAMPLES_ORDER = "one per class first, most confident first"


def informative_errors(wrong: list[int], expected: list[str], confidence: list[float | None],
                       count: int) -> list[int]:
    """The ``count`` errors worth reading first: the most confident error of each true class
    (so that every class that fails is seen), then the other errors, most confident first;
    equal confidences in file order. A model sure of a wrong answer says more about it than the
    first rows of the file."""
    ordered = sorted(wrong, key=lambda i: (-(confidence[i] or 0.0), i))
    first: dict[str, int] = {}
    for i in ordered:
        first.setdefault(expected[i], i)
    chosen = set(first.values())
    return (list(first.values()) + [i for i in ordered if i not in chosen])[:count]


def _examples(dataset: Dataset, predictions: Predictions, indices: list[int]) -> list[dict[str, Any]]:
    confidence = predictions.confidence()
    return [{"text": as_display(dataset.texts[i]), "expected": dataset.labels[i],
             "predicted": predictions.labels[i], "confidence": confidence[i]} for i in indices]


def prepare_accuracy(context: CheckContext, params: AccuracyParams) -> None:
    """Setup: a slice's ``side`` needs a dataset of text pairs (an ERROR before the model
    runs)."""
    sided = [(i, spec) for i, spec in enumerate(params.slices) if spec.side is not None]
    if sided and not context.dataset(params.dataset).is_pairs:
        index, spec = sided[0]
        raise SuiteError(f"{context.location('slices', index)}: slice {spec.name!r}: side: "
                         f"{spec.side!r} applies to a dataset of text pairs; "
                         f"{params.dataset!r} has one text column")


CHECK_KINDS = [CheckKind("accuracy", AccuracyParams, run_accuracy,
                         "accuracy / precision / recall / F1 overall and per slice",
                         prepare=prepare_accuracy, streams=streamed_refusal, inputs="any")]
