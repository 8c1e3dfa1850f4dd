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

Scheme = Literal["int8_dynamic", "bf16", "fp16", "torchao_int8_weight_only",
                 "torchao_int8_dynamic"]
TORCHAO_HINT = "pip install modeltests[torchao]"


def compress(module: torch.nn.Module, scheme: Scheme) -> torch.nn.Module:
    """A compressed copy of ``module`` under ``scheme`` (the original is left untouched)."""
    import torch

    if scheme == "int8_dynamic":
        return quantize_dynamic_int8(module)
    if scheme == "bf16":
        return to_dtype(module, torch.bfloat16)
    if scheme == "fp16":
        return to_dtype(module, torch.float16)
    if scheme == "torchao_int8_weight_only":
        return torchao_quantize(module, "int8_weight_only")
    if scheme == "torchao_int8_dynamic":
        return torchao_quantize(module, "int8_dynamic")
    raise ValueError(f"unknown compression scheme {scheme!r}")


@contextmanager
def _quiet_deprecations() -> Iterator[None]:
    """torch.ao.quantization warns that it moves to torchao; the user cannot act on that here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*quantiz.*deprecated", category=UserWarning)
        yield


def quantize_dynamic_int8(module: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantization of every ``nn.Linear`` (weights int8, activations per batch).

    Runs on the CPU only (the quantized kernels are fbgemm / qnnpack).
    """
    import torch

    with _quiet_deprecations():
        from torch.ao.quantization import quantize_dynamic

        quantized: torch.nn.Module = quantize_dynamic(
            copy.deepcopy(module), {torch.nn.Linear}, dtype=torch.qint8
        )
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


def torchao_quantize(module: torch.nn.Module,
                     mode: Literal["int8_weight_only", "int8_dynamic"]) -> torch.nn.Module:
    """torchao int8 weight-only, or int8 dynamic-activation + int8 weight, on a copy."""
    try:  # imported by name: torchao is optional and may be absent where types are checked
        quantization = importlib.import_module("torchao.quantization")
    except ImportError as exc:
        raise MissingResourceError(
            f"scheme torchao_{mode} needs torchao, which is not installed ({exc}); "
            f"run: {TORCHAO_HINT}"
        ) from None
    config = quantization.Int8WeightOnlyConfig() if mode == "int8_weight_only" else \
        quantization.Int8DynamicActivationInt8WeightConfig()
    copied = copy.deepcopy(module)
    with _quiet_deprecations():
        quantization.quantize_(copied, config)
    return copied


def prune_l1_unstructured(module: torch.nn.Module, sparsity: float) -> torch.nn.Module:
    """A copy with the ``sparsity`` fraction of smallest-magnitude weights of every ``nn.Linear``
    set to zero (``torch.nn.utils.prune.l1_unstructured``, per layer), made permanent with
    ``prune.remove`` so the copy is a plain module again."""
    import torch
    from torch.nn.utils import prune

    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1) (got {sparsity!r})")
    copied = copy.deepcopy(module)
    for layer in copied.modules():
        if isinstance(layer, torch.nn.Linear):
            # torch leaves these two untyped
            prune.l1_unstructured(layer, "weight", sparsity)
            prune.remove(layer, "weight")
    return copied


def linear_sparsity(module: torch.nn.Module) -> float:
    """Fraction of exactly-zero weights over all ``nn.Linear`` weights of ``module``."""
    import torch

    zeros = total = 0
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            zeros += int((layer.weight == 0).sum())
            total += layer.weight.numel()
    return zeros / total if total else 0.0


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
