"""``regression``: is the candidate (the suite's model) worse than the model in production?

The candidate and the ``baseline:`` (a name under the suite's ``models:``) predict the same
labelled dataset; the comparison is paired, row by row:

* ``accuracy_baseline``, ``accuracy_candidate`` and ``accuracy_drop`` (baseline - candidate,
  positive when the candidate is worse) with Newcombe's paired 95% interval, and McNemar's exact
  p-value (:func:`modeltests.stats.paired.compare_paired`);
* ``negative_flip_rate``: rows the baseline got right and the candidate gets wrong, over all rows;
  ``positive_flip_rate`` the other way round (both with Wilson intervals); top-1 ``agreement``;
* the same per true class (details) and per slice (gated by the slice's own limits).

Several gated slices are several tests. Holm's step-down correction is applied to the slices'
McNemar p-values (the question "did this slice regress?"), and each slice's threshold shows its
raw and adjusted p. The gates themselves stay as declared: a release needs every slice to hold,
so more slices never make a regressed one easier to pass; what multiplicity inflates is the
chance of calling a slice regressed on noise, which is what the adjusted p answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator
from pydantic.config import JsonDict

from modeltests.checks._paired import aligned, paired_metrics, score_slice
from modeltests.context import CheckContext
from modeltests.data.datasets import SliceSpec
from modeltests.data.inputs import as_display
from modeltests.extend.registry import CheckKind
from modeltests.result import (
    CheckParams,
    CheckResult,
    ThresholdResult,
    threshold,
    threshold_limits,
)

if TYPE_CHECKING:
    from modeltests.adapters.base import Predictions
    from modeltests.data.datasets import Dataset

ALPHA = 0.05
NAMES = ("baseline", "candidate")
MODEL_REFERENCE: JsonDict = {"x-modeltests-model-reference": "same-labels"}


class RegressionSlice(SliceSpec):
    """A slice of the dataset with its own regression limits."""

    max_accuracy_drop: float | None = threshold(
        "Largest accuracy loss on the slice (baseline - candidate).", ge=-1, le=1)
    max_negative_flip_rate: float | None = threshold(
        "Largest share of the slice's rows the baseline got right and the candidate gets wrong.",
        ge=0, le=1)


class RegressionParams(CheckParams):
    """The suite's model (the candidate) against a baseline model on the same dataset."""

    kind: str = "regression"
    dataset: str = Field(description="Name of a labelled dataset under 'datasets:' (for a "
                         "text generator: a dataset of prompts, with expected answers or not).")
    baseline: str | None = Field(default=None, description="Name of the model to compare "
                                 "with (e.g. the one in production) under 'models:'.",
                                 json_schema_extra=MODEL_REFERENCE)
    baseline_predictions: str | None = Field(
        default=None, description="A Parquet file of predictions saved by an earlier run "
        "(--modeltests-save-predictions DIR) on this same dataset, relative to the suite: the "
        "baseline without loading its model. Give either this or 'baseline'.")
    max_accuracy_drop: float | None = threshold(
        "Largest accuracy loss (baseline - candidate), e.g. 0.01.", ge=-1, le=1)
    max_negative_flip_rate: float | None = threshold(
        "Largest share of rows the baseline got right and the candidate gets wrong.", ge=0, le=1)
    min_agreement: float | None = threshold(
        "Lowest top-1 agreement with the baseline (text generators: the share of prompts both "
        "answer identically).", ge=0, le=1)
    max_probability_diff: float | None = threshold(
        "Largest absolute difference between the two models' class probabilities on any row "
        "(e.g. 1e-5 for the same model served over HTTP and in-process).", ge=0)
    slices: list[RegressionSlice] = Field(default_factory=list)
    max_new_tokens: int = Field(default=32, ge=1, le=4096, description="Text generators: "
                                "longest answer to a prompt, in tokens (both answer greedily).")
    stop: list[str] = Field(default_factory=list, description="Text generators: strings that "
                            "end an answer early (cut from it).")

    @model_validator(mode="after")
    def _one_baseline(self) -> RegressionParams:
        if (self.baseline is None) == (self.baseline_predictions is None):
            raise ValueError("give exactly one of 'baseline' (a model under 'models:') and "
                             "'baseline_predictions' (a saved predictions file)")
        return self

    def label(self, index: int) -> str:
        return self.name or self.baseline or Path(self.baseline_predictions or "saved").stem


def run_regression(context: CheckContext, params: RegressionParams) -> CheckResult:
    """Compare the candidate with ``baseline`` row by row; gate; Holm over the gated slices.
    Text generators compare their greedy answers
    (:mod:`modeltests.checks._generator_regression`)."""
    from modeltests.adapters.generation import is_generator

    if is_generator(context.model()):
        from modeltests.checks._generator_regression import compare_answers

        return compare_answers(context, params)
    dataset = context.dataset(params.dataset)
    if not len(dataset):
        raise context.error("dataset", f"dataset {params.dataset!r} has no rows to compare on")
    candidate = context.predictions(params.dataset)
    baseline = _baseline_predictions(context, params, candidate.label_names)
    paired = paired_metrics(dataset.labels, baseline, candidate, context.seed, NAMES)
    result = CheckResult(metrics=paired.metrics, sample_size=len(dataset),
                         intervals=paired.intervals, interval_methods=paired.methods,
                         details={"baseline": _baseline_name(params), **paired.counts})
    _probability_diff(context, params, baseline, candidate, result)
    result.thresholds = context.evaluate(result.metrics, result.intervals,
                                         methods=result.interval_methods)
    result.warn_unresolved(result.thresholds, len(dataset))
    result.details["per_class"] = _per_class(dataset.labels, baseline, candidate, result,
                                            context.seed)
    flips = negative_flips(dataset.labels, baseline, candidate)
    result.examples = flip_examples(dataset, baseline, candidate, flips)[: context.max_examples]
    result.details["errors"] = len(flips)
    entries = [_score_slice(context, index, spec, dataset, baseline, candidate, result)
               for index, spec in enumerate(params.slices)]
    _holm(entries, result)
    return result


def _probability_diff(context: CheckContext, params: RegressionParams, baseline: Predictions,
                      candidate: Predictions, result: CheckResult) -> None:
    """``probability_diff``: the largest change of any class probability on any row (a
    fixed dataset, so exact), when both models give probabilities."""
    if baseline.probabilities is None or candidate.probabilities is None:
        if params.max_probability_diff is not None:
            raise context.error("max_probability_diff", "cannot apply: a model of the pair "
                                "answers labels without probabilities")
        return
    import numpy as np

    diff = np.abs(baseline.probabilities - candidate.probabilities)
    result.metrics["probability_diff"] = float(diff.max()) if diff.size else 0.0
    result.interval_methods["probability_diff"] = "exact"


def _baseline_predictions(context: CheckContext, params: RegressionParams,
                          label_names: list[str]) -> Predictions:
    if params.baseline_predictions is not None:
        from modeltests.predictions.saved import load_predictions

        where = context.location("baseline_predictions")
        saved = load_predictions(context.resolve_path(params.baseline_predictions),
                                 context.dataset(params.dataset),
                                 f"{where}: checks[{context.identity.index}].baseline_predictions")
        return aligned(saved, label_names, where)
    # The runner refused a baseline with other label names before the check ran (setup).
    return aligned(context.predictions(params.dataset, params.baseline), label_names,
                   context.location("baseline"))


def prepare_regression(context: CheckContext, params: RegressionParams) -> None:
    """Before the check: saved baseline predictions exist and were made on this dataset; a
    text generator has no key that only a classifier can use."""
    from modeltests.adapters.generation import is_generator

    if is_generator(context.model()):
        from modeltests.checks._generator_regression import refuse_inapplicable

        refuse_inapplicable(context, params)
        return
    if params.baseline_predictions is not None:
        _baseline_predictions(context, params, context.model().labels)


def _baseline_name(params: RegressionParams) -> str:
    if params.baseline_predictions is not None:
        return f"saved predictions {params.baseline_predictions}"
    return f"models.{params.baseline}"


def negative_flips(truth: list[str], baseline: Predictions, candidate: Predictions) -> list[int]:
    """Rows the baseline got right and the candidate gets wrong."""
    return [i for i, (t, b, c) in enumerate(zip(truth, baseline.labels, candidate.labels))
            if b == t != c]


def flip_examples(dataset: Dataset, baseline: Predictions, candidate: Predictions,
                  indices: list[int]) -> list[dict[str, Any]]:
    """The negative flips with both predictions and probabilities, most confident first."""
    base_conf, new_conf = baseline.confidence(), candidate.confidence()
    ordered = sorted(indices, key=lambda i: (-(new_conf[i] or 0.0), i))
    return [{"text": as_display(dataset.texts[i]), "expected": dataset.labels[i],
             "baseline": baseline.labels[i], "baseline_confidence": base_conf[i],
             "baseline_probabilities": _probabilities(baseline, i),
             "predicted": candidate.labels[i], "confidence": new_conf[i],
             "probabilities": _probabilities(candidate, i)} for i in ordered]


def _probabilities(predictions: Predictions, row: int) -> dict[str, float] | None:
    if predictions.probabilities is None:
        return None
    return {name: round(float(p), 4)
            for name, p in zip(predictions.label_names, predictions.probabilities[row])}


def _per_class(truth: list[str], baseline: Predictions, candidate: Predictions,
               result: CheckResult, seed: int) -> dict[str, Any]:
    """The comparison on each true class's rows (reported, not gated)."""
    per_class: dict[str, Any] = {}
    for label in candidate.label_names:
        rows = [i for i, t in enumerate(truth) if t == label]
        if not rows:
            per_class[label] = {"n": 0}
            continue
        paired = paired_metrics([truth[i] for i in rows], baseline.subset(rows),
                                candidate.subset(rows), seed, NAMES)
        for key in ("accuracy_drop", "negative_flip_rate"):
            result.metrics[f"class.{label}.{key}"] = paired.metrics[key]
            result.intervals[f"class.{label}.{key}"] = paired.intervals[key]
            result.interval_methods[f"class.{label}.{key}"] = paired.methods[key]
        per_class[label] = {**paired.counts, **paired.metrics,
                            "accuracy_drop_interval": list(paired.intervals["accuracy_drop"])}
    return per_class


def _score_slice(context: CheckContext, index: int, spec: RegressionSlice, dataset: Dataset,
                 baseline: Predictions, candidate: Predictions, result: CheckResult
                 ) -> dict[str, Any]:
    scored = score_slice(context, index, spec, dataset, baseline, candidate, result, NAMES,
                         ("accuracy_drop", "negative_flip_rate"))
    scored.entry["gated"] = bool(threshold_limits(spec))
    scored.entry["_thresholds"] = scored.thresholds
    result.details.setdefault("slices", []).append(scored.entry)
    return scored.entry


def _holm(entries: list[dict[str, Any]], result: CheckResult) -> None:
    """Holm's correction over the McNemar p-values of the gated slices, shown on each slice's
    thresholds and in the details; a failed slice whose drop is not significant after it is
    named in a warning (it may be noise)."""
    from modeltests.stats.proportions import holm_adjust

    family = [e for e in entries if e["gated"] and "mcnemar_p_value" in e]
    adjusted = holm_adjust([e["mcnemar_p_value"] for e in family])
    for entry, p_holm in zip(family, adjusted):
        entry["holm_p_value"] = p_holm
        entry["significant_drop"] = p_holm < ALPHA and entry["accuracy_drop"] > 0
        note = (f"McNemar p={entry['mcnemar_p_value']:.3g}, Holm-adjusted {p_holm:.3g} over "
                f"{len(family)} gated slices")
        thresholds: list[ThresholdResult] = entry["_thresholds"]
        for t in thresholds:
            t.note = note
        if any(not t.passed for t in thresholds) and not entry["significant_drop"]:
            result.warnings.append(
                f"slice {entry['name']}: over its limit, but the change is not significant "
                f"after Holm's correction ({note}); it may be noise: more rows would tell")
    for entry in entries:
        entry["thresholds"] = [t.to_json() for t in entry.pop("_thresholds")]
    result.details["multiple_comparisons"] = {
        "method": "holm", "on": "McNemar exact p-values of the gated slices",
        "alpha": ALPHA, "family_size": len(family),
        "significant_drops": [e["name"] for e in family if e["significant_drop"]]}


CHECK_KINDS = [CheckKind("regression", RegressionParams, run_regression,
                         "candidate vs baseline model: accuracy drop, flips, McNemar, slices",
                         prepare=prepare_regression, inputs="any", task="any")]
