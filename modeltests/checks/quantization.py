"""``quantization`` and ``pruning``: does the compressed model still do its job, and what is gained?

Both kinds compare a *candidate* with the suite's reference model on the same examples
(:func:`modeltests.checks._compression.compare`):

* ``quantization`` with ``scheme:`` compresses a copy of the reference's torch module
  (:mod:`modeltests.measure.compress`); with ``compare_to:`` the candidate is another model of the suite's
  ``models:`` (an already-quantized export, a remote endpoint), which works for any adapter.
* ``pruning`` zeroes the smallest-magnitude weights of every ``nn.Linear`` and convolution of a
  copy at ``sparsity``.

The int8 schemes quantize ``nn.Linear`` layers only: an image model's convolutions stay float
(the share of parameters reached, and a warning when convolutions were left, are in the result).

A text generator (:mod:`modeltests.checks._generator_compression`) is compared token by token
on documents instead: per-token KL, top-1 next-token agreement, the perplexity ratio (bootstrap
over documents) and, with ``prompts``, the exact-match drop of greedy answers. ``float_head``
leaves the output head in float (the recipe used for language models).

Metrics (paired, candidate vs reference): ``accuracy_reference``, ``accuracy_compressed``,
``accuracy_drop`` (reference - candidate, Newcombe 95% interval, McNemar p-value),
``relative_accuracy`` (MLPerf's form: candidate / reference), top-1 ``agreement``, ``mean_kl``
(KL(reference || candidate), nats), ``max_prob_change``, serialized ``size_*_mb`` and
``size_ratio``, ``speedup`` (both models timed alternately on the same pre-encoded batches), and
``sparsity`` for ``pruning``; ``batch_agreement``, the compressed model's top-1 agreement with
itself under a second, seeded shuffled batching (dynamic int8 computes activation scales per
batch, so its outputs depend on which texts share a batch; the batchings are in the details).

fp16 on a CPU runs (its accuracy effect is still worth knowing) but torch has no fast fp16 CPU
kernels, so the check warns and reports the slowdown as a ``speedup`` below 1.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import Field, model_validator

from modeltests.checks._compression import Candidate, CompressionParams, compare
from modeltests.measure.compress import Scheme
from modeltests.context import CheckContext
from modeltests.errors import MissingResourceError, ModelTestsError, UnsupportedCapabilityError
from modeltests.extend.registry import CheckKind
from modeltests.result import CheckResult
from modeltests.data.tags import is_tagger
from modeltests.adapters.generation import is_generator

if TYPE_CHECKING:
    import torch

    from modeltests.adapters.base import ModelAdapter

Compressor = Callable[["torch.nn.Module"], "tuple[torch.nn.Module, dict[str, Any]]"]
"""Makes the compressed copy of a module, with facts about it for the details."""


class QuantizationParams(CompressionParams):
    """Quantize a copy of the model (``scheme``) or compare with a suite model (``compare_to``)."""

    kind: str = "quantization"
    scheme: Scheme | None = Field(default=None, description="How to quantize a copy of the model.")
    compare_to: str | None = Field(
        default=None, description="Name of an already-compressed model under 'models:'.")
    float_head: bool = Field(
        default=False, description="Leave the output head (the layer producing a language "
        "model's vocabulary logits, e.g. lm_head) in float under an int8 scheme, the recipe "
        "commonly used for language models; embeddings are never quantized by these schemes.")

    @model_validator(mode="after")
    def _one_candidate(self) -> QuantizationParams:
        if (self.scheme is None) == (self.compare_to is None):
            raise ValueError("set exactly one of 'scheme' (quantize a copy of the model) or "
                             "'compare_to' (a model under 'models:')")
        if self.float_head and self.scheme in (None, "bf16", "fp16"):
            raise ValueError("'float_head' applies to the int8 schemes (int8_dynamic, "
                             "int8_dynamic_per_channel, torchao_*), not to "
                             f"{self.scheme or 'compare_to'}")
        return self

    def recipe(self) -> str:
        """The scheme, with ``+float_head`` when the output head stays in float."""
        return f"{self.scheme}+float_head" if self.float_head else str(self.scheme)

    def label(self, index: int) -> str:
        return self.name or self.compare_to or self.recipe()


class PruningParams(CompressionParams):
    """L1 unstructured magnitude pruning of every ``nn.Linear`` and convolution weight of a copy
    of the model."""

    kind: str = "pruning"
    sparsity: float = Field(gt=0, lt=1, description="Fraction of the weights of every Linear and "
                            "convolution layer set to zero.")
    method: Literal["l1_unstructured"] = Field(default="l1_unstructured")
    # Off by default, unlike quantization: a pruned copy keeps fp32 arithmetic, so the batching
    # moves its probabilities only by rounding (4.8e-7 on the demo model, no prediction), as it
    # does the reference's; the three extra passes over the dataset measured nothing.
    shuffled_batching: bool = Field(
        default=False, description="Predict again under other batchings (see quantization); off "
        "by default: a pruned copy computes in fp32, which batching moves only by rounding.")

    def label(self, index: int) -> str:
        return self.name or f"l1-{self.sparsity:g}"


def run_quantization(context: CheckContext, params: QuantizationParams) -> CheckResult:
    """Quantize a copy (``scheme``) or take ``compare_to``; compare on ``dataset``."""
    if params.compare_to is not None and is_generator(context.model()):
        from modeltests.checks._generator_compression import compare_generators

        return compare_generators(context, params, context.generator(params.compare_to,
                                                                     "compare_to"),
                                  {"candidate": f"models.{params.compare_to}"})
    if params.compare_to is not None and is_tagger(context.model()):
        from modeltests.checks._tag_compression import compare_tags

        return compare_tags(context, params, context.model(params.compare_to),
                            {"candidate": f"models.{params.compare_to}"})
    if params.compare_to is not None:
        candidate = Candidate(context.model(params.compare_to), params.compare_to,
                              context.predictions(params.dataset, params.compare_to),
                              {"candidate": f"models.{params.compare_to}"})
        return compare(context, params, candidate)
    assert params.scheme is not None
    scheme = params.scheme
    result = _with_copy(context, params, params.recipe(),
                        lambda module: _quantize(context, module, scheme, params.float_head))
    if scheme not in ("bf16", "fp16") and result.skip_reason is None:
        _note_coverage(result, context.model(), scheme)
    return result


def _note_coverage(result: CheckResult, reference: ModelAdapter, scheme: str) -> None:
    """Which share of the parameters the int8 scheme reached: these schemes quantize Linear
    layers only, so a convolutional network keeps most of its arithmetic in float, and the
    result says so instead of letting ``int8`` suggest the whole model."""
    from modeltests.measure.compress import quantized_coverage

    counts = quantized_coverage(reference.torch_module())
    result.details["quantized_parameters"] = {
        **counts, "share": counts["linear"] / counts["total"] if counts["total"] else 0.0,
        "note": f"{scheme} quantizes nn.Linear layers only (weights to int8; activations per "
                "batch); convolutions stay float: quantizing them needs static quantization "
                "with calibration inputs, which this kind does not offer"}
    if counts["convolution"]:
        result.warnings.append(
            f"{scheme} quantized the Linear layers only ({counts['linear']:,} of "
            f"{counts['total']:,} parameters); the {counts['convolution']:,} convolution "
            "parameters stayed float (dynamic int8 covers Linear only), so these figures are "
            "those of a partly quantized model")


def run_pruning(context: CheckContext, params: PruningParams) -> CheckResult:
    """Prune a copy at ``sparsity``; compare on ``dataset``."""
    from modeltests.measure.compress import linear_sparsity, prune_l1_unstructured

    def prune(module: torch.nn.Module) -> tuple[torch.nn.Module, dict[str, Any]]:
        pruned = prune_l1_unstructured(module, params.sparsity)
        return pruned, {"sparsity_requested": params.sparsity,
                        "sparsity": linear_sparsity(pruned)}

    return _with_copy(context, params, f"prune_l1 {params.sparsity:g}", prune)


def prepare_compression(context: CheckContext, params: CompressionParams) -> None:
    """At the check's setup: thresholds that do not apply to a text generator (or need
    ``prompts``) are a located ERROR before anything is compressed."""
    if is_generator(context.model()):
        from modeltests.checks._generator_compression import refuse_inapplicable

        refuse_inapplicable(context, params)


def _quantize(context: CheckContext, module: torch.nn.Module, scheme: Scheme,
              float_head: bool = False) -> tuple[torch.nn.Module, dict[str, Any]]:
    from modeltests.measure.compress import compress, module_device, output_head_name

    device = module_device(module)
    if scheme == "int8_dynamic" and not device.startswith("cpu"):
        raise context.error("scheme", f"int8_dynamic runs on the CPU only and the model is on "
                                      f"{device}; use bf16, fp16 or a torchao scheme, or set "
                                      f"model.device: cpu")
    try:
        facts = {"float_head": output_head_name(module)} if float_head else {}
        return compress(module, scheme, float_head), facts
    except ValueError as exc:
        raise context.error("float_head", str(exc)) from None
    except MissingResourceError as exc:
        raise MissingResourceError(f"{context.location('scheme')}: checks["
                                   f"{context.identity.index}].scheme: {exc}") from None


def _with_copy(context: CheckContext, params: CompressionParams, what: str,
               make: Compressor) -> CheckResult:
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
    # The copy is a deterministic function of the weights and this recipe: its predictions
    # may be reused across runs (keyed with the source model's fingerprint); timings never are.
    recipe = {"compression": what, **{k: v for k, v in facts.items() if k != "sparsity"}}
    adapter = reference.with_module(compressed)
    per_unit = _per_unit_comparison(reference, adapter)
    if per_unit is not None:  # generators (per token) and taggers (per word)
        try:
            result = per_unit(context, params, {"candidate": what, **facts})
            result.details["weights_reached"] = _weights_reached(compressed)
            return result
        finally:
            del adapter, compressed, per_unit
            gc.collect()
    try:
        dataset = context.dataset(params.dataset)
        try:
            predictions = context.run_derived(adapter, dataset.texts, recipe)
        except ModelTestsError as exc:
            raise type(exc)(f"{context.location()}: {exc}") from None
        candidate = Candidate(adapter, what, predictions, {"candidate": what, **facts}, recipe)
        result = compare(context, params, candidate)
        if "sparsity" in facts:
            result.metrics["sparsity"] = facts["sparsity"]
        result.details["weights_reached"] = _weights_reached(compressed)
        return result
    finally:
        del adapter, compressed
        gc.collect()


def _per_unit_comparison(reference: ModelAdapter, adapter: ModelAdapter
                         ) -> Callable[[CheckContext, CompressionParams, dict[str, Any]],
                                       CheckResult] | None:
    """The comparison of a text generator (:mod:`modeltests.checks._generator_compression`) or
    a token classifier (:mod:`modeltests.checks._tag_compression`) with its compressed copy
    ``adapter``; None for a classifier of texts."""
    if is_generator(reference) and is_generator(adapter):
        from modeltests.checks._generator_compression import compare_generators

        return lambda context, params, details: compare_generators(context, params, adapter,
                                                                   details)
    if is_tagger(reference):
        from modeltests.checks._tag_compression import compare_tags

        return lambda context, params, details: compare_tags(context, params, adapter, details)
    return None


def _weights_reached(module: torch.nn.Module) -> dict[str, Any]:
    """Exact zeros (overall and per layer type) and in-memory bytes of the compressed copy's
    parameters and buffers (see :mod:`modeltests.measure.footprint`)."""
    from modeltests.measure.footprint import weight_facts

    facts = weight_facts(module)
    return {"parameters": facts.parameters, "zeros": facts.zeros, "sparsity": facts.sparsity,
            "bytes_in_memory": facts.weight_bytes,
            "sparsity_by_layer_type": {k: v.sparsity for k, v in facts.by_type.items()},
            "note": "parameters and buffers; a dynamically quantized layer's packed int8 weights "
                    "are neither (size_compressed_mb is the serialized size)"}


CHECK_KINDS = [
    CheckKind("quantization", QuantizationParams, run_quantization,
              "accuracy drop, agreement, KL, size and speed-up of a quantized model (text "
              "generators: per-token KL, next-token agreement, perplexity ratio)", task="any",
              prepare=prepare_compression, inputs="any"),
    CheckKind("pruning", PruningParams, run_pruning,
              "accuracy drop, agreement and KL of an L1-pruned copy of the model", task="any",
              prepare=prepare_compression, inputs="any"),
]
