"""Helpers shared by the torch-based adapters (imports torch lazily)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modeltests.errors import ModelLoadError


def pick_device(requested: str, location: str = "") -> str:
    """``cpu`` / ``cuda`` / ``auto`` -> a torch device string; a missing GPU is a clear error."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        where = f"{location}: " if location else ""
        raise ModelLoadError(f"{where}model.device: 'cuda' is not available on this machine "
                             "(torch.cuda.is_available() is False); allowed here: cpu, auto")
    return requested


def probabilities_from_logits(logits: Any) -> Any:
    """Softmax in float64 on the CPU, as a numpy array."""
    import torch

    return torch.softmax(logits.detach().to(torch.float64), dim=-1).cpu().numpy()


def module_facts(module: Any) -> dict[str, Any]:
    """Parameter count and bytes, and dtype, of a torch module."""
    params = list(module.parameters())
    return {
        "parameters": int(sum(p.numel() for p in params)),
        "parameter_bytes": int(sum(p.numel() * p.element_size() for p in params)),
        "dtype": str(params[0].dtype).replace("torch.", "") if params else None,
    }


def size_on_disk(directory: Path) -> int:
    """Total bytes of the files under ``directory``."""
    total = 0
    for root, _dirs, files in os.walk(directory):
        total += sum((Path(root) / name).stat().st_size for name in files)
    return total
