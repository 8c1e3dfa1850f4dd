"""What ``quantization`` and ``pruning`` share: their parameters, and the comparison of a
candidate model with the suite's reference on the same examples.

The numbers come from the leaves: paired statistics from :mod:`modeltests.checks._paired`,
the speed-up from :func:`modeltests.measure.timing.time_alternately`, serialized sizes from
:func:`modeltests.measure.compress.state_dict_bytes`. This module names them as metrics, applies the
thresholds, and picks the changed examples and warnings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from pydantic import Field, model_validator

from modeltests.checks._batchings import (
    Rebatched,
    Spread,
    note_spread,
    rerun_batchings,
    split_warning,
    widen_by_batchings,
)
from modeltests.checks._paired import aligned, paired_metrics, score_slice
from modeltests.data.datasets import SliceSpec
from modeltests.data.inputs import ModelInput, as_display
from modeltests.result import CheckResult, SeededParams, ThresholdResult, threshold

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter, Predictions
    from modeltests.context import CheckContext
    from modeltests.data.datasets import Dataset

MB = 1024 * 1024


class SliceDrop(SliceSpec):
    """A slice of the dataset with its own limits on the accuracy drop and agreement."""

    max_accuracy_drop: float | None = threshold("Largest accuracy drop on the slice.", ge=-1, le=1)
    min_agreement: float | None = threshold("Lowest top-1 agreement on the slice.", ge=0, le=1)


class CompressionParams(SeededParams):
    """Parameters shared by ``quantization`` and ``pruning``."""

    dataset: str = Field(description="Name of a labelled dataset under 'datasets:' (for a text "
                         "generator: the documents both models score token by token).")
    speed_examples: int = Field(default=64, ge=0, le=100_000,
                                description="Texts timed for the speed-up (0: do not time).")
    speed_rounds: int = Field(default=3, ge=1, le=100,
                              description="Timed passes per model, alternating which goes first.")
    max_accuracy_drop: float | None = threshold(
        "Largest accuracy loss (reference - compressed), e.g. 0.01.", ge=-1, le=1)
    min_relative_accuracy: float | None = threshold(
        "Lowest compressed / reference accuracy (MLPerf: 0.99).", ge=0, le=2)
    min_agreement: float | None = threshold("Lowest top-1 agreement with the reference.",
                                            ge=0, le=1)
    max_mean_kl: float | None = threshold("Largest mean KL(reference || compressed), nats.",
                                          ge=0)
    min_speedup: float | None = threshold("Lowest reference time / compressed time.", gt=0)
    max_size_ratio: float | None = threshold("Largest compressed / reference serialized size.",
                                             gt=0)
    min_batch_agreement: float | None = threshold(
        "Lowest top-1 agreement of the compressed model with itself under a second, seeded "
        "shuffled batching (dynamic int8 depends on which texts share a batch).", ge=0, le=1)
    shuffled_batching: bool = Field(
        default=True, description="Predict again with the compressed model under other "
        "batchings (file order when it sorts by length; a seeded shuffle, batched as given; a "
        "second seeded shuffle in batches of half the size): report batch_agreement, and make "
        "each batch-dependent figure's 95% interval cover every batching's interval (its "
        "spread over batchings counts as uncertainty; details.batchings lists each).")
    max_entity_f1_drop: float | None = threshold(
        "Token models: largest entity F1 loss (reference - compressed).", ge=-1, le=1)
    min_tag_agreement: float | None = threshold(
        "Token models: lowest share of words tagged alike by both models.", ge=0, le=1)
    max_perplexity_ratio: float | None = threshold(
        "Text generators: largest compressed / reference token perplexity on 'dataset' "
        "(paired bootstrap over documents), e.g. 1.05.", gt=0)
    prompts: str | None = Field(
        default=None, description="Text generators: a dataset under 'datasets:' of prompts "
        "(text) with their expected answers (label); both models answer greedily and "
        "accuracy_* / accuracy_drop are the exact match of the answers (stripped), paired.")
    max_new_tokens: int = Field(default=16, ge=1, le=4096,
                                description="Text generators: longest answer to a prompt, in "
                                "tokens (also the tokens generated when timing the speed-up).")
    slices: list[SliceDrop] = Field(default_factory=list)

    @model_validator(mode="after")
    def _speed_measured(self) -> CompressionParams:
        if self.min_speedup is not None and self.speed_examples == 0:
            raise ValueError("min_speedup needs speed_examples > 0 (speed_examples: 0 turns "
                             "timing off)")
        if self.min_batch_agreement is not None and not self.shuffled_batching:
            raise ValueError("min_batch_agreement needs shuffled_batching: true (false turns "
                             "the second batching off)")
        return self


@dataclass
class Candidate:
    """The model compared with the reference, and what was done to get it."""

    adapter: ModelAdapter
    name: str
    predictions: Predictions
    details: dict[str, Any]
    recipe: dict[str, Any] | None = None
    """How a copy of the suite's model was made (None for another model of the suite): its
    predictions may then come from the cache (:meth:`CheckContext.run_derived`)."""


def compare(context: CheckContext, params: CompressionParams, candidate: Candidate) -> CheckResult:
    """Paired metrics, size and speed of ``candidate`` against the reference; thresholds."""
    dataset = context.dataset(params.dataset)
    if not len(dataset):
        raise context.error("dataset", f"dataset {params.dataset!r} has no rows to compare on")
    reference = context.model()
    ref_predictions = context.predictions(params.dataset)
    candidate.predictions = aligned(candidate.predictions, ref_predictions.label_names,
                                    context.location("compare_to"))
    paired = paired_metrics(dataset.labels, ref_predictions, candidate.predictions,
                            context.seed)
    result = CheckResult(metrics=paired.metrics, sample_size=len(dataset),
                         intervals=paired.intervals, interval_methods=paired.methods,
                         details={**candidate.details, "mcnemar": paired.mcnemar,
                                  "n": paired.counts["n"]})
    _add_sizes(result, reference, candidate.adapter)
    result.details["batching"] = {"reference": reference.batching().to_json("file order"),
                                  "compressed": candidate.adapter.batching().to_json("file order")}
    spread = None
    if params.shuffled_batching:
        batchings = rerun_batchings(context, dataset.texts, candidate.adapter, candidate.recipe,
                                    candidate.predictions.label_names)
        _batch_agreement(context, batchings, candidate, result)
        spread = widen_by_batchings(result, dataset.labels, ref_predictions, batchings,
                                    context.seed)
    if params.speed_examples:
        from modeltests.measure.timing import time_alternately

        texts = _speed_texts(dataset.texts, params.speed_examples, context.seed)
        batch = context.model_params().batch_size
        timing = time_alternately(reference, candidate.adapter, texts, batch, params.speed_rounds)
        result.metrics["speedup"] = timing.speedup
        # Median of alternating rounds: one measurement of this run, not a sample of rows.
        result.interval_methods["speedup"] = "single measurement"
        result.details["timing"] = timing.details()
    result.thresholds = context.evaluate(result.metrics, result.intervals,
                                         methods=result.interval_methods)
    split = note_spread(result.thresholds, spread) if spread is not None else []
    changed = [i for i, (r, c) in enumerate(zip(ref_predictions.labels,
                                                candidate.predictions.labels)) if r != c]
    examples = changed_examples(dataset, ref_predictions, candidate.predictions, changed)
    result.examples = examples[: context.max_examples]
    result.details["changed"] = result.details["errors"] = len(changed)
    for kind in ("broke", "fixed"):
        result.details[kind] = sum(e["change"] == kind for e in examples)
    for index, spec in enumerate(params.slices):
        _score_slice(context, index, spec, dataset, ref_predictions, candidate.predictions,
                     result)
    _warn(result, candidate, split, spread)
    return result


def _batch_agreement(context: CheckContext, batchings: list[Rebatched], candidate: Candidate,
                     result: CheckResult) -> None:
    """The compressed model again on the same texts in a seeded random order, batched as given
    (the ``seeded shuffle`` of :func:`rerun_batchings`): ``batch_agreement`` is the share of
    rows whose top-1 label did not move, with its Wilson interval. Only batch composition
    changed, so any disagreement is the model's own batch dependence (dynamic int8 computes
    activation scales per batch)."""
    from modeltests.stats.paired import max_abs_difference
    from modeltests.stats.proportions import agreement, wilson_interval

    second = next(b for b in batchings if b.name == "seeded shuffle").predictions
    first = candidate.predictions
    agree = agreement(first.labels, second.labels)
    same = sum(a == b for a, b in zip(first.labels, second.labels))
    result.metrics["batch_agreement"] = agree
    result.intervals["batch_agreement"] = wilson_interval(same, len(first))
    result.interval_methods["batch_agreement"] = "wilson"
    facts: dict[str, Any] = {"seed": context.seed, "order": "seeded shuffle, batched as given",
                             "batch_size": candidate.adapter.in_given_order().batching()
                             .batch_size, "changed": len(first) - same}
    if first.probabilities is not None and second.probabilities is not None:
        facts["max_prob_change"] = max_abs_difference(first.probabilities, second.probabilities)
    result.details["batching"]["second"] = facts


def _add_sizes(result: CheckResult, reference: ModelAdapter, candidate: ModelAdapter) -> None:
    sizes = [_size_mb(reference), _size_mb(candidate)]
    if sizes[0] is not None:
        result.metrics["size_reference_mb"] = sizes[0]
    if sizes[1] is not None:
        result.metrics["size_compressed_mb"] = sizes[1]
    if sizes[0] and sizes[1] is not None:
        result.metrics["size_ratio"] = sizes[1] / sizes[0]
    for key in ("size_reference_mb", "size_compressed_mb", "size_ratio"):
        if key in result.metrics:
            result.interval_methods[key] = "exact"  # bytes counted, not sampled


def _size_mb(adapter: ModelAdapter) -> float | None:
    """Serialized weights in MB, or None for a model without torch weights."""
    from modeltests.adapters.torch_utils import torch_module_or_none
    from modeltests.measure.compress import state_dict_bytes

    module = torch_module_or_none(adapter)
    return None if module is None else state_dict_bytes(module) / MB


def _speed_texts(texts: list[ModelInput], count: int, seed: int) -> list[ModelInput]:
    if count >= len(texts):
        return list(texts)
    return random.Random(seed).sample(texts, count)


def changed_examples(dataset: Dataset, reference: Predictions, candidate: Predictions,
                     indices: list[int]) -> list[dict[str, Any]]:
    """Examples whose top-1 prediction changed: those the compressed model broke (the
    reference was right) first, then those wrong either way, then those it fixed; within each,
    largest probability change first. ``change`` says which."""
    ref_conf, new_conf = reference.confidence(), candidate.confidence()

    def change(i: int) -> float:
        if reference.probabilities is None or candidate.probabilities is None:
            return 0.0
        return float(abs(reference.probabilities[i] - candidate.probabilities[i]).max())

    def kind(i: int) -> str:
        truth = dataset.labels[i]
        return "broke" if reference.labels[i] == truth else \
            "fixed" if candidate.labels[i] == truth else "changed"

    rank = {"broke": 0, "changed": 1, "fixed": 2}
    ordered = sorted(indices, key=lambda i: (rank[kind(i)], -change(i), i))
    return [{"text": as_display(dataset.texts[i]), "expected": dataset.labels[i], "change": kind(i),
             "reference": reference.labels[i], "reference_confidence": ref_conf[i],
             "predicted": candidate.labels[i], "confidence": new_conf[i]} for i in ordered]


def _score_slice(context: CheckContext, index: int, spec: SliceDrop, dataset: Dataset,
                 reference: Predictions, candidate: Predictions, result: CheckResult) -> None:
    scored = score_slice(context, index, spec, dataset, reference, candidate, result,
                         ("reference", "compressed"), ("accuracy_drop", "agreement"))
    scored.entry["thresholds"] = [t.to_json() for t in scored.thresholds]
    result.details.setdefault("slices", []).append(scored.entry)


def _warn(result: CheckResult, candidate: Candidate, split: list[ThresholdResult],
          spread: Spread | None) -> None:
    # Slices warned with their own sample size; a threshold the batchings split is warned
    # apart: no sample size decides it.
    result.warn_unresolved([t for t in result.thresholds if not t.scope and t not in split],
                           result.sample_size or 0)
    if spread is not None:
        result.warnings.extend(split_warning(t, spread) for t in split)
    if "mean_kl" not in result.metrics:
        result.warnings.append("mean_kl / max_prob_change not measured: a model gave labels "
                               "without probabilities")
    speedup = result.metrics.get("speedup")
    if candidate.name == "fp16" and speedup is not None and speedup < 1:
        result.warnings.append(f"fp16 ran {1 / speedup:.1f}x slower than the reference: torch "
                               "has no fast fp16 kernels on this CPU (use bf16 on CPUs)")
    if candidate.name.startswith("prune") and "size_ratio" in result.metrics:
        result.details["size_note"] = ("pruned weights are stored dense: the size only shrinks "
                                       "with a sparse or compressed format")
