"""``calibration``: do the model's probabilities mean what they say?

The expected calibration error ``max_ece`` gates is the debiased root-mean-square calibration
error (Kumar et al. 2019) with a basic-bootstrap interval, whose 95% interval covers the truth
(the plain ECE's bias puts its interval above a calibrated model's 0 almost always); the plain
ECE with equal-width and equal-mass bins (torchmetrics' definition: ``ece_width``,
``ece_mass``) is reported beside it. ``ece_binning`` says which binning ``max_ece`` and
``max_mce`` use. Maximum calibration error, Brier score and negative log likelihood have seeded
percentile-bootstrap intervals; the temperature that
would calibrate the model on this dataset (reported with the NLL and ECE it would give, never
applied); the reliability bins for the report's diagram; the same per slice. Definitions in
:mod:`modeltests.stats.calibration`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from modeltests.context import CheckContext
from modeltests.data.datasets import SliceSpec, slice_indices
from modeltests.data.inputs import as_display
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult, SeededParams, threshold

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from modeltests.adapters.base import Predictions
    from modeltests.stats.calibration import CalibrationRows
    from modeltests.data.datasets import Dataset

BOOTSTRAPPED = ("mce", "ece_width", "ece_mass", "brier", "nll")
ECE_METHOD = "debiased-basic-bootstrap"


class CalibrationSlice(SliceSpec):
    """A slice plus the calibration thresholds that apply to it (an empty slice is an error)."""

    max_ece: float | None = threshold("Highest ECE on the slice.", ge=0, le=1)
    max_mce: float | None = threshold("Highest MCE on the slice.", ge=0, le=1)
    max_brier: float | None = threshold("Highest Brier score on the slice.", ge=0, le=2)
    max_nll: float | None = threshold("Highest negative log likelihood on the slice.", ge=0)


class CalibrationParams(SeededParams):
    """Calibration of the model's class probabilities on a labelled dataset."""

    kind: str = "calibration"
    dataset: str = Field(description="Name of a dataset under 'datasets:'.")
    bins: int = Field(default=15, ge=2, le=1000, description="Bins of the ECE and MCE.")
    ece_binning: Literal["width", "mass"] = Field(
        default="width", description="Which bins max_ece and max_mce gate: 'width' (equal-width "
        "confidence intervals) or 'mass' (equal numbers of rows). Both ECEs are reported.")
    max_ece: float | None = threshold(
        "Highest expected calibration error: the debiased root-mean-square calibration error "
        "(Kumar et al. 2019), never below the plain ECE's true value.", ge=0, le=1)
    max_mce: float | None = threshold("Highest maximum calibration error (worst bin).", ge=0,
                                      le=1)
    max_brier: float | None = threshold("Highest multi-class Brier score (sum over classes, "
                                        "in [0, 2]).", ge=0, le=2)
    max_nll: float | None = threshold("Highest negative log likelihood (natural log).", ge=0)
    slices: list[CalibrationSlice] = Field(default_factory=list)


def run_calibration(context: CheckContext, params: CalibrationParams) -> CheckResult:
    """Score the probabilities of the whole dataset, then each slice."""
    import numpy as np

    from modeltests.stats.calibration import calibration_rows

    dataset = context.dataset(params.dataset)
    predictions = context.predictions(params.dataset)
    if predictions.probabilities is None:
        return CheckResult(skip_reason=labels_only_reason(context, "calibration"))
    truth = truth_index(dataset, predictions)
    probabilities = np.asarray(predictions.probabilities, dtype=np.float64)
    rows = calibration_rows(probabilities, truth)
    result = _scored(context, params, rows, len(dataset))
    result.metrics.update(_temperature(params, probabilities, truth, result))
    result.details.update(_details(params, rows))
    result.examples = _confident_errors(dataset, predictions, rows, context.max_examples)
    for index, spec in enumerate(params.slices):
        _score_slice(context, params, index, spec, dataset, rows, result)
    return result


def labels_only_reason(context: CheckContext, kind: str) -> str:
    """Why a check that needs probabilities skips: what the suite's model lacks."""
    adapter = context.model_params().adapter
    return (f"{kind} needs class probabilities, and the '{adapter}' model returns labels only "
            "(no probabilities); return one probability per label from the model to measure it")


def truth_index(dataset: Dataset, predictions: Predictions) -> NDArray[np.int64]:
    """Each row's true label as a column of the probabilities."""
    import numpy as np

    column = {name: i for i, name in enumerate(predictions.label_names)}
    return np.array([column[label] for label in dataset.labels], dtype=np.int64)


def _scored(context: CheckContext, params: CalibrationParams, rows: CalibrationRows, n: int,
            scope: str = "", spec: CalibrationSlice | None = None) -> CheckResult:
    """Metrics, bootstrap intervals and thresholds of ``rows`` (the dataset or one slice)."""
    from modeltests.stats.calibration import (calibration_statistics, finish_ece,
                                              point_statistics)
    from modeltests.stats.intervals import bootstrap_rows

    metrics = point_statistics(rows, params.bins, params.ece_binning)
    intervals = bootstrap_rows(
        n, lambda w: calibration_statistics(w, rows, params.bins, params.ece_binning),
        context.seed)
    finish_ece(metrics, intervals)
    methods = {name: "bootstrap-percentile" for name in BOOTSTRAPPED} | {"ece": ECE_METHOD}
    result = CheckResult(metrics=metrics, sample_size=n, intervals=intervals,
                         interval_methods=methods)
    result.thresholds = context.evaluate(metrics, intervals, scope=scope, params=spec,
                                         methods=methods)
    result.warn_unresolved(result.thresholds, n)
    return result


def _temperature(params: CalibrationParams, probabilities: NDArray[np.float64],
                 truth: NDArray[np.int64], result: CheckResult) -> dict[str, float]:
    """The temperature fitted on this dataset and what it would give; reported, never applied."""
    from modeltests.stats.calibration import calibration_rows, fit_temperature, point_statistics

    temperature, scaled, at_bound = fit_temperature(probabilities, truth)
    after = point_statistics(calibration_rows(scaled, truth), params.bins, params.ece_binning)
    if at_bound:
        result.warnings.append(f"the fitted temperature {temperature:.3g} lies at the edge of "
                               "the search range [0.05, 20]")
    return {"temperature": temperature, "nll_after_temperature": after["nll"],
            "ece_after_temperature": after["ece"]}


def _details(params: CalibrationParams, rows: CalibrationRows) -> dict[str, Any]:
    from modeltests.stats.calibration import EPSILON, reliability_bins

    return {
        "ece_binning": params.ece_binning, "bins": params.bins,
        "reliability": {binning: reliability_bins(rows, params.bins, binning)
                        for binning in ("width", "mass")},
        "definitions": {
            "confidence": "largest class probability; correct when that class is the label",
            "ece": f"gated: sqrt(max(0, sum over {params.bins} {params.ece_binning} bins of "
                   "(rows share) x (gap^2 - variance of gap))), gap = mean(correct - "
                   "confidence): the debiased root-mean-square calibration error (Kumar et al. "
                   "2019); its 95% interval is the basic bootstrap around the plug-in",
            "ece_width": f"plain ECE (torchmetrics): sum over {params.bins} equal-width bins of "
                         "(rows share) x |accuracy - mean confidence|; biased upwards",
            "ece_mass": f"plain ECE over {params.bins} equal-mass bins",
            "brier": "mean over rows of sum over classes (p - onehot)^2, in [0, 2]; for two "
                     "classes twice scikit-learn's brier_score_loss",
            "nll": f"-mean ln p(true label), p clipped at {EPSILON:.3g}",
            "temperature": "minimises the NLL of softmax(ln p / T) on this dataset; reported, "
                           "never applied",
            "intervals": "95% bootstrap, 1,000 seeded resamples of the rows (percentile; basic "
                         "for the gated ece); equal-mass bins keep the full sample's "
                         "assignment",
        },
        "slices": [],
    }


def _score_slice(context: CheckContext, params: CalibrationParams, index: int,
                 spec: CalibrationSlice, dataset: Dataset, rows: CalibrationRows,
                 result: CheckResult) -> None:
    from modeltests.stats.calibration import CalibrationRows

    indices = slice_indices(dataset, spec, context.location("slices", index))  # never empty
    part = CalibrationRows(rows.confidence[indices], rows.correct[indices],
                           rows.log_loss[indices], rows.squared_error[indices])
    scored = _scored(context, params, part, len(indices), scope=spec.name, spec=spec)
    for name in ("ece", "mce", "brier", "nll"):
        result.metrics[f"slice.{spec.name}.{name}"] = scored.metrics[name]
        if name in scored.intervals:
            result.intervals[f"slice.{spec.name}.{name}"] = scored.intervals[name]
            result.interval_methods[f"slice.{spec.name}.{name}"] = \
                scored.interval_methods[name]
    result.thresholds.extend(scored.thresholds)
    result.warnings.extend(scored.warnings)
    result.details["slices"].append({
        "name": spec.name, "n": len(indices), "ece": scored.metrics["ece"],
        "interval": list(scored.intervals["ece"]) if "ece" in scored.intervals else None,
        "brier": scored.metrics["brier"], "nll": scored.metrics["nll"],
        "thresholds": [t.to_json() for t in scored.thresholds]})


def _confident_errors(dataset: Dataset, predictions: Predictions, rows: CalibrationRows,
                      count: int) -> list[dict[str, Any]]:
    """The wrong rows the model was most sure of: where over-confidence costs most."""
    wrong = [i for i in range(len(rows)) if not rows.correct[i]]
    wrong.sort(key=lambda i: -float(rows.confidence[i]))
    return [{"text": as_display(dataset.texts[i]), "expected": dataset.labels[i],
             "predicted": predictions.labels[i], "confidence": float(rows.confidence[i])}
            for i in wrong[:count]]


CHECK_KINDS = [CheckKind("calibration", CalibrationParams, run_calibration,
                         "ECE (equal-width and equal-mass), MCE, Brier, NLL, temperature",
                         inputs="any")]
