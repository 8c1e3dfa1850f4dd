"""``quantization`` and ``pruning``: does the compressed model still do its job, and what is gained?

Both kinds compare a *candidate* with the suite's reference model on the same examples:

* ``quantization`` with ``scheme:`` compresses a copy of the reference's torch module
  (:mod:`modeltests.compress`); with ``compare_to:`` the candidate is another model of the suite's
  ``models:`` (an already-quantized export, a remote endpoint), which works for any adapter.
* ``pruning`` zeroes the smallest-magnitude ``nn.Linear`` weights of a copy at ``sparsity``.

Metrics (paired, candidate vs reference): ``accuracy_reference``, ``accuracy_compressed``,
``accuracy_drop`` (reference - candidate, Newcombe 95% interval, McNemar p-value),
``relative_accuracy`` (MLPerf's form: candidate / reference), top-1 ``agreement``, ``mean_kl``
(KL(reference || candidate), nats), ``max_prob_change``, serialized ``size_*_mb`` and
``size_ratio``, and ``speedup`` (both models timed alternately on the same pre-encoded batches).

fp16 on a CPU runs (its accuracy effect is still worth knowing) but torch has no fast fp16 CPU
kernels, so the check warns and reports the slowdown as a ``speedup`` below 1.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

from pydantic import Field, model_validator

from modeltests.registry import CheckKind
from modeltests.result import CheckParams, CheckResult, ThresholdResult, threshold
from modeltests.compress import Scheme
from modeltests.context import CheckContext
from modeltests.data import SliceSpec, slice_indices
from modeltests.errors import MissingResourceError, ModelTestsError, UnsupportedCapabilityError

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter, Predictions
    from modeltests.data import Dataset

MB = 1024 * 1024


class SliceDrop(SliceSpec):
    """A slice of the dataset with its own limits on the accuracy drop and agreement."""

    max_accuracy_drop: float | None = threshold("Largest accuracy drop on the slice.", ge=-1, le=1)
    min_agreement: float | None = threshold("Lowest top-1 agreement on the slice.", ge=0, le=1)


class CompressionParams(CheckParams):
    """Parameters shared by ``quantization`` and ``pruning``."""

    dataset: str = Field(description="Name of a labelled dataset under 'datasets:'.")
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
    slices: list[SliceDrop] = Field(default_factory=list)

    @model_validator(mode="after")
    def _speed_measured(self) -> CompressionParams:
        if self.min_speedup is not None and self.speed_examples == 0:
            raise ValueError("min_speedup needs speed_examples > 0 (speed_examples: 0 turns "
                             "timing off)")
        return self


class QuantizationParams(CompressionParams):
    """Quantize a copy of the model (``scheme``) or compare with a suite model (``compare_to``)."""

    kind: str = "quantization"
    scheme: Scheme | None = Field(default=None, description="How to quantize a copy of the model.")
    compare_to: str | None = Field(
        default=None, description="Name of an already-compressed model under 'models:'.")

    @model_validator(mode="after")
    def _one_candidate(self) -> QuantizationParams:
        if (self.scheme is None) == (self.compare_to is None):
            raise ValueError("set exactly one of 'scheme' (quantize a copy of the model) or "
                             "'compare_to' (a model under 'models:')")
        return self

    def label(self, index: int) -> str:
        return self.name or self.compare_to or str(self.scheme)


class PruningParams(CompressionParams):
    """L1 unstructured magnitude pruning of every ``nn.Linear`` weight of a copy of the model."""

    kind: str = "pruning"
    sparsity: float = Field(gt=0, lt=1, description="Fraction of Linear weights set to zero.")
    method: Literal["l1_unstructured"] = Field(default="l1_unstructured")

    def label(self, index: int) -> str:
        return self.name or f"l1-{self.sparsity:g}"


@dataclass
class Candidate:
    """The model compared with the reference, and what was done to get it."""

    adapter: ModelAdapter
    name: str
    predictions: Predictions
    details: dict[str, Any]


def run_quantization(context: CheckContext, params: QuantizationParams) -> CheckResult:
    """Quantize a copy (``scheme``) or take ``compare_to``; compare on ``dataset``."""
    if params.compare_to is not None:
        candidate = Candidate(context.model(params.compare_to), params.compare_to,
                              context.predictions(params.dataset, params.compare_to),
                              {"candidate": f"models.{params.compare_to}"})
        return compare(context, params, candidate)
    assert params.scheme is not None
    scheme = params.scheme
    return _with_copy(context, params, scheme, lambda module: _quantize(context, module, scheme))


def run_pruning(context: CheckContext, params: PruningParams) -> CheckResult:
    """Prune a copy at ``sparsity``; compare on ``dataset``."""
    from modeltests.compress import linear_sparsity, prune_l1_unstructured

    def prune(module: Any) -> Any:
        pruned = prune_l1_unstructured(module, params.sparsity)
        return pruned, {"sparsity_requested": params.sparsity,
                        "sparsity": linear_sparsity(pruned)}

    return _with_copy(context, params, f"prune_l1 {params.sparsity:g}", prune)


def _quantize(context: CheckContext, module: Any, scheme: Scheme) -> tuple[Any, dict[str, Any]]:
    from modeltests.compress import compress, module_device

    device = module_device(module)
    if scheme == "int8_dynamic" and not device.startswith("cpu"):
        raise context.error("scheme", f"int8_dynamic runs on the CPU only and the model is on "
                                      f"{device}; use bf16, fp16 or a torchao scheme, or set "
                                      f"model.device: cpu")
    try:
        return compress(module, scheme), {}
    except MissingResourceError as exc:
        raise MissingResourceError(f"{context.location('scheme')}: checks["
                                   f"{context.identity.index}].scheme: {exc}") from None


def _with_copy(context: CheckContext, params: CompressionParams, what: str,
               make: Callable[[Any], tuple[Any, dict[str, Any]]]) -> CheckResult:
    """Compress a copy of the reference module, compare, then free the copy."""
    reference = context.model()
    try:
        module = reference.torch_module()
    except UnsupportedCapabilityError as exc:
        return CheckResult(skip_reason=f"{what} needs the model's torch weights ({exc}); name an "
                                       "already-compressed model under 'models:' and set "
                                       "compare_to instead")
    compressed, facts = make(module)
    compressed.eval()
    adapter = reference.with_module(compressed)
    try:
        dataset = context.dataset(params.dataset)
        try:
            predictions = context.run_model(adapter, dataset.texts)
        except ModelTestsError as exc:
            raise type(exc)(f"{context.location()}: {exc}") from None
        candidate = Candidate(adapter, what, predictions, {"candidate": what, **facts})
        result = compare(context, params, candidate)
        if "sparsity" in facts:
            result.metrics["sparsity"] = facts["sparsity"]
        return result
    finally:
        del adapter, compressed
        gc.collect()


def compare(context: CheckContext, params: CompressionParams, candidate: Candidate) -> CheckResult:
    """Paired metrics, size and speed of ``candidate`` against the reference; thresholds."""
    dataset = context.dataset(params.dataset)
    if not len(dataset):
        raise context.error("dataset", f"dataset {params.dataset!r} has no rows to compare on")
    reference = context.model()
    ref_predictions = context.predictions(params.dataset)
    candidate.predictions = aligned(candidate.predictions, ref_predictions.label_names,
                                    context.location("compare_to"))
    metrics, intervals, details = paired_metrics(dataset.labels, ref_predictions,
                                                 candidate.predictions)
    result = CheckResult(metrics=metrics, sample_size=len(dataset), intervals=intervals,
                         details={**candidate.details, **details})
    _add_sizes(result, reference, candidate.adapter)
    if params.speed_examples:
        texts = _speed_texts(dataset.texts, params.speed_examples, context.seed)
        batch = context.model_params().batch_size
        timing = time_alternately(reference, candidate.adapter, texts, batch, params.speed_rounds)
        result.metrics["speedup"] = timing.pop("speedup")
        result.details["timing"] = timing
    result.thresholds = context.evaluate(result.metrics, result.intervals)
    changed = [i for i, (r, c) in enumerate(zip(ref_predictions.labels,
                                                candidate.predictions.labels)) if r != c]
    result.examples = changed_examples(dataset, ref_predictions, candidate.predictions,
                                       changed)[: context.max_examples]
    result.details["changed"] = result.details["errors"] = len(changed)
    for spec in params.slices:
        _score_slice(context, params, spec, dataset, ref_predictions, candidate.predictions,
                     result)
    _warn(result, candidate)
    return result


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


def paired_metrics(truth: Sequence[str], reference: Predictions, candidate: Predictions
                   ) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, Any]]:
    """Accuracy of both, drop with its paired interval, agreement, KL, largest probability change.

    ``accuracy_drop`` is reference minus candidate (positive means the candidate is worse); its
    interval is Newcombe's paired interval, negated.
    """
    from modeltests.stats import (
        agreement,
        max_abs_difference,
        mcnemar_test,
        mean_kl_divergence,
        paired_difference_interval,
        wilson_interval,
    )

    ref_ok = [t == p for t, p in zip(truth, reference.labels)]
    new_ok = [t == p for t, p in zip(truth, candidate.labels)]
    n = len(truth)
    acc_ref, acc_new = sum(ref_ok) / n, sum(new_ok) / n
    low, high = paired_difference_interval(ref_ok, new_ok)
    mcnemar = mcnemar_test(ref_ok, new_ok)
    agree = agreement(reference.labels, candidate.labels)
    metrics = {"accuracy_reference": acc_ref, "accuracy_compressed": acc_new,
               "accuracy_drop": acc_ref - acc_new, "mcnemar_p_value": mcnemar["p_value"],
               "agreement": agree}
    if acc_ref > 0:
        metrics["relative_accuracy"] = acc_new / acc_ref
    if reference.probabilities is not None and candidate.probabilities is not None:
        metrics["mean_kl"] = mean_kl_divergence(reference.probabilities, candidate.probabilities)
        metrics["max_prob_change"] = max_abs_difference(reference.probabilities,
                                                        candidate.probabilities)
    intervals = {"accuracy_drop": (-high, -low),
                 "agreement": wilson_interval(round(agree * n), n)}
    details = {"mcnemar": mcnemar, "n": n}
    return metrics, intervals, details


def _add_sizes(result: CheckResult, reference: ModelAdapter, candidate: ModelAdapter) -> None:
    sizes = [_size_mb(reference), _size_mb(candidate)]
    if sizes[0] is not None:
        result.metrics["size_reference_mb"] = sizes[0]
    if sizes[1] is not None:
        result.metrics["size_compressed_mb"] = sizes[1]
    if sizes[0] and sizes[1] is not None:
        result.metrics["size_ratio"] = sizes[1] / sizes[0]


def _size_mb(adapter: ModelAdapter) -> float | None:
    from modeltests.compress import state_dict_bytes

    try:
        module = adapter.torch_module()
    except UnsupportedCapabilityError:
        return None
    return state_dict_bytes(module) / MB


def _speed_texts(texts: list[str], count: int, seed: int) -> list[str]:
    if count >= len(texts):
        return list(texts)
    return random.Random(seed).sample(texts, count)


def time_alternately(reference: ModelAdapter, candidate: ModelAdapter, texts: list[str],
                     batch_size: int, rounds: int) -> dict[str, Any]:
    """Time both models on the same batches, alternating which runs first in each round.

    Model-only (``forward`` on pre-encoded batches) when both adapters have ``encode`` /
    ``forward``, else end to end (``predict``). ``speedup`` = median reference time / median
    candidate time; values above 1 mean the candidate is faster.
    """
    chunks = [texts[i:i + batch_size] for i in range(0, len(texts), batch_size)]
    runners, mode = _runners(reference, candidate, chunks)
    for run in runners:  # warm-up: first calls allocate and pick kernels
        run(chunks[:1])
    seconds: list[list[float]] = [[], []]
    for round_index in range(rounds):
        order = (0, 1) if round_index % 2 == 0 else (1, 0)
        for which in order:
            started = time.perf_counter()
            runners[which](chunks)
            seconds[which].append(time.perf_counter() - started)
    ref_s, new_s = statistics.median(seconds[0]), statistics.median(seconds[1])
    return {"speedup": ref_s / new_s if new_s > 0 else float("inf"), "mode": mode,
            "examples": len(texts), "batch_size": batch_size, "rounds": rounds,
            "reference_seconds": seconds[0], "compressed_seconds": seconds[1],
            "torch_threads": _torch_threads()}


def _torch_threads() -> int | None:
    """torch's intra-op thread count, when torch is loaded (not imported for a callable)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def _runners(reference: ModelAdapter, candidate: ModelAdapter, chunks: list[list[str]]
             ) -> tuple[list[Callable[[list[list[str]]], None]], str]:
    """One callable per model running a list of chunks; encoding happens before timing."""
    adapters = (reference, candidate)
    try:
        encoded = [{id(c): a.encode(c) for c in chunks} for a in adapters]
        for adapter, batches in zip(adapters, encoded):
            adapter.forward(batches[id(chunks[0])])
    except UnsupportedCapabilityError:
        return [_predict_runner(a) for a in adapters], "predict"
    return [_forward_runner(a, e) for a, e in zip(adapters, encoded)], "forward"


def _predict_runner(adapter: ModelAdapter) -> Callable[[list[list[str]]], None]:
    def run(chunks: list[list[str]]) -> None:
        for chunk in chunks:
            adapter.predict(chunk)
    return run


def _forward_runner(adapter: ModelAdapter, encoded: dict[int, Any]
                    ) -> Callable[[list[list[str]]], None]:
    def run(chunks: list[list[str]]) -> None:
        for chunk in chunks:
            adapter.forward(encoded[id(chunk)])
    return run


def changed_examples(dataset: Dataset, reference: Predictions, candidate: Predictions,
                     indices: list[int]) -> list[dict[str, Any]]:
    """Examples whose top-1 prediction changed, largest probability change first."""
    ref_conf, new_conf = reference.confidence(), candidate.confidence()

    def change(i: int) -> float:
        if reference.probabilities is None or candidate.probabilities is None:
            return 0.0
        return float(abs(reference.probabilities[i] - candidate.probabilities[i]).max())

    ordered = sorted(indices, key=lambda i: (-change(i), i))
    return [{"text": dataset.texts[i], "expected": dataset.labels[i],
             "reference": reference.labels[i], "reference_confidence": ref_conf[i],
             "predicted": candidate.labels[i], "confidence": new_conf[i]} for i in ordered]


def _score_slice(context: CheckContext, params: CompressionParams, spec: SliceDrop,
                 dataset: Dataset, reference: Predictions, candidate: Predictions,
                 result: CheckResult) -> None:
    index = next(i for i, s in enumerate(params.slices) if s is spec)
    indices = slice_indices(dataset, spec, context.location("slices", index))
    entry: dict[str, Any] = {"name": spec.name, "n": len(indices)}
    metrics: dict[str, float] = {}
    intervals: dict[str, tuple[float, float]] = {}
    if indices:
        truth = [dataset.labels[i] for i in indices]
        metrics, intervals, _ = paired_metrics(truth, reference.subset(indices),
                                               candidate.subset(indices))
        for key in ("accuracy_drop", "agreement"):
            result.metrics[f"slice.{spec.name}.{key}"] = metrics[key]
            result.intervals[f"slice.{spec.name}.{key}"] = intervals[key]
        entry.update(accuracy_drop=metrics["accuracy_drop"], agreement=metrics["agreement"])
    thresholds = context.evaluate(metrics, intervals, scope=spec.name, params=spec)
    entry["thresholds"] = [t.to_json() for t in thresholds]
    for t in thresholds:
        _warn_unresolved(result, t, len(indices))
    result.thresholds.extend(thresholds)
    result.details.setdefault("slices", []).append(entry)


def _warn(result: CheckResult, candidate: Candidate) -> None:
    for t in result.thresholds:
        if not t.scope:  # slices warn with their own sample size
            _warn_unresolved(result, t, result.sample_size or 0)
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


def _warn_unresolved(result: CheckResult, t: ThresholdResult, n: int) -> None:
    if not t.resolved and t.interval is not None:
        result.warnings.append(
            f"{t.scope + ' ' if t.scope else ''}{t.metric}: the 95% interval "
            f"{t.interval[0]:.3f}-{t.interval[1]:.3f} contains the threshold {t.limit:g}; "
            f"n={n} is too small to decide it")


CHECK_KINDS = [
    CheckKind("quantization", QuantizationParams, run_quantization,
              "accuracy drop, agreement, KL, size and speed-up of a quantized model"),
    CheckKind("pruning", PruningParams, run_pruning,
              "accuracy drop, agreement and KL of an L1-pruned copy of the model"),
]
