"""``footprint``: what the model costs to compute and to hold. FLOPs per input at each sequence
length, or for an image classifier at each image size (counted by torch's ``FlopCounterMode``,
not by hand: convolutions and matrix products), parameters, weight sparsity (exact
zeros, overall and per layer type), bytes of the weights and peak bytes of the activations of one
forward call, and the FLOP rate the timed forward calls reached. Definitions and methods in
:mod:`modeltests.measure.footprint`.

A kind of its own rather than part of ``latency``: these numbers are counts, the same on every
machine and run (no timing loop, no interval), so they gate without the noise of a timed check,
and one forward per length is all they cost.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any, Callable

from pydantic import Field, field_validator

from modeltests.context import CheckContext
from modeltests.errors import UnsupportedCapabilityError
from modeltests.extend.registry import CheckKind
from modeltests.checks._image_sizes import valid_sides
from modeltests.result import CheckParams, CheckResult, threshold
from modeltests.suite.loader import MODEL_REFERENCE_MARK

if TYPE_CHECKING:
    from modeltests.adapters.base import ModelAdapter
    from modeltests.data.inputs import ModelInput

EXACT = ("gflops", "parameters", "weight_sparsity", "weight_bytes", "activation_peak_bytes")


class FootprintParams(CheckParams):
    """FLOPs, parameters, sparsity and memory of the suite's torch model."""

    kind: str = "footprint"
    model: str | None = Field(
        default=None, description="A model under 'models:' to measure (e.g. a pruned or "
        "quantized copy saved earlier) instead of the suite's model.",
        json_schema_extra={MODEL_REFERENCE_MARK: "any"})
    sequence_lengths: list[int] = Field(
        default_factory=lambda: [128], min_length=1,
        description="Token lengths (special tokens included) of the synthetic inputs; the "
        "longest is gated.")
    dataset: str | None = Field(
        default=None, description="Image classifiers: a dataset of images; its first image "
        "(resized to each of image_sizes) is the input measured.")
    image_sizes: list[int] | None = Field(
        default=None, min_length=1, description="Image classifiers: square sides in pixels to "
        "measure at (default: the dataset's own size); the largest is gated. A size the model "
        "cannot take is an error.")
    batch_size: int = Field(default=1, ge=1, le=1024, description="Inputs per forward call; "
                            "FLOPs are reported per input.")
    timed_calls: int = Field(default=5, ge=0, le=1000, description="Forward calls timed per "
                             "length for the achieved FLOP rate (0: no timing).")
    max_gflops: float | None = threshold("Highest GFLOPs per input at the longest length (or "
                                         "largest image size).", ge=0)
    min_weight_sparsity: float | None = threshold("Lowest share of parameter entries that are "
                                                  "exactly zero.", ge=0, le=1)
    max_weight_bytes: float | None = threshold("Highest bytes of parameters and buffers.", ge=0)
    max_parameters: float | None = threshold("Highest number of parameters.", ge=0)
    max_activation_peak_bytes: float | None = threshold(
        "Highest peak bytes of activations during one forward call at the longest length.",
        ge=0)

    def label(self, index: int) -> str:
        """The name, else the measured model's name, else the index."""
        return self.name or self.model or str(index)

    @field_validator("sequence_lengths")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(n < 1 for n in value):
            raise ValueError("sequence lengths must be positive integers")
        return sorted(set(value))

    @field_validator("image_sizes")
    @classmethod
    def _sides(cls, value: list[int] | None) -> list[int] | None:
        return valid_sides(value)


def run_footprint(context: CheckContext, params: FootprintParams) -> CheckResult:
    """Count the weights once, then FLOPs and activations at each length."""
    from modeltests.measure.footprint import weight_facts

    adapter = context.model(params.model)
    try:
        module = adapter.torch_module()
    except UnsupportedCapabilityError as exc:
        return CheckResult(skip_reason=f"footprint needs the model's torch module ({exc})")
    facts = weight_facts(module)
    try:
        configs = _measured_configs(context, params, adapter)
    except UnsupportedCapabilityError as exc:
        return CheckResult(skip_reason=f"footprint needs separate encode and forward steps "
                                       f"({exc})")
    head = configs[-1]
    metrics = {"gflops": head["gflops_per_input"], "parameters": float(facts.parameters),
               "weight_sparsity": facts.sparsity, "weight_bytes": float(facts.weight_bytes),
               "activation_peak_bytes": float(head["activation_peak_bytes"])}
    if head.get("achieved_gflops_per_s") is not None:
        metrics["achieved_gflops_per_s"] = head["achieved_gflops_per_s"]
    for c in configs:
        key = f"l{c['sequence_length']}" if "image_size" not in c else f"s{c['image_size']}"
        metrics[f"{key}.gflops"] = c["gflops_per_input"]
    methods = {name: "exact" for name in EXACT}
    result = CheckResult(metrics=metrics, sample_size=len(configs), interval_methods=methods)
    result.thresholds = context.evaluate(metrics, methods=methods)
    # Not under "configs": that is the latency check's shape, which its charts read.
    result.details = {"footprint": configs, "weights": {
        "parameters": facts.parameters, "zeros": facts.zeros, "sparsity": facts.sparsity,
        "bytes": facts.weight_bytes,
        "by_layer_type": {k: v.to_json() for k, v in facts.by_type.items()}},
        "methods": _methods(), "peak_flops": None}
    at = (f"{head['sequence_length']} tokens" if "image_size" not in head
          else f"{head['image_size']} images")
    result.headline = (f"{head['gflops_per_input']:.3g} GFLOPs/input at "
                       f"{at}; {facts.parameters:,} parameters, "
                       f"{facts.sparsity:.1%} zeros, {facts.weight_bytes / 1e6:.1f} MB weights")
    failed = result.failed_thresholds()
    if failed:
        result.headline = "; ".join(t.describe() for t in failed[:2])
    return result


def _measured_configs(context: CheckContext, params: FootprintParams, adapter: ModelAdapter
                      ) -> list[dict[str, Any]]:
    """One entry per sequence length, or for an image classifier per image size (each size
    probed first: one the model cannot take is a located error)."""
    from modeltests.checks._image_sizes import probe_sizes, reads_images, sized_images

    if not reads_images(adapter):
        for key in ("image_sizes", "dataset"):
            if getattr(params, key) is not None:
                raise context.error(key, f"{key} applies to an image classifier; this model "
                                    "reads texts, measured at sequence_lengths")
        return [_measure(adapter, params, n, text)
                for n, text in _inputs(context, params, adapter)]
    if "sequence_lengths" in params.model_fields_set:
        raise context.error("sequence_lengths", "this model classifies images: measure it at "
                            "image_sizes over a dataset of images, not at token lengths")
    sized = sized_images(context, params.dataset, params.image_sizes, 1)
    probe_sizes(context, adapter, sized)
    configs = []
    for entry in sized:
        measured = _measure(adapter, params, entry.height, entry.images[0])
        measured.pop("sequence_length")
        configs.append({"image_size": entry.label, "image_side": entry.height, **measured})
    return configs


def _inputs(context: CheckContext, params: FootprintParams, adapter: ModelAdapter
            ) -> list[tuple[int, str]]:
    """A text of exactly each length in tokens (the latency check's synthetic inputs)."""
    from modeltests.checks.latency.inputs import exact_length_text, length_limits

    tokenizer = getattr(adapter, "tokenizer", None)
    if tokenizer is None:
        raise context.error("sequence_lengths", "inputs of exact token lengths need the model's "
                            "tokenizer, and this adapter has none")
    limits = length_limits(adapter, tokenizer)
    limit = min(limits.values()) if limits else None
    found = []
    for n in params.sequence_lengths:
        if limit is not None and n > limit:
            below = ", ".join(f"{name} {value}" for name, value in limits.items() if n > value)
            raise context.error("sequence_lengths", f"{n} tokens is more than the model takes "
                                f"({below}); allowed: 1 to {limit}")
        try:
            found.append((n, exact_length_text(tokenizer, n)))
        except ValueError as exc:
            raise context.error("sequence_lengths", str(exc)) from None
    return found


def _measure(adapter: ModelAdapter, params: FootprintParams, length: int, text: ModelInput
             ) -> dict[str, Any]:
    """FLOPs, activation peak and (optionally) the FLOP rate of one batch of ``text`` (or of an
    image)."""
    from modeltests.measure.footprint import activation_peak_bytes, count_flops

    batch = adapter.encode([text] * params.batch_size)
    flops, by_op = count_flops(lambda: adapter.forward(batch))
    peak = activation_peak_bytes(lambda: adapter.forward(batch))
    entry: dict[str, Any] = {
        "sequence_length": length, "batch_size": params.batch_size, "flops": flops,
        "gflops_per_input": flops / params.batch_size / 1e9, "flops_by_op": by_op,
        "activation_peak_bytes": peak, "median_forward_ms": None, "achieved_gflops_per_s": None}
    if params.timed_calls:
        synchronize = _synchronizer(adapter.device)
        adapter.forward(batch)  # one untimed call: first-call costs are not the model's rate
        seconds = []
        for _ in range(params.timed_calls):
            synchronize()
            start = time.perf_counter()
            adapter.forward(batch)
            synchronize()  # a GPU call returns before its kernels finish
            seconds.append(time.perf_counter() - start)
        median = statistics.median(seconds)
        entry.update(median_forward_ms=median * 1e3,
                     achieved_gflops_per_s=flops / median / 1e9 if median > 0 else None)
    return entry


def _synchronizer(device: str) -> Callable[[], None]:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None


def _methods() -> dict[str, str]:
    return {
        "flops": "torch.utils.flop_counter.FlopCounterMode over one forward call: matrix "
                 "products and convolutions only (2 per multiply-add); softmax, "
                 "normalisation, activations, pooling, biases of convolutions and embeddings "
                 "count 0",
        "weight_sparsity": "share of parameter entries exactly 0 (each tensor once)",
        "weight_bytes": "numel x element size of parameters and buffers in memory",
        "activation_peak_bytes": "peak total of the tensors one forward call creates and "
                                 "holds, tracked at torch's dispatcher; weights, inputs and "
                                 "allocator slack excluded",
        "achieved_gflops_per_s": "counted FLOPs / median wall time of the timed forward "
                                 "calls (model only, no tokenization); no peak is claimed: "
                                 "this machine's peak FLOP rate is not measured here",
    }


CHECK_KINDS = [CheckKind("footprint", FootprintParams, run_footprint,
                         "FLOPs per input, parameters, weight sparsity, weight and activation "
                         "bytes", inputs="any")]
