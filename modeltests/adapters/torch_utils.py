"""Helpers shared by the torch-based adapters and the checks that need torch (imports torch
lazily)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from modeltests.errors import ModelLoadError, UnsupportedCapabilityError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import torch

    from modeltests.adapters.base import ModelAdapter, Predictions
    from modeltests.data.inputs import ModelInput

CUDA_MISSING = "CUDA is not available on this machine (torch.cuda.is_available() is False)"


def resolve_device(requested: str) -> tuple[str, str | None]:
    """``(device, problem)`` for ``cpu`` / ``cuda`` / ``auto``: ``auto`` picks CUDA when present;
    ``problem`` says why the device cannot be used (None when it can)."""
    import torch

    available = torch.cuda.is_available()
    if requested == "auto":
        return ("cuda" if available else "cpu"), None
    if requested == "cuda" and not available:
        return "cuda", CUDA_MISSING
    return requested, None


def pick_device(requested: str, location: str = "") -> str:
    """``cpu`` / ``cuda`` / ``auto`` -> a torch device string; a missing GPU is a clear error."""
    device, problem = resolve_device(requested)
    if problem:
        where = f"{location}: " if location else ""
        raise ModelLoadError(f"{where}model.device: 'cuda' is not available on this machine "
                             "(torch.cuda.is_available() is False); allowed here: cpu, auto")
    return device


def probabilities_from_logits(logits: torch.Tensor) -> npt.NDArray[np.float64]:
    """Softmax in float64 on the CPU, as a numpy array."""
    import torch

    probabilities: npt.NDArray[np.float64] = (
        torch.softmax(logits.detach().to(torch.float64), dim=-1).cpu().numpy())
    return probabilities


def classified_in_batches(adapter: ModelAdapter, texts: Sequence[ModelInput], batch_size: int,
                          labels: Sequence[str],
                          rows: Callable[[Any], Any] = probabilities_from_logits
                          ) -> Predictions:
    """``adapter.forward(adapter.encode(batch))`` over ``texts`` in batches of ``batch_size``,
    each output made probability rows by ``rows`` (a softmax of logits by default) and counted
    with ``batch_done``: the prediction loop of the torch adapters."""
    import numpy as np

    from modeltests.adapters.base import Predictions

    found = []
    for start in range(0, len(texts), batch_size):
        found.append(rows(adapter.forward(adapter.encode(texts[start:start + batch_size]))))
        adapter.batch_done(len(found[-1]))
    matrix = np.concatenate(found) if found else np.zeros((0, len(labels)))
    return Predictions.from_probabilities(matrix, labels)


def module_facts(module: torch.nn.Module) -> dict[str, Any]:
    """Parameter count and bytes, and dtype, of a torch module."""
    from modeltests.measure.compress import parameter_bytes

    params = list(module.parameters())
    return {
        "parameters": int(sum(p.numel() for p in params)),
        "parameter_bytes": parameter_bytes(module),
        "dtype": str(params[0].dtype).replace("torch.", "") if params else None,
    }


def torch_module_or_none(adapter: ModelAdapter) -> torch.nn.Module | None:
    """The adapter's torch module, or None when it exposes none (a callable, a remote model)."""
    try:
        return adapter.torch_module()
    except UnsupportedCapabilityError:
        return None


def size_on_disk(directory: Path) -> int:
    """Total bytes of the files under ``directory``."""
    total = 0
    for root, _dirs, files in os.walk(directory):
        total += sum((Path(root) / name).stat().st_size for name in files)
    return total


def loaded_model_facts(model: torch.nn.Module, source: Path | str, device: str
                       ) -> dict[str, Any]:
    """Report facts of a model loaded from ``source`` (a directory or a hub id): where from,
    its device and architecture, :func:`module_facts`, and its size on disk for a directory."""
    facts: dict[str, Any] = {"source": str(source), "device": device,
                             "architecture": type(model).__name__, **module_facts(model)}
    if isinstance(source, Path):
        facts["size_on_disk_bytes"] = size_on_disk(source)
    return facts
