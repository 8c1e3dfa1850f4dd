"""``corruption``: the ImageNet-C common corruptions (noise, blur, weather, digital) at
severities 1-5 through the ``imagecorruptions`` package (:mod:`modeltests.perturb.corruptions`),
gated on accuracy per corruption and severity, the corruption error per corruption and the mean
corruption error (mCE)::

    - kind: corruption
      dataset: test
      num_examples: 100
      corruptions: [noise, defocus_blur, fog, contrast]   # names or families; default: the 15
      severities: [1, 2, 3, 4, 5]
      baseline: production        # a model under models: normalises the errors (mCE)
      min_accuracy: 0.5           # every corruption at every severity
      max_accuracy_drop: 0.4      # clean - corrupted, on the same images
      max_corruption_error: 1.2   # every corruption
      max_mce: 1.0
      max_relative_mce: 1.2       # needs baseline

As in Hendrycks & Dietterich (ICLR 2019), the corruption error of corruption ``c`` is the
model's error summed over the severities, divided by the baseline model's on the same corrupted
images (``CE_c = sum_s E_s,c / sum_s E_s,c(baseline)``), and ``mce`` their mean over the
corruptions. Without ``baseline`` there is nothing to normalise by: ``corruption_error`` is the
model's mean error over the severities and ``mce`` the mean of those (the result says so).

The *relative* mCE (same paper) measures the degradation instead of the error: for each
corruption, the model's error above its own clean error summed over the severities, divided by
the baseline's (``relative CE_c = sum_s (E_s,c - E_clean) / sum_s (E_s,c(baseline) -
E_clean(baseline))``), and ``relative_mce`` their mean. It needs ``baseline``; a baseline whose
corrupted errors do not exceed its clean error under a corruption cannot normalise it (a located
error when ``max_relative_mce`` is set; otherwise the metric is left out, and the result says
why).
Accuracies carry Wilson intervals, accuracy drops Newcombe's paired interval, corruption errors
and the mCE a bootstrap over the images.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any, Callable

from pydantic import Field, field_validator, model_validator

from modeltests.checks._sources import sample_indices
from modeltests.checks.adversarial import image_dataset
from modeltests.checks.regression import MODEL_REFERENCE
from modeltests.context import CheckContext
from modeltests.extend.registry import CheckKind
from modeltests.perturb.corruptions import CorruptionChoice, Severity
from modeltests.result import CheckResult, SeededParams, ThresholdResult, threshold

if TYPE_CHECKING:
    from modeltests.data.inputs import ImageInput


DEFAULT_CORRUPTIONS: tuple[CorruptionChoice, ...] = ("common",)
SEVERITIES: tuple[Severity, ...] = (1, 2, 3, 4, 5)


class CorruptionParams(SeededParams):
    """Common corruptions of images sampled (seeded) from a labelled dataset of images."""

    kind: str = "corruption"
    dataset: str = Field(description="Name of a dataset of images under 'datasets:'.")
    corruptions: list[CorruptionChoice] = Field(
        default_factory=lambda: list(DEFAULT_CORRUPTIONS), min_length=1,
        description="Corruptions, or families of them: noise (gaussian, shot, impulse), blur "
        "(defocus, glass, motion, zoom), weather (snow, frost, fog, brightness), digital "
        "(contrast, elastic_transform, pixelate, jpeg_compression), common (those 15, the "
        "default) or extra (speckle_noise, gaussian_blur, spatter, saturate).")
    severities: list[Severity] = Field(default_factory=lambda: list(SEVERITIES), min_length=1,
                                  description="Severities to apply, each 1 to 5.")
    num_examples: int = Field(default=100, ge=1, le=100_000,
                              description="Images sampled (seeded) from the dataset.")
    baseline: str | None = Field(
        default=None, json_schema_extra=MODEL_REFERENCE,
        description="A model under 'models:' whose errors on the same corrupted images "
        "normalise the corruption errors (the mCE of Hendrycks & Dietterich); unset: the "
        "unnormalised mean errors.")
    min_clean_accuracy: float | None = threshold(
        "Lowest accuracy on the sampled images before any corruption.", ge=0, le=1)
    min_accuracy: float | None = threshold(
        "Lowest accuracy under every corruption at every severity.", ge=0, le=1)
    max_accuracy_drop: float | None = threshold(
        "Largest accuracy loss (clean - corrupted, same images) at every corruption and "
        "severity.", ge=-1, le=1)
    max_corruption_error: float | None = threshold(
        "Largest corruption error of every corruption (normalised by the baseline's when "
        "'baseline' is set, else the mean error over the severities).", ge=0)
    max_mce: float | None = threshold(
        "Largest mean corruption error over the corruptions.", ge=0)
    max_relative_mce: float | None = threshold(
        "Largest relative mCE (Hendrycks & Dietterich): per corruption, the error added by the "
        "corruption (corrupted - clean, summed over the severities) divided by the baseline's, "
        "averaged over the corruptions; needs 'baseline'.", ge=0)

    @model_validator(mode="after")
    def _relative_needs_baseline(self) -> CorruptionParams:
        if self.max_relative_mce is not None and self.baseline is None:
            raise ValueError("'max_relative_mce' divides by a baseline model's degradation: set "
                             "'baseline' to a model under 'models:' (max_mce without baseline "
                             "gates the unnormalised mean error)")
        return self

    @field_validator("severities")
    @classmethod
    def _severities(cls, values: list[Severity]) -> list[Severity]:
        if len(set(values)) != len(values):
            raise ValueError("name each severity once")
        return values

    @property
    def names(self) -> list[str]:
        """The corruptions, families expanded."""
        from modeltests.perturb.corruptions import expand

        return expand(list(self.corruptions))


CELL_LIMITS = (("accuracy", "min_accuracy"), ("accuracy_drop", "max_accuracy_drop"))
CORRUPTION_LIMITS = (("corruption_error", "max_corruption_error"),)
TOP_LIMITS = (("clean_accuracy", "min_clean_accuracy"), ("mce", "max_mce"))


def run_corruption(context: CheckContext, params: CorruptionParams) -> CheckResult:
    """Corrupt the sampled images at every corruption and severity, classify them through the
    prediction path, gate."""
    from modeltests.perturb.corruptions import library_version

    dataset = image_dataset(context, params.dataset)
    context.model()
    indices = sample_indices(len(dataset), params.num_examples, context.seed)
    images = [dataset.images[i] for i in indices]
    truth = [dataset.labels[i] for i in indices]
    names, severities = params.names, [int(s) for s in params.severities]
    corrupted = corrupt_all(context, images, names, severities)
    clean, predicted = _predicted(context, None, images, corrupted)
    base_wrong = base_clean_wrong = None
    if params.baseline is not None:
        base_clean, base_predicted = _predicted(context, params.baseline, images, corrupted)
        base_wrong, base_clean_wrong = ~_right(base_predicted, truth), ~_right(base_clean, truth)
        _check_baseline_errs(context, params.baseline, base_wrong, names, len(images))
    right = _right(predicted, truth)
    result = _scored(context, params, _right(clean, truth), right, base_wrong, names,
                     severities)
    if base_wrong is not None:
        _add_relative(context, params, result, (~_right(clean, truth), ~right),
                      (base_clean_wrong, base_wrong), names)
    result.details.update({"library": library_version(), "seed": context.seed,
                           "indices": indices, "corruptions": names,
                           "severities": severities, "baseline": params.baseline,
                           "normalised": params.baseline is not None,
                           "resized": _resize_note(dataset.shape)})
    if params.baseline is None:
        result.details["mce_note"] = ("no baseline: corruption_error is the mean error over "
                                      "the severities and mce their mean (unnormalised)")
    result.examples = _examples(images, truth, predicted, names, severities,
                                context.max_examples)
    return result


def corrupt_all(context: CheckContext, images: list[ImageInput], names: list[str],
                severities: list[int]) -> list[list[list[ImageInput]]]:
    """``[corruption][severity][image]``: every image corrupted by the package, each with its
    own seed (:func:`~modeltests.perturb.corruptions.image_seed` of its index in the sample)."""
    from modeltests.perturb.corruptions import corrupt_images, image_seed

    cells = [(name, severity) for name in names for severity in severities]
    done: dict[tuple[str, int], list[ImageInput]] = {}
    for name, severity in context.progress(cells, "corrupting", len(cells)):
        seeds = [image_seed(context.seed, name, severity, i) for i in range(len(images))]
        pixels = corrupt_images([image.pixels for image in images], name, severity, seeds)
        done[(name, severity)] = [image.with_pixels(corrupted, f"{name}@{severity}")
                                  for image, corrupted in zip(images, pixels)]
    return [[done[(name, severity)] for severity in severities] for name in names]


def _predicted(context: CheckContext, model: str | None, images: list[ImageInput],
               corrupted: list[list[list[ImageInput]]]) -> tuple[Any, Any]:
    """The labels ``model`` predicts: clean ``(n,)`` and corrupted ``(corruptions, severities,
    n)``, all in one prediction call."""
    import numpy as np

    flat = list(images) + [image for row in corrupted for cell in row for image in cell]
    labels = np.asarray(context.predict(flat, model=model).labels, dtype=object)
    n, shape = len(images), (len(corrupted), len(corrupted[0]), len(images))
    return labels[:n], labels[n:].reshape(shape)


def _right(predicted: Any, truth: list[str]) -> Any:
    """Which predictions are right (the last axis runs over the images)."""
    import numpy as np

    return np.asarray(predicted == np.asarray(truth, dtype=object), dtype=bool)


def _check_baseline_errs(context: CheckContext, baseline: str, wrong: Any, names: list[str],
                         n: int) -> None:
    """A baseline that made no error under a corruption cannot normalise it (a division by
    zero): a located error, never a made-up ratio."""
    clean = [name for c, name in enumerate(names) if not wrong[c].any()]
    if clean:
        raise context.error("baseline", f"model {baseline!r} classified all {n} images right "
                            f"under {', '.join(clean)} at every severity tested: its error "
                            "cannot normalise the corruption error (sample more images, add "
                            "higher severities, or remove 'baseline' for the unnormalised "
                            "mean error)")


def _scored(context: CheckContext, params: CorruptionParams, clean: Any, right: Any,
            base_wrong: Any, names: list[str], severities: list[int]) -> CheckResult:
    """Metrics, intervals and thresholds: the clean accuracy and mCE, each corruption's error,
    each corruption@severity's accuracy and drop."""
    from modeltests.stats.paired import paired_difference_interval
    from modeltests.stats.proportions import wilson_interval

    n = len(clean)
    metrics: dict[str, float] = {"clean_accuracy": float(clean.mean())}
    intervals = {"clean_accuracy": wilson_interval(int(clean.sum()), n)}
    methods = {"clean_accuracy": "wilson"}
    thresholds: list[ThresholdResult] = []
    cells: list[dict[str, Any]] = []
    for c, name in enumerate(names):
        for s, severity in enumerate(severities):
            scope = f"{name}@{severity}"
            hits = int(right[c, s].sum())
            low, high = paired_difference_interval(clean.tolist(), right[c, s].tolist())
            cell = {"accuracy": hits / n, "accuracy_drop": float(clean.mean()) - hits / n}
            cell_intervals = {"accuracy": wilson_interval(hits, n),
                              "accuracy_drop": (-high, -low)}
            cell_methods = {"accuracy": "wilson", "accuracy_drop": "newcombe"}
            thresholds += _gate(context, params, CELL_LIMITS, cell, cell_intervals,
                                cell_methods, scope)
            _record(metrics, intervals, methods, scope, cell, cell_intervals, cell_methods)
            cells.append({"corruption": name, "severity": severity, "correct": hits, **cell})
    errors, error_intervals = corruption_errors(~right, base_wrong, names, context.seed)
    for name in names:
        value = {"corruption_error": errors[name]}
        interval = {k: v for k, v in {"corruption_error": error_intervals.get(name)}.items()
                    if v is not None}
        method = {"corruption_error": "bootstrap-percentile"}
        thresholds += _gate(context, params, CORRUPTION_LIMITS, value, interval, method, name)
        _record(metrics, intervals, methods, name, value, interval, method)
    metrics["mce"] = errors["mce"]
    if "mce" in error_intervals:
        intervals["mce"] = error_intervals["mce"]
    methods["mce"] = "bootstrap-percentile"
    thresholds = _gate(context, params, TOP_LIMITS, metrics, intervals, methods, "") + thresholds
    result = CheckResult(metrics=metrics, sample_size=n, intervals=intervals,
                         interval_methods=methods, thresholds=thresholds)
    result.warn_unresolved(thresholds, n)
    result.details = {"cells": cells}
    if base_wrong is not None:
        result.details["baseline_errors"] = {
            f"{name}@{severity}": float(base_wrong[c, s].mean())
            for c, name in enumerate(names) for s, severity in enumerate(severities)}
    return result


def _add_relative(context: CheckContext, params: CorruptionParams, result: CheckResult,
                  model: tuple[Any, Any], baseline: tuple[Any, Any], names: list[str]) -> None:
    """The relative corruption errors and ``relative_mce`` (with ``max_relative_mce`` gated
    first among the thresholds); ``model`` and ``baseline`` are ``(clean_wrong (n,),
    wrong (corruptions, severities, n))``."""
    import numpy as np

    base_drop = (baseline[1].sum(axis=(1, 2)) - baseline[1].shape[1] * baseline[0].sum())
    flat = [name for c, name in enumerate(names) if base_drop[c] <= 0]
    if flat:
        message = (f"model {params.baseline!r} lost no accuracy to {', '.join(flat)} (its "
                   f"corrupted errors summed over the severities do not exceed its clean "
                   f"error on these {len(baseline[0])} images): its degradation cannot "
                   "normalise the relative corruption error")
        if params.max_relative_mce is not None:
            raise context.error("baseline", message + " (sample more images, add higher "
                                "severities, or remove 'max_relative_mce')")
        result.details["relative_mce_note"] = message + "; relative_mce is not reported"
        return
    values, intervals = relative_corruption_errors(model, baseline, names, context.seed)
    for name in names:
        key = f"{name}.relative_corruption_error"
        result.metrics[key] = values[name]
        result.interval_methods[key] = "bootstrap-percentile"
        if name in intervals:
            result.intervals[key] = intervals[name]
    result.metrics["relative_mce"] = values["mce"]
    result.interval_methods["relative_mce"] = "bootstrap-percentile"
    if "mce" in intervals:
        result.intervals["relative_mce"] = intervals["mce"]
    result.details["baseline_clean_error"] = float(np.mean(baseline[0]))
    if params.max_relative_mce is None:
        return
    gated = _gate(context, params, (("relative_mce", "max_relative_mce"),), result.metrics,
                  result.intervals, result.interval_methods, "")
    result.thresholds = gated + result.thresholds
    result.warn_unresolved(gated, len(baseline[0]))


def relative_corruption_errors(model: tuple[Any, Any], baseline: tuple[Any, Any],
                               names: list[str], seed: int
                               ) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Each corruption's relative error and their mean (keyed ``mce``), with bootstrap
    intervals over the images (model and baseline resampled together: the same images).
    ``relative CE_c = sum_s (E_s,c - E_clean) / sum_s (E_s,c(base) - E_clean(base))``; a
    resample where the baseline lost nothing under a corruption leaves it undefined (NaN)."""
    import numpy as np

    n, severities = model[1].shape[2], model[1].shape[1]

    def degradation(weights: Any, clean_wrong: Any, wrong: Any) -> Any:
        corrupted = np.einsum("mn,csn->mc", weights, wrong.astype(np.float64))
        clean = weights @ clean_wrong.astype(np.float64)
        return corrupted - severities * clean[:, None]

    def statistic(weights: Any) -> dict[str, Any]:
        ce = _ratio(degradation(weights, *model), degradation(weights, *baseline))
        return _per_corruption(ce, names)

    return _bootstrapped(statistic, n, seed)


def corruption_errors(wrong: Any, base_wrong: Any, names: list[str], seed: int
                      ) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Each corruption's error and the mCE (keyed ``mce``), with bootstrap intervals over the
    images. ``wrong`` (and the baseline's ``base_wrong``) are ``(corruptions, severities, n)``:
    normalised, ``CE_c = sum_s E_s,c / sum_s E_s,c(baseline)``; else ``mean_s E_s,c``."""
    import numpy as np

    n = wrong.shape[2]

    def statistic(weights: Any) -> dict[str, Any]:
        per = np.einsum("mn,csn->mc", weights, wrong.astype(np.float64))
        if base_wrong is None:
            ce = per / (n * wrong.shape[1])
        else:
            ce = _ratio(per, np.einsum("mn,csn->mc", weights, base_wrong.astype(np.float64)))
        return _per_corruption(ce, names)

    return _bootstrapped(statistic, n, seed)


def _ratio(mine: Any, theirs: Any) -> Any:
    """``mine / theirs`` where ``theirs`` is positive, NaN elsewhere (undefined, not made up)."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(theirs > 0, mine / np.where(theirs > 0, theirs, 1.0), np.nan)


def _per_corruption(ce: Any, names: list[str]) -> dict[str, Any]:
    """``(resamples, corruptions)`` values by corruption name, and their mean as ``mce``."""
    out = {name: ce[:, c] for c, name in enumerate(names)}
    out["mce"] = ce.mean(axis=1)
    return out


def _bootstrapped(statistic: Callable[[Any], dict[str, Any]], n: int, seed: int
                  ) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """The statistic on the images as drawn, and its bootstrap intervals over them."""
    import numpy as np

    from modeltests.stats.intervals import bootstrap_rows

    values = {name: float(v[0]) for name, v in statistic(np.ones((1, n))).items()}
    return values, bootstrap_rows(n, statistic, seed)


def _gate(context: CheckContext, params: CorruptionParams,
          pairs: tuple[tuple[str, str], ...], metrics: dict[str, float],
          intervals: dict[str, tuple[float, float]], methods: dict[str, str], scope: str
          ) -> list[ThresholdResult]:
    """The thresholds among ``pairs`` (metric, key) that the suite sets, on ``metrics``."""
    limits = [(metric, ">=" if key.startswith("min_") else "<=", float(getattr(params, key)))
              for metric, key in pairs if getattr(params, key) is not None]
    if not limits:
        return []
    return context.evaluate(metrics, intervals, scope=scope, limits=limits, methods=methods)


def _record(metrics: dict[str, float], intervals: dict[str, tuple[float, float]],
            methods: dict[str, str], scope: str, values: dict[str, float],
            value_intervals: dict[str, tuple[float, float]], value_methods: dict[str, str]
            ) -> None:
    for key, value in values.items():
        metrics[f"{scope}.{key}"] = value
        methods[f"{scope}.{key}"] = value_methods[key]
        if key in value_intervals:
            intervals[f"{scope}.{key}"] = value_intervals[key]


def _resize_note(shape: tuple[int, int, int]) -> str | None:
    from modeltests.perturb.corruptions import MIN_SIDE, enlargement

    factor = enlargement(shape[1], shape[2])
    if factor == 1:
        return None
    return (f"{shape[1]}x{shape[2]} images are smaller than the {MIN_SIDE}x{MIN_SIDE} the "
            f"library requires: each was enlarged {factor}x (pixels repeated), corrupted, "
            f"and sampled back to {shape[1]}x{shape[2]} (the centre pixel of each block): "
            f"blurs and warps reach 1/{factor} as far on the original image")


def _examples(images: list[ImageInput], truth: list[str], predicted: Any, names: list[str],
              severities: list[int], limit: int) -> list[dict[str, Any]]:
    """The first images a corruption made the model get wrong, lowest severities first."""
    wrong = ((s, c, i) for s in range(len(severities)) for c in range(len(names))
             for i in range(len(images)) if predicted[c, s, i] != truth[i])
    return [{"text": images[i].source, "input": f"{names[c]}@{severities[s]}",
             "expected": truth[i], "predicted": str(predicted[c, s, i])}
            for s, c, i in islice(wrong, limit)]


def prepare_corruption(context: CheckContext, params: CorruptionParams) -> None:
    """Setup: the ``imagecorruptions`` package is installed (else an ERROR naming the extra)."""
    from importlib.util import find_spec

    if find_spec("imagecorruptions") is None:
        raise context.error("kind", "the corruption kind needs the imagecorruptions package: "
                            "pip install 'modeltests[images]' (it installs "
                            "imagecorruptions-imaug)")


CHECK_KINDS = [CheckKind("corruption", CorruptionParams, run_corruption,
                         "ImageNet-C common corruptions (imagecorruptions): accuracy per "
                         "corruption and severity, corruption errors, mCE", inputs="image",
                         prepare=prepare_corruption)]
