"""The one place where modeltests compresses a torch module (quantization, casts, pruning) and
measures its weights (parameter bytes in memory, serialized size).

Every function works on a ``copy.deepcopy`` of the module it is given and returns the copy, so
the session's reference model is never modified. The calls that will move (``torch.ao``'s
dynamic quantization is deprecated in favour of torchao) live here and nowhere else.

torch (and torchao) are imported inside the functions: importing this module is free.
"""

from __future__ import annotations

import copy
import importlib
import io
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Literal

from modeltests.errors import MissingResourceError

if TYPE_CHECKING:
    import torch

Scheme = Literal["int8_dynamic", "int8_dynamic_per_channel", "bf16", "fp16",
                 "torchao_int8_weight_only", "torchao_int8_dynamic"]
TORCHAO_HINT = "pip install modeltests[torchao]"


def compress(module: torch.nn.Module, scheme: Scheme, float_head: bool = False
             ) -> torch.nn.Module:
    """A compressed copy of ``module`` under ``scheme`` (the original is left untouched).

    ``float_head`` leaves the output head (the layer that produces a language model's
    vocabulary logits, :func:`output_head_name`) in float under the int8 schemes, the recipe
    most people use for language models. Embeddings (``nn.Embedding``) are never quantized by
    these schemes. A casting scheme (bf16, fp16) casts everything.
    """
    import torch

    skip = (output_head_name(module),) if float_head else ()
    if scheme == "int8_dynamic":
        return quantize_dynamic_int8(module, skip=skip)
    if scheme == "int8_dynamic_per_channel":
        return quantize_dynamic_int8(module, per_channel=True, skip=skip)
    if float_head:
        if scheme in ("bf16", "fp16"):
            raise ValueError(f"float_head applies to the int8 schemes, not to {scheme}")
    if scheme == "bf16":
        return to_dtype(module, torch.bfloat16)
    if scheme == "fp16":
        return to_dtype(module, torch.float16)
    if scheme == "torchao_int8_weight_only":
        return torchao_quantize(module, "int8_weight_only", skip=skip)
    if scheme == "torchao_int8_dynamic":
        return torchao_quantize(module, "int8_dynamic", skip=skip)
    raise ValueError(f"unknown compression scheme {scheme!r}")


def output_head_name(module: torch.nn.Module) -> str:
    """The qualified name of ``module``'s output head: the layer a transformers model returns
    from ``get_output_embeddings()`` (``lm_head`` for GPT-2 and Llama). ValueError when the
    module has none."""
    getter = getattr(module, "get_output_embeddings", None)
    head = getter() if callable(getter) else None
    for name, layer in module.named_modules():
        if head is not None and layer is head:
            return str(name)
    raise ValueError(f"{type(module).__name__} has no output head (get_output_embeddings() "
                     "names none) to leave in float")


def linear_layers(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` (in place) with every transformers ``Conv1D`` (GPT-2's attention and MLP
    projections: a Linear with its weight transposed) replaced by the equivalent
    ``nn.Linear``, so that "every Linear" means every projection whatever the architecture."""
    import torch

    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError:  # no transformers: no Conv1D to find
        return module
    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                linear = torch.nn.Linear(child.weight.shape[0], child.nf, device=child.weight.device,
                                         dtype=child.weight.dtype)
                with torch.no_grad():
                    linear.weight.copy_(child.weight.t())
                    linear.bias.copy_(child.bias)
                setattr(parent, child_name, linear)
    return module


@contextmanager
def _quiet_deprecations() -> Iterator[None]:
    """torch.ao.quantization warns that it moves to torchao; the user cannot act on that here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*quantiz.*deprecated", category=UserWarning)
        yield


def quantize_dynamic_int8(module: torch.nn.Module, per_channel: bool = False,
                          skip: tuple[str, ...] = ()) -> torch.nn.Module:
    """Dynamic int8 quantization of every ``nn.Linear`` (GPT-2's ``Conv1D`` included, see
    :func:`linear_layers`) but those named in ``skip``: int8 weights with one scale per tensor
    (or per output channel with ``per_channel``), activations quantized per batch.

    Runs on the CPU only (the quantized kernels are fbgemm / qnnpack).
    """
    import torch

    copied = linear_layers(copy.deepcopy(module))
    with _quiet_deprecations():
        from torch.ao.quantization import (default_dynamic_qconfig, per_channel_dynamic_qconfig,
                                           quantize_dynamic)

        qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
        layers = {name: qconfig for name, layer in copied.named_modules()
                  if isinstance(layer, torch.nn.Linear) and name not in skip}
        quantized: torch.nn.Module = quantize_dynamic(copied, layers, dtype=torch.qint8)
    return quantized


def to_dtype(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """A copy of ``module`` with floating-point weights cast to ``dtype`` (bf16, fp16)."""
    return copy.deepcopy(module).to(dtype)


def torchao_available() -> bool:
    """Whether torchao (the optional extra ``modeltests[torchao]``) can be imported."""
    try:
        importlib.import_module("torchao")
    except ImportError:
        return False
    return True


def torchao_quantize(module: torch.nn.Module, mode: Literal["int8_weight_only", "int8_dynamic"],
                     skip: tuple[str, ...] = ()) -> torch.nn.Module:
    """torchao int8 weight-only, or int8 dynamic-activation + int8 weight, on a copy: every
    ``nn.Linear`` (GPT-2's ``Conv1D`` included) but those named in ``skip``."""
    import torch

    try:  # imported by name: torchao is optional and may be absent where types are checked
        quantization = importlib.import_module("torchao.quantization")
    except ImportError as exc:
        raise MissingResourceError(
            f"scheme torchao_{mode} needs torchao, which is not installed ({exc}); "
            f"run: {TORCHAO_HINT}"
        ) from None
    config = quantization.Int8WeightOnlyConfig() if mode == "int8_weight_only" else \
        quantization.Int8DynamicActivationInt8WeightConfig()
    copied = linear_layers(copy.deepcopy(module))

    def chosen(layer: torch.nn.Module, name: str) -> bool:
        return isinstance(layer, torch.nn.Linear) and name not in skip

    with _quiet_deprecations():
        quantization.quantize_(copied, config, filter_fn=chosen)
    return copied


def prunable_layers(module: torch.nn.Module) -> list[torch.nn.Module]:
    """The layers :func:`prune_l1_unstructured` prunes: every ``nn.Linear`` and every
    convolution (``nn.Conv1d``, ``nn.Conv2d``, ``nn.Conv3d``), in module order."""
    import torch

    kinds: tuple[type[torch.nn.Module], ...] = (torch.nn.Linear, *_convolution_types())
    return [layer for layer in module.modules() if isinstance(layer, kinds)]


def _convolution_types() -> tuple[type[torch.nn.Module], ...]:
    """torch's convolution layers (``nn.Conv1d``, ``nn.Conv2d``, ``nn.Conv3d``)."""
    import torch

    return (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


def prune_l1_unstructured(module: torch.nn.Module, sparsity: float) -> torch.nn.Module:
    """A copy with the ``sparsity`` fraction of smallest-magnitude weights of every ``nn.Linear``
    (GPT-2's ``Conv1D`` included, see :func:`linear_layers`) and every convolution (an image
    model's ``Conv2d``) set to zero (``torch.nn.utils.prune.l1_unstructured``, per layer), made
    permanent with ``prune.remove`` so the copy is a plain module again. Biases stay."""
    from torch.nn.utils import prune

    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1) (got {sparsity!r})")
    copied = linear_layers(copy.deepcopy(module))
    for layer in prunable_layers(copied):
        prune.l1_unstructured(layer, "weight", sparsity)
        prune.remove(layer, "weight")
    return copied


def linear_sparsity(module: torch.nn.Module) -> float:
    """Fraction of exactly-zero weights over the weights :func:`prune_l1_unstructured` prunes
    (every ``nn.Linear`` and convolution) of ``module``."""
    import torch

    zeros = total = 0
    for layer in prunable_layers(module):
        weight = layer.weight
        assert isinstance(weight, torch.Tensor)
        zeros += int((weight == 0).sum())
        total += weight.numel()
    return zeros / total if total else 0.0


def quantized_coverage(module: torch.nn.Module) -> dict[str, int]:
    """Parameters of ``module`` (a float model, not copied) in the layers a Linear-only int8
    scheme quantizes (``linear``: ``nn.Linear`` and GPT-2's ``Conv1D``, weights and biases), in
    the convolutions it leaves in float (``convolution``: ``nn.Conv1d/2d/3d``; only a static
    scheme with calibration inputs would quantize them), and in all (``total``)."""
    import torch

    convolutions = _convolution_types()
    counts = {"linear": 0, "convolution": 0, "total": 0}
    for layer in module.modules():
        own = sum(p.numel() for p in layer.parameters(recurse=False))
        counts["total"] += own
        # transformers' Conv1D is a Linear to these schemes (see linear_layers)
        if isinstance(layer, torch.nn.Linear) or type(layer).__name__ == "Conv1D":
            counts["linear"] += own
        elif isinstance(layer, convolutions):
            counts["convolution"] += own
    return counts


def parameter_bytes(module: torch.nn.Module) -> int:
    """Bytes of the module's parameters in memory (``numel * element_size``; buffers and the
    packed weights of a dynamically quantized layer are not parameters)."""
    return int(sum(p.numel() * p.element_size() for p in module.parameters()))


def state_dict_bytes(module: torch.nn.Module) -> int:
    """Bytes of ``torch.save(module.state_dict())``: the serialized weights, as shipped."""
    import torch

    buffer = io.BytesIO()
    with _quiet_deprecations():
        torch.save(module.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def module_device(module: torch.nn.Module) -> str:
    """The device of the module's first parameter (``cpu`` when it has none)."""
    first = next(iter(module.parameters()), None)
    return "cpu" if first is None else str(first.device)
